//! Renderers. Each takes a finished [`Report`] and returns text; none reads clocks or
//! environment, so the same report always renders to the same bytes.
//!
//! Markdown and HTML show the same sections: `sections.rs` (with `baseline.rs`, `scenario.rs`,
//! `chaos.rs` and `charts.rs`) turns the report into a `document::Document` once, and
//! `markdown.rs` and `html.rs` each walk that model in one place. JUnit and the console
//! summary have shapes of their own (test cases, a terminal screen) and read the report
//! directly.

mod bars;
mod baseline;
mod chaos;
mod charts;
pub mod console;
mod diagnosis;
mod document;
mod drill;
pub mod html;
pub mod junit;
pub mod markdown;
mod parts;
mod scenario;
mod sections;
mod svg;
mod tenants;
pub mod verify;

use crate::model::{Report, SCHEMA_VERSION};

/// Errors reading a `report.json`.
#[derive(Debug, thiserror::Error)]
pub enum ReportParseError {
    /// Not valid JSON, or not shaped like a report.
    #[error("report.json is malformed")]
    Json(#[from] serde_json::Error),
    /// Written by an incompatible version of Gauntlet.
    #[error("report.json has schema_version {found}, this build reads {supported}")]
    UnsupportedVersion {
        /// Version found in the file.
        found: u64,
        /// Version this build understands.
        supported: u32,
    },
}

/// `report.json`: pretty-printed, with a trailing newline.
pub fn json(report: &Report) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// Read a `report.json`, refusing other schema versions with a clear error.
pub fn from_json(text: &str) -> Result<Report, ReportParseError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(ReportParseError::UnsupportedVersion {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(serde_json::from_value(value)?)
}

/// Upper-case verdict word used by the text renderers.
pub(crate) fn verdict_word(v: crate::model::Verdict) -> &'static str {
    match v {
        crate::model::Verdict::Pass => "PASS",
        crate::model::Verdict::Fail => "FAIL",
        crate::model::Verdict::Invalid => "INVALID",
        crate::model::Verdict::Aborted => "ABORTED",
    }
}
