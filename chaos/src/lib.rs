//! Gauntlet's chaos toolkit.
//!
//! Map of the crate:
//!
//! - [`fault`]: the fault vocabulary. Network toxics with Toxiproxy names and attributes
//!   (`latency`, `bandwidth`, `timeout`, `reset_peer`, `slicer`, `limit_data`, `slow_close`),
//!   `down`, and lifecycle faults (`kill`, `stop`, `restart`, `pause`) on [`Target`]s, parsed
//!   from TOML-ish tables with typed errors.
//! - [`proxy`]: [`FaultProxy`], the in-process TCP proxy that applies toxics to live traffic.
//! - [`schedule`]: faults at planned offsets, validated; inject/remove events.
//! - [`phases`]: baseline / fault / recovery spans of a run, and [`recovery_time`].
//!
//! Lifecycle faults are only described here; the provisioning crate executes them. This crate
//! depends on no other workspace crate.

mod attrs;
pub mod fault;
pub mod phases;
pub mod proxy;
pub mod schedule;

pub use fault::{
    Direction, Fault, FaultError, FieldProblem, LifecycleAction, Target, Toxic, ToxicKind, Toxicity,
};
pub use phases::{Phase, PhaseSpan, Phases, RecoveryBand, SecondSample, recovery_time};
pub use proxy::{FaultProxy, ProxyError, ProxyStats, ToxicId};
pub use schedule::{Schedule, ScheduleError, ScheduleEvent, ScheduledFault};
