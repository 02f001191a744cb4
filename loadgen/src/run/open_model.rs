//! An open-model attack: goose's users (a pre-allocated pool, see `attack::test_plan`) and the
//! arrival scheduler they wait on, run side by side; the schedule's counts go to the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use gauntlet_reports::Report;
use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::personas::Ctx;
use gauntlet_scenarios::personas::arrivals::{ArrivalCounts, Arrivals};
use tokio::sync::Notify;

use super::attack::{self, AttackError};
use super::recorder::Recorder;
use super::signal::Interrupt;

/// The attack, with the arrival schedule driven beside it when `ctx` runs the open model.
/// The schedule stops early when the attack ends first (goose failed) or on Ctrl-C, so no
/// user is left waiting for a token that will not come.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    plan: &LoadPlan,
    base_url: &str,
    recorder: &Recorder,
    interrupt: &Interrupt,
) -> Result<BTreeMap<String, u64>, AttackError> {
    let Some(arrivals) = ctx.arrivals.clone() else {
        return attack::run(ctx, plan, base_url).await;
    };
    let attack_over = Notify::new();
    let running = AtomicBool::new(true);
    let attack = async {
        let out = attack::run(ctx, plan, base_url).await;
        running.store(false, Ordering::SeqCst);
        attack_over.notify_one();
        out
    };
    let stop = async {
        tokio::select! {
            () = attack_over.notified() => {}
            () = interrupt.wait() => {}
        }
    };
    let started = |at: std::time::SystemTime| {
        let us = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        recorder.schedule_started(us);
    };
    let schedule = async {
        arrivals.drive(stop, started).await;
        // goose holds the pool a little past the schedule (its start waited for the pool's
        // logins); once the schedule is over there is nothing left to send, so goose is told
        // to stop now rather than idle out its plan. Its killswitch is the public way, and
        // goose clears it when the next attack starts.
        if running.load(Ordering::SeqCst) && !interrupt.is_set() {
            goose::trigger_killswitch("the arrival schedule is over");
        }
    };
    let (out, ()) = tokio::join!(attack, schedule);
    out
}

/// The scheduler for `plan`, when its stages are arrival-rate stages.
pub(super) fn arrivals(plan: &LoadPlan) -> Option<Arc<Arrivals>> {
    plan.arrival_plan().map(|p| Arc::new(Arrivals::new(p)))
}

/// Fills the report's open-model counts (the recorder filled the latencies).
pub(super) fn fill(report: &mut Report, pool: u32, counts: ArrivalCounts) {
    let o = &mut report.open_model;
    o.enabled = true;
    o.pool_users = pool;
    o.scheduled_iterations = counts.scheduled;
    o.started_iterations = counts.started;
    o.dropped_iterations = counts.dropped;
}
