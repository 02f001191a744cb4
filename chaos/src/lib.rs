//! Gauntlet's chaos toolkit.
//!
//! Map of the crate:
//!
//! - [`fault`]: the fault vocabulary. Network toxics with Toxiproxy names and attributes
//!   (`latency`, `bandwidth`, `timeout`, `reset_peer`, `slicer`, `limit_data`, `slow_close`),
//!   `down`, and lifecycle faults (`kill`, `stop`, `restart`, `pause`) on [`Target`]s, parsed
//!   from TOML-ish tables with typed errors.
//! - [`proxy`]: [`FaultProxy`], the in-process TCP proxy that applies toxics to live traffic.
//! - [`schedule`]: [`ScheduledFault`], a scenario's `[[chaos]]` entry typed: fault, target,
//!   start and duration.
//!
//! Lifecycle faults are only described here; the provisioning crate executes them. The phases
//! of a run (baseline / fault / recovery) and recovery time are report concepts and live in
//! `gauntlet-reports`. This crate depends on no other workspace crate.

mod attrs;
mod contents;
pub mod fault;
pub mod proxy;
pub mod schedule;
mod toxic;

pub use fault::{
    Direction, DiskFill, Fault, FaultError, FieldProblem, JobFlood, LifecycleAction, Target, Toxic,
    ToxicKind, Toxicity,
};
pub use proxy::{FaultProxy, ProxyError, ProxyStats, ToxicId};
pub use schedule::{EntryError, EntryField, ScheduledFault};
