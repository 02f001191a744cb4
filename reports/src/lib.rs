//! Gauntlet reports: pure functions from run data to a verdict and its renderings.
//!
//! Map of the crate:
//! - [`model`]: the `report.json` types (the source of truth) — filled by the loadgen;
//! - [`record`]: allocation-free building blocks the loadgen records requests into;
//! - [`histogram`]: the one HDR histogram configuration and its base64 V2-deflate encoding;
//! - [`threshold`]: k6-style threshold parsing (with positions) and evaluation;
//! - [`hypothesis`]: chaos steady-state hypotheses derived from fault-related thresholds;
//! - [`recovery`]: time to recover after faults, against a band around the baseline;
//! - [`verdict`]: pass / fail / invalid / aborted and the exit code;
//! - [`analysis`]: what each scenario is for — stress breaking point, spike recovery,
//!   endurance trends;
//! - [`finalize`]: a measured report to the written one (recovery time, baseline comparison,
//!   thresholds, hypotheses, verdict, scenario results), in that order, for runs and merges;
//! - [`render`]: JSON, Markdown, HTML (inline SVG), JUnit XML and console text;
//! - [`compare`]: base vs new with allowances and a noise model that sees run-to-run
//!   variation (not comparable on a busy machine, multi-run spread, tests over the seconds,
//!   paired A/B slices);
//! - [`baseline_set`]: a multi-run baseline, each metric's K values and spread;
//! - [`endpoint_series`]: each endpoint's per-second means, recorded for compare's tests;
//! - [`diagnosis`]: per-request DB / pool-wait / Redis / service time per endpoint, and the
//!   cause named when one dominates;
//! - [`drill`]: a backup drill's data loss (RPO window, lost writes) from its ledger;
//! - [`merge`]: exact merge of several reports (histograms add bucket by bucket);
//! - [`schema`]: the JSON Schema of `report.json`;
//! - [`verify`]: `gauntlet verify`'s checklist report (rendered by `render::verify`);
//! - [`synthetic`]: deterministic synthetic reports for benchmarks and size checks.
//!
//! Architecture invariant: no network, no processes, no clocks, no file I/O. Renderers take a
//! `&Report` and return a `String`; the same report always renders to the same bytes.

pub mod analysis;
pub mod baseline_set;
pub mod compare;
pub mod diagnosis;
pub mod drill;
pub mod endpoint_series;
pub mod finalize;
pub mod format;
pub mod histogram;
pub mod hypothesis;
pub mod merge;
pub mod model;
pub mod parts;
pub mod record;
pub mod recovery;
pub mod render;
pub mod schema;
mod second_series;
pub mod synthetic;
pub mod tenant_stats;
pub mod threshold;
pub mod verdict;
pub mod verify;

pub use finalize::finalize;
pub use model::{Report, SCHEMA_VERSION, Verdict};
pub use record::{EndpointStats, Outcome, RunRecorder, SecondBucket, SeriesRecorder};
pub use threshold::{Threshold, ThresholdParseError, evaluate_all, parse_threshold};
