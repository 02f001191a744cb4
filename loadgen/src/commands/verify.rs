//! `gauntlet verify`: the pre-launch checklist against the local stack (provisioned, seeded,
//! the service as a child process so that SIGTERM reaches it as it would in production) or a
//! `--target`; writes report.json, report.md, report.html and junit.xml; exit 1 on any failed
//! check, 2 on bad input, 3 when the target does not answer.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use gauntlet_reports::Verdict;
use gauntlet_reports::model::{Backend, Wiring};
use gauntlet_reports::render::verify as render;
use gauntlet_reports::verify::{VerifyMode, VerifyReport};

use crate::cli::VerifyArgs;
use crate::exit::{Exit, Failure};
use crate::logging::service_log::ServiceLog;
use crate::run::{local, output};
use crate::verify::{self, BackupPolicy, Check, Context, Header, Local};

pub async fn run(args: VerifyArgs) -> Result<Exit, Failure> {
    let defects = super::probe::defects_from(&args.defect).map_err(Failure::bad_input)?;
    let checks = selected(&args.check).map_err(Failure::bad_input)?;
    let backup = args.backup_dir.clone().map(|dir| BackupPolicy {
        dir,
        max_age: args.backup_max_age,
    });
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir("verify"));
    let mut header = Header {
        mode: VerifyMode::Target,
        backend: Some(Backend::External),
        defects: defects.enabled().into_iter().map(str::to_owned).collect(),
        command_line: std::env::args().collect(),
    };
    let report = match (&args.target, &args.credentials) {
        (Some(url), Some(path)) => {
            let fixture = super::probe::read_fixture(path).map_err(Failure::bad_input)?;
            let base = url.as_str().trim_end_matches('/');
            reachable(base).await?;
            let mut ctx =
                Context::new(base, fixture, None, backup).map_err(Failure::infrastructure)?;
            verify::verify(&mut ctx, &checks, header).await
        }
        _ => {
            let config = super::provision_config(&args.backend)?;
            // The service's own log goes to the output directory, not the terminal: the
            // checks provoke warnings on purpose (429s, a dependency paused).
            let log = ServiceLog::open(&dir, true)
                .with_context(|| format!("creating the service log in {}", dir.display()))
                .map_err(Failure::bad_input)?;
            let options = local::Options {
                seed: Some(super::probe::seed_spec(args.seed)),
                wiring: Wiring::Direct,
                placement: local::Placement::ChildProcess,
                defects,
                operator_token: None,
            };
            let mut service = local::start(local::Dependencies::Provision(&config), options)
                .await
                .map_err(Failure::infrastructure)?;
            header.mode = VerifyMode::Local;
            header.backend = Some(service.backend);
            let base = service.base_url.clone();
            let fixture = service.fixture.clone();
            let local = Local {
                service: &mut service,
                shared: None,
            };
            let report = match Context::new(&base, fixture, Some(local), backup) {
                Ok(mut ctx) => Ok(verify::verify(&mut ctx, &checks, header).await),
                Err(e) => Err(e),
            };
            service.stop().await;
            log.close();
            report.map_err(Failure::infrastructure)?
        }
    };
    let files = write(&dir, &report).map_err(Failure::infrastructure)?;
    print!("{}", render::console(&report, &files));
    Ok(if report.verdict == Verdict::Pass {
        Exit::Success
    } else {
        Exit::VerdictFail
    })
}

/// `--check` names into checks, in running order; all when none is named.
fn selected(names: &[String]) -> anyhow::Result<Vec<Check>> {
    if names.is_empty() {
        return Ok(Check::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Check::from_name(n).with_context(|| {
                let known: Vec<&str> = Check::ALL.iter().map(|c| c.name()).collect();
                format!("--check {n}: no such check; known: {}", known.join(", "))
            })
        })
        .collect()
}

/// The target answers HTTP at all (any status): else nothing can be verified (exit 3).
async fn reachable(base: &str) -> Result<(), Failure> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(Failure::infrastructure)?;
    client
        .get(format!("{base}/health/live"))
        .send()
        .await
        .map(|_| ())
        .with_context(|| format!("the target {base} does not answer"))
        .map_err(Failure::infrastructure)
}

fn write(dir: &Path, report: &VerifyReport) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = [
        ("report.json", render::json(report).context("report.json")?),
        ("report.md", render::markdown(report)),
        ("report.html", render::html(report)),
        ("junit.xml", render::junit(report).context("junit.xml")?),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
