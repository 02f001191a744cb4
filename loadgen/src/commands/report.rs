//! `gauntlet report render|compare|merge`: work on report files after the fact, e.g. in a CI
//! job that downloads the artifacts of several runs.

use std::path::Path;

use anyhow::Context;
use gauntlet_reports::baseline_set::BaselineSet;
use gauntlet_reports::compare::{self, Allowances, CompareOutcome, EnvironmentBounds};
use gauntlet_reports::{Report, merge::merge_judging_scenarios, render};

use crate::{
    cli::{ReportCommand, ReportFormat},
    exit::{Exit, Failure},
    run::BaseFile,
};

pub fn run(command: ReportCommand) -> Result<Exit, Failure> {
    match command {
        ReportCommand::Render {
            report,
            format,
            output,
        } => {
            let report = read(&report)?;
            let text = render_as(&report, format)?;
            emit(&text, output.as_deref())?;
            Ok(Exit::Success)
        }
        ReportCommand::Compare {
            base,
            new,
            max_regression,
            environment_bounds,
            markdown,
        } => {
            let allowances = allowances(max_regression.as_deref())?;
            let bounds = bounds(environment_bounds.as_deref())?;
            let (base, new) = (read_base(&base)?, read(&new)?);
            let comparison = compare::compare_with(base.as_base(), &new, &allowances, &bounds)
                .context("comparing the histograms")
                .map_err(Failure::bad_input)?;
            print!("{}", comparison.to_text());
            if let Some(path) = markdown {
                emit(&comparison.to_markdown(), Some(&path))?;
            }
            Ok(outcome_exit(comparison.outcome()))
        }
        ReportCommand::Merge {
            reports,
            output,
            wait,
        } => {
            if let Some(within) = wait {
                wait_for(&reports, within)?;
            }
            let (inputs, merged) = merge(&reports)?;
            let json = render::json(&merged)
                .context("serialising the merged report")
                .map_err(Failure::infrastructure)?;
            emit(&json, Some(&output))?;
            // The verdict on this line is what `distribute --engine kubernetes --apply` reads
            // from the merge Job's log.
            eprintln!(
                "merged {} reports into {}: verdict {}",
                inputs.len(),
                output.display(),
                merged.verdict.as_str()
            );
            Ok(Exit::Success)
        }
    }
}

/// The reports in `paths` merged (the inputs too): what `gauntlet report merge` writes and
/// `gauntlet distribute` judges. Inputs that are not reports, or parts that do not make one
/// whole, are bad input.
pub(crate) fn merge(paths: &[std::path::PathBuf]) -> Result<(Vec<Report>, Report), Failure> {
    let inputs = paths
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge_judging_scenarios(&inputs)
        .context("merging")
        .map_err(Failure::bad_input)?;
    Ok((inputs, merged))
}

/// Waits until every file in `paths` reads as a report (a part still writing one does not),
/// polling each second for at most `within`; names those still missing then (exit 2: the
/// set is not the whole run).
fn wait_for(paths: &[std::path::PathBuf], within: std::time::Duration) -> Result<(), Failure> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let missing: Vec<String> = paths
            .iter()
            .filter(|p| read(p).is_err())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(Failure::bad_input(anyhow::anyhow!(
                "after waiting {within:?}, no complete report at {}: a part failed or never ran",
                missing.join(", ")
            )));
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// pass 0 · regressed 1 · not comparable 4 (the exit code of an invalid run: the numbers
/// cannot support a verdict).
pub(crate) fn outcome_exit(outcome: CompareOutcome) -> Exit {
    match outcome {
        CompareOutcome::Pass => Exit::Success,
        CompareOutcome::Regressed => Exit::VerdictFail,
        CompareOutcome::NotComparable => Exit::Invalid,
    }
}

/// `--max-regression`, or the default allowances.
pub(crate) fn allowances(text: Option<&str>) -> Result<Allowances, Failure> {
    match text {
        Some(text) => text
            .parse::<Allowances>()
            .map_err(|e| Failure::bad_input(anyhow::anyhow!("--max-regression: {e}"))),
        None => Ok(Allowances::default()),
    }
}

/// `--environment-bounds`, or the default bounds.
pub(crate) fn bounds(text: Option<&str>) -> Result<EnvironmentBounds, Failure> {
    match text {
        Some(text) => text
            .parse::<EnvironmentBounds>()
            .map_err(|e| Failure::bad_input(anyhow::anyhow!("--environment-bounds: {e}"))),
        None => Ok(EnvironmentBounds::default()),
    }
}

/// A baseline file: a report.json, or a set written by `gauntlet baseline`.
pub(crate) fn read_base(path: &Path) -> Result<BaseFile, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::bad_input)?;
    let value: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    if value.as_ref().is_some_and(BaselineSet::is_set) {
        let set = serde_json::from_value(value.unwrap_or_default())
            .with_context(|| format!("{} is not a readable baseline set", path.display()))
            .map_err(Failure::bad_input)?;
        return Ok(BaseFile::Set(set));
    }
    read(path).map(|r| BaseFile::Run(Box::new(r)))
}

/// A report file that cannot be read or parsed is bad input (exit 2), naming the file.
pub(crate) fn read(path: &Path) -> Result<Report, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::bad_input)?;
    render::from_json(&text)
        .with_context(|| format!("{} is not a Gauntlet report", path.display()))
        .map_err(Failure::bad_input)
}

fn render_as(report: &Report, format: ReportFormat) -> Result<String, Failure> {
    Ok(match format {
        ReportFormat::Md => render::markdown::render(report),
        ReportFormat::Html => render::html::render(report),
        ReportFormat::Junit => render::junit::render(report)
            .context("rendering JUnit")
            .map_err(Failure::infrastructure)?,
        ReportFormat::Json => render::json(report)
            .context("rendering JSON")
            .map_err(Failure::infrastructure)?,
    })
}

pub(crate) fn emit(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::infrastructure),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
