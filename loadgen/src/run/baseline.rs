//! `--baseline`: what a run is compared with, read and checked before anything starts.

use gauntlet_reports::Report;

/// An earlier report (or a multi-run baseline set) to compare with, read and checked before
/// the run.
#[derive(Debug)]
pub struct Baseline {
    /// The file as given, for the report and the reasons.
    pub file: String,
    /// Its contents.
    pub base: BaseFile,
    /// How much worse each metric may get.
    pub allowances: gauntlet_reports::compare::Allowances,
    /// Beyond these a machine was too busy elsewhere to compare (`--environment-bounds`).
    pub bounds: gauntlet_reports::compare::EnvironmentBounds,
}

/// What a baseline file holds.
#[derive(Debug)]
pub enum BaseFile {
    /// One run's report.json.
    Run(Box<Report>),
    /// A multi-run baseline set (`gauntlet baseline record|merge`).
    Set(gauntlet_reports::baseline_set::BaselineSet),
}

impl BaseFile {
    /// As compare takes it.
    pub fn as_base(&self) -> gauntlet_reports::compare::Base<'_> {
        match self {
            BaseFile::Run(r) => gauntlet_reports::compare::Base::Run(r),
            BaseFile::Set(s) => gauntlet_reports::compare::Base::Set(s),
        }
    }
}
