//! What virtual users do in a Gauntlet run.
//!
//! Map of the crate:
//! - [`spec`]: the scenario spec format (TOML) — stages, persona mix, think time, profile
//!   sizes, thresholds (kept as text with spans; `gauntlet-reports` parses them) and chaos
//!   entries (parsed into `gauntlet-chaos`'s [`gauntlet_chaos::ScheduledFault`], errors pointing
//!   at their line) — plus [`spec::LoadPlan`], the spec made concrete for one profile and time
//!   scale.
//! - [`builtin`]: `smoke`, `load`, `stress`, `spike`, `endurance` and the chaos experiments
//!   (`pg-latency`, `pg-kill`, `redis-down`, `redis-pause`, `pg-reset`, `service-kill`), embedded from
//!   `builtin/*.toml`.
//! - [`hrms`]: the HRMS API as virtual users see it — endpoint names matching the service's
//!   route labels, and the fixture of tenants and credentials they log in with.
//! - [`personas`]: `employee`, `manager`, `hr_admin` and `prober` as goose scenarios; every
//!   request is timed and handed to a [`personas::RequestSink`] the harness provides.
//! - [`probes`]: the cross-tenant and security probe catalogue (standalone and in the
//!   sweeps around every load run).
//!
//! Architecture invariant: this crate depends on no other workspace crate but
//! `gauntlet-chaos` (whose fault vocabulary a spec's `[[chaos]]` entries are written in), and
//! nothing in it panics on input — every problem in a spec is a [`SpecError`] naming file, line, column and
//! field.

pub mod builtin;
pub mod hrms;
pub mod personas;
pub mod probes;
pub mod spec;

pub use spec::{LoadPlan, ProfileName, ScenarioSpec, SpecError};
