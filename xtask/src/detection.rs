//! `cargo xtask detection`: how often a run catches a seeded defect, and how often it cries
//! wolf on the clean service — measured over repeated runs rather than claimed from one.
//!
//! Runs `gauntlet run <scenario>` `--runs` times against the clean service and `--runs` times
//! with `--defect` switched on (`HRMS__DEFECTS__<NAME>=true`, as the service reads it), each
//! with its own seed, and reads every report.json back: verdict, and the acknowledged-write
//! ledger (acked, lost). Prints one line per run and the two rates; exit 0 when the defect
//! was caught in at least 9 of 10 runs and no clean run lost a write or failed.
//!
//! Defaults are the durability experiment of issue 14: `durability` against
//! `ack_before_durable` (a clock-in answered before its commit is durable), about 35 s a run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub const USAGE: &str =
    "usage: cargo xtask detection [--runs N] [--scenario NAME] [--defect NAME] [--release]";

struct Options {
    runs: u64,
    scenario: String,
    defect: String,
    release: bool,
}

/// One run's outcome, from its report.json.
struct Outcome {
    exit: Option<i32>,
    verdict: String,
    acked: u64,
    lost: u64,
}

pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask detection: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(Built { binary, out }) = build_gauntlet(options.release, "detection") else {
        return ExitCode::from(1);
    };
    let env_name = format!("HRMS__DEFECTS__{}", options.defect.to_uppercase());
    let mut results = Vec::new();
    for defect in [false, true] {
        for seed in 1..=options.runs {
            let label = if defect {
                options.defect.as_str()
            } else {
                "clean"
            };
            let dir = out.join(format!("{}-{label}-{seed}", options.scenario));
            let mut run = Command::new(&binary);
            run.args([
                "run",
                &options.scenario,
                "--quiet",
                "--seed",
                &seed.to_string(),
            ])
            .arg("--out")
            .arg(&dir)
            .env_remove(&env_name);
            if defect {
                run.env(&env_name, "true");
            }
            let exit = run.output().ok().and_then(|o| o.status.code());
            let outcome = read(&dir, exit);
            println!(
                "{label:>20} seed {seed:>3}: exit {:>4}  verdict {:<8} acked {:>6}  lost {:>5}",
                outcome.exit.map_or("-".into(), |c| c.to_string()),
                outcome.verdict,
                outcome.acked,
                outcome.lost
            );
            results.push((defect, outcome));
        }
    }
    let (clean, defective): (Vec<_>, Vec<_>) = results.into_iter().partition(|(d, _)| !d);
    let caught = defective.iter().filter(|(_, o)| o.exit == Some(1)).count();
    let lost_writes = defective.iter().filter(|(_, o)| o.lost > 0).count();
    let clean_lost: u64 = clean.iter().map(|(_, o)| o.lost).sum();
    let clean_acked: u64 = clean.iter().map(|(_, o)| o.acked).sum();
    let clean_failed = clean.iter().filter(|(_, o)| o.exit != Some(0)).count();
    let n = options.runs as usize;
    println!(
        "\n{} with {}: caught (exit 1) in {caught}/{n} runs, acknowledged writes lost in {lost_writes}/{n}",
        options.scenario, options.defect
    );
    println!(
        "{} clean: {clean_lost} of {clean_acked} acknowledged writes lost over {n} runs; {clean_failed}/{n} runs did not pass",
        options.scenario
    );
    // At least 9 in 10, as a ratio for any --runs.
    let detected = caught * 10 >= n * 9;
    if detected && clean_lost == 0 && clean_failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The freshly built `gauntlet` binary, and a directory under the target dir for reports.
pub(crate) struct Built {
    pub binary: PathBuf,
    pub out: PathBuf,
}

/// Builds `gauntlet` (debug or release); `None`, said on stderr, when the build failed.
pub(crate) fn build_gauntlet(release: bool, task: &str) -> Option<Built> {
    let profile = if release { "release" } else { "debug" };
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", "gauntlet-loadgen"]);
    if release {
        build.arg("--release");
    }
    if !build.status().is_ok_and(|s| s.success()) {
        eprintln!("xtask {task}: building gauntlet failed");
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Some(Built {
        binary: target.join(profile).join("gauntlet"),
        out: target.join("gauntlet").join(task),
    })
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        runs: 10,
        scenario: "durability".into(),
        defect: "ack_before_durable".into(),
        release: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => {
                options.runs = value("--runs")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--runs must be a positive number")?;
            }
            "--scenario" => options.scenario = value("--scenario")?,
            "--defect" => options.defect = value("--defect")?,
            "--release" => options.release = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// The run's verdict and ledger, or what is known without a report.
fn read(dir: &Path, exit: Option<i32>) -> Outcome {
    let report: serde_json::Value = std::fs::read_to_string(dir.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Outcome {
        exit,
        verdict: report["verdict"].as_str().unwrap_or("no report").to_owned(),
        acked: report["ledger"]["acked"].as_u64().unwrap_or(0),
        lost: report["ledger"]["lost"].as_u64().unwrap_or(0),
    }
}
