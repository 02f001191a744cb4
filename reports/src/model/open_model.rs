//! The open model's section: what an arrival-rate run scheduled, started and dropped, and its
//! two latencies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LatencySummary;

/// An arrival-rate (open-model) run: iterations started on a schedule by a pool of
/// pre-allocated virtual users. `enabled: false` for a closed-model run.
///
/// Latency in this report (`total`, `endpoints`, `series`, every `http.*` threshold) is the
/// **response time**: for the first request of an iteration it is measured from when the
/// iteration was scheduled to start, so a stalled service or a busy generator shows in it
/// (no coordinated omission). `service_time` is the same requests measured from when each was
/// sent, as a closed-model tool would report them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpenModelSection {
    /// Whether the run had arrival-rate stages.
    pub enabled: bool,
    /// Virtual users pre-allocated (the largest stage's `max_users`).
    pub pool_users: u32,
    /// Iterations the schedule asked for.
    pub scheduled_iterations: u64,
    /// Of those, started by a free virtual user.
    pub started_iterations: u64,
    /// Of those, dropped because no user was free (or the stage's `max_users` were busy);
    /// the `dropped_iterations` threshold metric.
    pub dropped_iterations: u64,
    /// Response time as a user waits it (from the scheduled start): the same figures as
    /// `total.latency`, repeated here beside the service time.
    pub response_time: LatencySummary,
    /// Service time (from each request's send) of the same requests.
    pub service_time: LatencySummary,
    /// The service times as a histogram (see `histogram_format`), so merged reports combine
    /// them exactly; empty for a closed-model run.
    #[serde(default)]
    pub service_time_histogram: String,
}
