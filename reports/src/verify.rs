//! `gauntlet verify`'s report: the pre-launch checklist, each check a name, an outcome and the
//! evidence behind it. Pure data; the loadgen runs the checks and fills it, `render::verify`
//! writes it out (JSON with a committed schema, Markdown and HTML from one document model,
//! JUnit, a console summary).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Backend, Verdict};

/// Version of the verify `report.json` layout. Bumped on any incompatible change.
pub const VERIFY_SCHEMA_VERSION: u32 = 1;

/// One `gauntlet verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// Layout version; see [`VERIFY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `pass` when no check failed (skipped checks do not fail it), else `fail`.
    pub verdict: Verdict,
    /// The base URL verified.
    pub target: String,
    /// The stack verify started itself, or a deployment named with `--target`.
    pub mode: VerifyMode,
    /// Where Postgres and Redis came from (local mode), as a run report names it.
    pub backend: Option<Backend>,
    /// Seeded defects switched on in the local service (a testing aid; empty for a real check).
    pub defects: Vec<String>,
    /// The command line, for reproduction.
    pub command_line: Vec<String>,
    /// Unix time the first check began.
    pub started_at_unix_us: u64,
    /// Wall time of all checks together.
    pub duration_us: u64,
    /// Every check in the order it ran.
    pub checks: Vec<CheckResult>,
}

/// Who provided the service under check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Postgres, Redis and the reference service started by verify: every check can run.
    Local,
    /// An existing deployment (`--target`): checks that need the stack's controls are skipped.
    Target,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// Stable dotted name, `family.what` (`health.ready`), as docs/verify.md lists them.
    pub name: String,
    /// What a pass proves, in one sentence.
    pub proves: String,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// Why it failed or was skipped; a one-line summary when it passed.
    pub summary: String,
    /// What was sent and seen: requests, statuses, headers, figures.
    pub evidence: Vec<String>,
    /// Wall time of the check.
    pub duration_us: u64,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// What it proves held.
    Pass,
    /// What it proves did not hold (or could not be shown to).
    Fail,
    /// Not run here, for the reason in `summary` (a local-only check under `--target`).
    Skipped,
}

impl CheckOutcome {
    /// Lower-case word as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Fail => "fail",
            CheckOutcome::Skipped => "skipped",
        }
    }
}

/// Counts of each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
}

impl VerifyReport {
    /// The verdict the checks imply: fail when any failed.
    pub fn judge(checks: &[CheckResult]) -> Verdict {
        if checks.iter().any(|c| c.outcome == CheckOutcome::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// How many checks passed, failed, were skipped.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for c in &self.checks {
            match c.outcome {
                CheckOutcome::Pass => t.passed += 1,
                CheckOutcome::Fail => t.failed += 1,
                CheckOutcome::Skipped => t.skipped += 1,
            }
        }
        t
    }

    /// Names of the failed checks, in order.
    pub fn failed(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.outcome == CheckOutcome::Fail)
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// The JSON Schema of the verify `report.json`, generated from the types.
pub fn json_schema_string() -> String {
    let value = serde_json::to_value(schemars::schema_for!(VerifyReport))
        .unwrap_or(serde_json::Value::Null);
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}
