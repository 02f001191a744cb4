//! `gauntlet report …`'s flags.

use std::path::PathBuf;

use clap::Subcommand;

/// `gauntlet report …`: everything here reads report files only; nothing is run.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Render a report.json again, to stdout or a file.
    Render {
        /// The report.json to read.
        report: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Per-endpoint deltas of NEW against BASE; exit 1 on a regression beyond the allowance
    /// that is also outside run-to-run noise, 4 when a machine was busy elsewhere.
    Compare {
        /// The baseline: a report.json, or a multi-run set from `gauntlet baseline`.
        base: PathBuf,
        /// The report.json to judge.
        new: PathBuf,
        /// Allowances, e.g. `p95=10%,error_rate=0.5pp` [default: p95=10%,p99=10%,error_rate=0.5pp,rps=10%].
        #[arg(long, value_name = "LIST")]
        max_regression: Option<String>,
        /// Not comparable beyond these, e.g. `elsewhere=25%,steal=5%`, or `off` [default: elsewhere=25%,steal=5%].
        #[arg(long, value_name = "LIST")]
        environment_bounds: Option<String>,
        /// Also write the comparison as Markdown to this file.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
    },
    /// Merge reports of the same scenario from several generator processes, exactly.
    Merge {
        /// The report.json files to merge.
        #[arg(required = true, num_args = 2..)]
        reports: Vec<PathBuf>,
        /// Where to write the merged report.json.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Wait up to this long for every input to exist as a complete report (parts still
        /// running elsewhere, e.g. a Kubernetes Job's); one still missing then is an error.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        wait: Option<std::time::Duration>,
    },
}

/// Formats `gauntlet report render` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown (report.md).
    Md,
    /// Self-contained HTML (report.html).
    Html,
    /// JUnit XML (junit.xml).
    Junit,
    /// Pretty JSON (report.json).
    Json,
}
