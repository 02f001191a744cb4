//! `gauntlet __swarm-part run …`: one part of a swarm-distributed run, inside its task.
//!
//! Swarm templates only environment values, never arguments, so the part's own flags come
//! from the environment: its slot (`{{.Task.Slot}}`), the number of parts, the run's
//! directory. And swarm retries a job's task whenever it exits non-zero, whatever its restart
//! policy says (seen on Docker 20.10: a failed task is replaced at once, again and again),
//! while a retried part would begin after the others' start instant and load the service a
//! second time. So a part never exits non-zero on its own: it records `run`'s exit code in
//! `part-I/exit-code` (the engine reads it there) and exits 0; and a task that finds the
//! part already attempted (one killed by a signal or the kernel, then replaced) does not run
//! it again, so that part ends without an exit code and the run fails naming it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::distribute::Distribution;
use crate::distribute::swarm::part;
use crate::exit::{Exit, Failure};

pub async fn run(args: Vec<OsString>) -> Result<Exit, Failure> {
    let env = |name: &str| std::env::var(name).map_err(|_| anyhow!("{name} is not set"));
    let settings = (|| -> anyhow::Result<(u32, u32, PathBuf, bool)> {
        let slot = part::index_of_slot(&env(part::SLOT_ENV)?);
        let count = env(part::COUNT_ENV)?.parse().context(part::COUNT_ENV)?;
        let dir = PathBuf::from(env(part::DIR_ENV)?);
        Ok((slot, count, dir, !env(part::RAW_ENV)?.is_empty()))
    })()
    .map_err(Failure::bad_input)?;
    let (index, count, out, raw_samples) = settings;
    let dir = Distribution::part_dir(&out, index);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating {}", dir.display()))
        .map_err(Failure::infrastructure)?;
    let attempt = dir.join(part::ATTEMPT_FILE);
    if attempt.exists() {
        eprintln!(
            "gauntlet: part {index}/{count} was already attempted here and its task replaced; \
             it does not run again (it would begin late and load the service twice)"
        );
        return Ok(Exit::Success);
    }
    std::fs::write(&attempt, b"")
        .with_context(|| format!("writing {}", attempt.display()))
        .map_err(Failure::infrastructure)?;
    let code = run_part(args, index, count, &dir, raw_samples).await;
    record(&dir, code)?;
    Ok(Exit::Success)
}

/// `gauntlet run` as part `index` of `count`, in this process; its exit code.
async fn run_part(
    args: Vec<OsString>,
    index: u32,
    count: u32,
    dir: &Path,
    raw_samples: bool,
) -> Exit {
    let mut argv: Vec<OsString> = vec!["gauntlet".into()];
    argv.extend(args);
    argv.extend([
        "--shard".into(),
        format!("{index}/{count}").into(),
        "--out".into(),
        dir.into(),
    ]);
    if raw_samples {
        argv.extend(["--raw-samples".into(), dir.join("samples.csv").into()]);
    }
    // `run`'s future is boxed: inside this one it is too large for the main thread's stack.
    let outcome = match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Run(args),
            ..
        }) => Box::pin(super::run::run(*args)).await,
        Ok(_) => Err(Failure::bad_input(anyhow!(
            "__swarm-part runs `run` and nothing else"
        ))),
        Err(e) => Err(Failure::bad_input(anyhow!("{e}"))),
    };
    crate::exit::report(outcome)
}

fn record(dir: &Path, code: Exit) -> Result<(), Failure> {
    let file = dir.join(part::EXIT_CODE_FILE);
    std::fs::write(&file, format!("{}\n", code as u8))
        .with_context(|| format!("writing {}", file.display()))
        .map_err(Failure::infrastructure)
}
