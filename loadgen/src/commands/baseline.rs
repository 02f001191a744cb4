//! `gauntlet baseline record|merge`: a multi-run baseline set, the input that lets compare
//! tell a change from the variation between runs (`gauntlet_reports::baseline_set`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use gauntlet_reports::Report;
use gauntlet_reports::baseline_set::BaselineSet;

use crate::cli::BaselineCommand;
use crate::exit::{Exit, Failure};

pub async fn run(command: BaselineCommand) -> Result<Exit, Failure> {
    match command {
        BaselineCommand::Merge { reports, output } => {
            let inputs = reports
                .iter()
                .map(|p| super::report::read(p))
                .collect::<Result<Vec<_>, _>>()?;
            write_set(&inputs, &output)
        }
        BaselineCommand::Record {
            runs,
            output,
            run: args,
        } => {
            if args.baseline.is_some() {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "--baseline compares a run with a baseline; `baseline record` makes one"
                )));
            }
            let parent = args.out.clone().unwrap_or_else(|| {
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
                PathBuf::from("target/gauntlet").join(format!("baseline-{stamp}"))
            });
            let mut reports = Vec::with_capacity(runs as usize);
            for i in 1..=runs {
                let dir = parent.join(format!("run-{i}"));
                eprintln!("baseline run {i} of {runs} → {}", dir.display());
                let config = super::run::config(&args, Some(dir.clone()))?;
                let exit = crate::run::execute(config).await?;
                // A failed threshold is still a measurement; a run whose numbers cannot be
                // trusted (invalid, interrupted) is not one to learn the spread from.
                if !matches!(exit, Exit::Success | Exit::VerdictFail) {
                    eprintln!(
                        "baseline run {i} ended with exit {}; no set written",
                        exit as u8
                    );
                    return Ok(exit);
                }
                reports.push(super::report::read(&dir.join("report.json"))?);
            }
            write_set(&reports, &output)
        }
    }
}

fn write_set(reports: &[Report], output: &Path) -> Result<Exit, Failure> {
    let set = BaselineSet::from_reports(reports).map_err(Failure::bad_input)?;
    let json = serde_json::to_string_pretty(&set)
        .context("serialising the baseline set")
        .map_err(Failure::infrastructure)?;
    super::report::emit(&(json + "\n"), Some(output))?;
    for (i, run) in set.runs.iter().enumerate() {
        if let Some(s) = run.environment.summary {
            eprintln!(
                "run {}: {}% of one core used elsewhere on average, steal {}%",
                i + 1,
                gauntlet_reports::format::fixed(s.elsewhere_cpu_percent_mean, 0),
                gauntlet_reports::format::fixed(s.steal_percent_mean, 1)
            );
        }
    }
    if let Some(p95) = set.spread("all", gauntlet_reports::compare::CompareMetric::P95) {
        eprintln!(
            "{} runs → {}: all p95 {} ± {} (sd)",
            set.runs.len(),
            output.display(),
            gauntlet_reports::format::duration_us(p95.mean.round() as u64),
            gauntlet_reports::format::duration_us(p95.sd.round() as u64)
        );
    }
    Ok(Exit::Success)
}
