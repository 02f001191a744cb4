//! `gauntlet report render|compare|merge`: work on report files after the fact, e.g. in a CI
//! job that downloads the artifacts of several runs.

use std::path::Path;

use anyhow::Context;
use gauntlet_reports::{Report, compare::Allowances, merge::merge_judging_scenarios, render};

use crate::{
    cli::{ReportCommand, ReportFormat},
    exit::{Exit, Failure},
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
            markdown,
        } => {
            let allowances = match max_regression {
                Some(text) => text
                    .parse::<Allowances>()
                    .map_err(|e| Failure::bad_input(anyhow::anyhow!("--max-regression: {e}")))?,
                None => Allowances::default(),
            };
            let (base, new) = (read(&base)?, read(&new)?);
            let comparison = gauntlet_reports::compare::compare(&base, &new, &allowances)
                .context("comparing the histograms")
                .map_err(Failure::bad_input)?;
            print!("{}", comparison.to_text());
            if let Some(path) = markdown {
                emit(&comparison.to_markdown(), Some(&path))?;
            }
            Ok(if comparison.regressions() > 0 {
                Exit::VerdictFail
            } else {
                Exit::Success
            })
        }
        ReportCommand::Merge { reports, output } => {
            let inputs = reports
                .iter()
                .map(|p| read(p))
                .collect::<Result<Vec<_>, _>>()?;
            let merged = merge_judging_scenarios(&inputs)
                .context("merging")
                .map_err(Failure::bad_input)?;
            let json = render::json(&merged)
                .context("serialising the merged report")
                .map_err(Failure::infrastructure)?;
            emit(&json, Some(&output))?;
            eprintln!("merged {} reports into {}", inputs.len(), output.display());
            Ok(Exit::Success)
        }
    }
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

fn emit(text: &str, output: Option<&Path>) -> Result<(), Failure> {
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
