//! `gauntlet probe`: the probe catalogue once, against the local service (started like
//! `gauntlet run` does, optionally with seeded defects) or a `--target`; writes report.json,
//! report.md, report.html and junit.xml; exit 1 when any probe leaked or failed.

use std::path::Path;

use anyhow::Context;
use gauntlet_reports::model::{Backend, RunInfo, Wiring};
use gauntlet_reports::{Report, Verdict, render};
use gauntlet_scenarios::hrms::Fixture;
use hrms::config::Argon2Settings;
use hrms::defects::Defects;
use hrms::seed::SeedSpec;

use crate::cli::ProbeArgs;
use crate::exit::{Exit, Failure};
use crate::run::{local, output, probe};

pub async fn run(args: ProbeArgs) -> Result<Exit, Failure> {
    let defects = defects_from(&args.defect).map_err(Failure::bad_input)?;
    let started = probe::started();
    let mut info = RunInfo {
        scenario: "probe".into(),
        seed: args.seed,
        command_line: std::env::args().collect(),
        ..RunInfo::default()
    };
    let results = match (&args.target, &args.credentials) {
        (Some(url), Some(path)) => {
            let fixture = read_fixture(path).map_err(Failure::bad_input)?;
            info.target = url.to_string();
            info.backend = Some(Backend::External);
            probe::run_catalogue(url.as_str(), fixture)
                .await
                .map_err(Failure::infrastructure)?
        }
        _ => {
            let config = super::provision_config(&args.backend)?;
            let options = local::Options {
                seed: Some(seed_spec(args.seed)),
                wiring: Wiring::Direct,
                placement: local::Placement::InProcess,
                defects,
                operator_token: None,
            };
            let service = local::start(local::Dependencies::Provision(&config), options)
                .await
                .map_err(Failure::infrastructure)?;
            info.target = service.base_url.clone();
            info.backend = Some(service.backend);
            let results = probe::run_catalogue(&service.base_url, service.fixture.clone()).await;
            service.stop().await;
            results.map_err(Failure::infrastructure)?
        }
    };
    let report = probe::report(info, results, started);
    let dir = args.out.unwrap_or_else(|| output::default_dir("probe"));
    let files = write(&dir, &report).map_err(Failure::infrastructure)?;
    println!(
        "probes: {} in {} kinds, {} leaks, {} failures — verdict {:?}",
        report.probes.results.len(),
        report
            .probes
            .results
            .iter()
            .map(|p| p.kind.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        report.probes.leaks(),
        report.probes.failures(),
        report.verdict
    );
    for reason in &report.reasons {
        println!("  {reason}");
    }
    for file in files {
        println!("  {file}");
    }
    Ok(if report.verdict == Verdict::Pass {
        Exit::Success
    } else {
        Exit::VerdictFail
    })
}

/// `--defect` names into switches; an unknown name is refused with the list of known ones.
pub fn defects_from(names: &[String]) -> anyhow::Result<Defects> {
    let object: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|n| (n.clone(), serde_json::Value::Bool(true)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| anyhow::anyhow!("--defect: {e}"))
}

/// Four tenants, one per tier, largest first: the noisy neighbour floods the last (free).
pub(super) fn seed_spec(seed: u64) -> SeedSpec {
    SeedSpec {
        tenants: 4,
        employees_per_tenant: 12,
        departments_per_tenant: 2,
        seed,
        tiers: crate::run::local::fixture::TIERS_LARGEST_FIRST.to_vec(),
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    }
}

pub(super) fn read_fixture(path: &Path) -> anyhow::Result<Fixture> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Fixture::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn write(dir: &Path, report: &Report) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = [
        ("report.json", render::json(report).context("report.json")?),
        ("report.md", render::markdown::render(report)),
        ("report.html", render::html::render(report)),
        (
            "junit.xml",
            render::junit::render(report).context("junit.xml")?,
        ),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
