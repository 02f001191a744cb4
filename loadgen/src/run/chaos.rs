//! The chaos executor: a scenario's `[[chaos]]` faults applied during the attack.
//!
//! [`plan`] turns the load plan's faults into typed ones before anything starts (bad input is
//! exit 2 with the spec's file, line and field). [`alongside`] runs the schedule next to the
//! attack: each fault is injected at its offset from the start of load (the first virtual
//! user's first request) and removed after its duration — toxics and `down` on the fault
//! proxies, `kill`/`stop`/`pause`/`restart` through the stack's server controls. The
//! recorder's phase follows: `baseline` until the first injection, `fault` while any fault
//! is active, `recovery` after. When the attack ends for any reason (its plan ran out, Ctrl-C,
//! an error) every fault still active is removed and the timeline says so;
//! [`super::chaos_report::fill`] then writes windows and events into the report.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gauntlet_chaos::{Fault, LifecycleAction, ScheduledFault, Target};
use gauntlet_reports::model::{ChaosEventKind, PhaseKind};
use gauntlet_scenarios::{LoadPlan, ScenarioSpec};

pub use super::chaos_apply::Handles;
use super::chaos_apply::{Step, apply};
use super::local::Proxies;
use super::now_unix_us;
use super::recorder::Recorder;

/// A `[[chaos]]` entry the executor applies.
#[derive(Debug, Clone)]
pub struct Planned {
    /// `<fault>-<target>-<index>`: the toxic's name on the proxy and the window's name.
    pub name: String,
    /// The fault, its target and its scaled timing.
    pub entry: ScheduledFault,
}

/// A `[[chaos]]` entry this run cannot execute; the message starts with `file:line:column`.
#[derive(Debug, thiserror::Error)]
#[error("{position}: chaos[{index}].{field}: {problem}")]
pub struct ChaosPlanError {
    /// `origin:line:column` of the offending entry.
    pub position: String,
    /// Index of the entry in the spec.
    pub index: usize,
    /// The entry's field the problem is about: `fault` or `target`.
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// Checks that this run can execute every planned fault (the spec already typed them).
/// `local` says whether the run provisions its own stack (faults need the proxies and the
/// server controls, which a `--target` run does not have); `service_process` whether the
/// service runs in a child process (faults on the service).
pub fn plan(
    spec: &ScenarioSpec,
    plan: &LoadPlan,
    local: bool,
    service_process: bool,
) -> Result<Vec<Planned>, ChaosPlanError> {
    let mut out = Vec::with_capacity(plan.chaos.len());
    for (index, entry) in plan.chaos.iter().enumerate() {
        let refuse = |field, problem: String| ChaosPlanError {
            position: spec.chaos_position(index),
            index,
            field,
            problem,
        };
        if entry.target == Target::Service && !service_process {
            return Err(refuse(
                "target",
                "faults on the service need the service in a child process: add \
                 `--service-process` (or `service_process = true` in the spec)"
                    .to_owned(),
            ));
        }
        if entry.target == Target::Service && !matches!(entry.fault, Fault::Lifecycle(_)) {
            return Err(refuse(
                "fault",
                format!(
                    "`{}` acts on a connection to postgres or redis; the service takes \
                     lifecycle faults only: kill, stop, restart, pause",
                    entry.fault
                ),
            ));
        }
        if !local {
            return Err(refuse(
                "target",
                "faults need the stack gauntlet provisions itself; they cannot be injected \
                 into a `--target` deployment"
                    .to_owned(),
            ));
        }
        out.push(Planned {
            name: entry.name(index),
            entry: entry.clone(),
        });
    }
    Ok(out)
}

/// One injected fault and when it was active.
#[derive(Debug)]
pub(super) struct Window {
    pub fault: Planned,
    pub injected_us: u64,
    /// `None` while it is still active.
    pub removed_us: Option<u64>,
    /// What the injection left running, dropped at the removal.
    pub lingering: Option<super::chaos_apply::Lingering>,
}

/// One entry of the timeline: when, what, where, in words.
#[derive(Debug)]
pub(super) struct LogEvent {
    pub at_us: u64,
    pub kind: ChaosEventKind,
    pub target: Target,
    pub message: String,
}

/// What happened, in unix microseconds (converted to report offsets by [`fill`]).
#[derive(Debug, Default)]
pub struct ChaosLog {
    /// Each injected fault with its injection and removal times.
    pub(super) windows: Vec<Window>,
    /// The timeline.
    pub(super) events: Vec<LogEvent>,
    /// Indexes into `windows` of the faults still active.
    active: Vec<usize>,
}

impl ChaosLog {
    /// Whether the service process was killed, stopped or restarted (its counters reset).
    pub fn service_restarted(&self) -> bool {
        self.windows
            .iter()
            .any(|w| w.fault.entry.target == Target::Service && w.fault.entry.restarts_target())
    }

    fn event(&mut self, kind: ChaosEventKind, target: Target, message: String) {
        self.log(now_unix_us(), kind, target, message);
    }

    fn log(&mut self, at_us: u64, kind: ChaosEventKind, target: Target, message: String) {
        self.events.push(LogEvent {
            at_us,
            kind,
            target,
            message,
        });
    }
}

/// Runs `attack` with the schedule beside it; every fault still active when the attack ends
/// is removed before this returns.
pub async fn alongside<F: Future>(
    faults: &[Planned],
    handles: Handles<'_>,
    recorder: &Recorder,
    attack: F,
) -> (F::Output, ChaosLog) {
    if faults.is_empty() {
        return (attack.await, ChaosLog::default());
    }
    let log = Mutex::new(ChaosLog::default());
    let guard = ProxyGuard(handles.proxies);
    let out = {
        let schedule = run_schedule(faults, handles, recorder, &log);
        tokio::pin!(attack, schedule);
        let mut schedule_done = false;
        loop {
            tokio::select! {
                out = &mut attack => break out,
                () = &mut schedule, if !schedule_done => schedule_done = true,
            }
        }
    };
    let mut log = log.into_inner().unwrap_or_else(|p| p.into_inner());
    rollback(&mut log, handles).await;
    drop(guard);
    (out, log)
}

/// If the rollback never runs (a panic unwinding), the toxics are still cleared; `down` and
/// lifecycle faults end with the proxies and the stack, which are removed when dropped.
struct ProxyGuard<'a>(Option<&'a Proxies>);

impl Drop for ProxyGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            p.postgres.clear();
            p.redis.clear();
        }
    }
}

async fn run_schedule(
    faults: &[Planned],
    handles: Handles<'_>,
    recorder: &Recorder,
    log: &Mutex<ChaosLog>,
) {
    // Load starts when the first virtual user sends its first request (after goose's setup).
    let started = loop {
        if let Some(at) = recorder.plan_started_unix_us() {
            break at;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    recorder.enter_phase(PhaseKind::Baseline, started);
    let origin = Instant::now() - Duration::from_micros(now_unix_us().saturating_sub(started));
    let mut steps: Vec<(Duration, bool, usize)> = Vec::with_capacity(faults.len() * 2);
    for (i, f) in faults.iter().enumerate() {
        steps.push((f.entry.start, true, i));
        steps.push((f.entry.start + f.entry.duration, false, i));
    }
    // At one instant, removals first: a fault ending as another starts leaves one active.
    steps.sort_by_key(|(at, inject, i)| (*at, *inject, *i));
    let mut window_of = vec![None; faults.len()];
    for (at, inject, i) in steps {
        tokio::time::sleep_until((origin + at).into()).await;
        let f = &faults[i];
        if inject {
            // The phase switches before the fault goes in: a Docker kill takes a moment, and
            // requests failing meanwhile belong to the fault, not to the baseline.
            let begun = now_unix_us();
            if lock(log).active.is_empty() {
                recorder.enter_phase(PhaseKind::Fault, begun);
            }
            let result = apply(f, handles, Step::Inject).await;
            let mut l = lock(log);
            match result {
                Ok(lingering) => {
                    l.windows.push(Window {
                        fault: f.clone(),
                        injected_us: begun,
                        removed_us: None,
                        lingering,
                    });
                    let w = l.windows.len() - 1;
                    l.active.push(w);
                    window_of[i] = Some(w);
                    let (entry, target) = (&f.entry, f.entry.target);
                    let message = format!("{entry} injected");
                    l.log(begun, ChaosEventKind::Inject, target, message);
                    if matches!(entry.fault, Fault::Lifecycle(LifecycleAction::Restart)) {
                        let ms = now_unix_us().saturating_sub(begun) / 1000;
                        let message = format!("{target} restarted and ready after {ms} ms");
                        l.event(ChaosEventKind::Note, target, message);
                    }
                }
                Err(e) => {
                    if l.active.is_empty() {
                        let back = if l.windows.is_empty() {
                            PhaseKind::Baseline
                        } else {
                            PhaseKind::Recovery
                        };
                        recorder.enter_phase(back, now_unix_us());
                    }
                    let message = format!("{} could not be injected: {e:#}", f.entry);
                    l.event(ChaosEventKind::Note, f.entry.target, message);
                }
            }
        } else if let Some(w) = window_of[i].take() {
            remove(log, handles, recorder, w).await;
        }
    }
}

/// Removes one fault. Its window (and the fault phase) lasts until the removal is complete:
/// a killed server is still away while it starts again.
async fn remove(log: &Mutex<ChaosLog>, handles: Handles<'_>, recorder: &Recorder, w: usize) {
    let (f, lingering) = {
        let mut l = lock(log);
        (l.windows[w].fault.clone(), l.windows[w].lingering.take())
    };
    let began = now_unix_us();
    drop(lingering);
    let result = apply(&f, handles, Step::Remove).await.map(drop);
    let ended = now_unix_us();
    let mut l = lock(log);
    l.active.retain(|a| *a != w);
    l.windows[w].removed_us = Some(ended);
    if l.active.is_empty() {
        recorder.enter_phase(PhaseKind::Recovery, ended);
    }
    let message = format!("{} removed after its duration", f.entry);
    l.log(began, ChaosEventKind::Remove, f.entry.target, message);
    after_removal(&mut l, &f, began, result);
}

/// Notes a failed removal, or how long a restarted server took to answer again.
fn after_removal(l: &mut ChaosLog, f: &Planned, began: u64, result: anyhow::Result<()>) {
    let restarted = matches!(
        f.entry.fault,
        Fault::Lifecycle(LifecycleAction::Kill | LifecycleAction::Stop)
    );
    let target = f.entry.target;
    match result {
        Err(e) => l.event(
            ChaosEventKind::Note,
            target,
            format!("{} could not be removed: {e:#}", f.entry),
        ),
        Ok(()) if restarted => {
            let ms = now_unix_us().saturating_sub(began) / 1000;
            l.event(
                ChaosEventKind::Note,
                target,
                format!("{target} started again and ready after {ms} ms"),
            );
        }
        Ok(()) => {}
    }
}

/// Removes every fault still active when the attack ended (plan over, Ctrl-C, error).
async fn rollback(log: &mut ChaosLog, handles: Handles<'_>) {
    let active = std::mem::take(&mut log.active);
    for w in active {
        let began = now_unix_us();
        let f = log.windows[w].fault.clone();
        drop(log.windows[w].lingering.take());
        let result = apply(&f, handles, Step::Remove).await.map(drop);
        log.windows[w].removed_us = Some(now_unix_us());
        let message = format!("{} removed when the attack ended (rollback)", f.entry);
        log.log(began, ChaosEventKind::Remove, f.entry.target, message);
        after_removal(log, &f, began, result);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(chaos: &str) -> ScenarioSpec {
        let text = format!(
            "version = 1\ndescription = \"x\"\n[[stages]]\nname = \"a\"\nkind = \"hold\"\n\
             duration = \"10s\"\nusers = 1\n[[chaos]]\n{chaos}"
        );
        ScenarioSpec::from_toml_str(&text, "t.toml").expect("spec parses")
    }

    fn planned(chaos: &str, local: bool) -> Result<Vec<Planned>, ChaosPlanError> {
        planned_with(chaos, local, false)
    }

    fn planned_with(
        chaos: &str,
        local: bool,
        service_process: bool,
    ) -> Result<Vec<Planned>, ChaosPlanError> {
        let spec = spec_with(chaos);
        let load = spec.plan(spec.default_profile(), 0.5).expect("spec plans");
        plan(&spec, &load, local, service_process)
    }

    #[test]
    fn a_valid_fault_is_typed_and_scaled() {
        let faults = planned(
            "fault = \"latency\"\ntarget = \"postgres\"\nstart = \"2s\"\nduration = \"4s\"\n\
             attributes = { latency = 200, jitter = 50 }\n",
            true,
        )
        .expect("valid");
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].entry.target, Target::Postgres);
        assert_eq!(faults[0].entry.start, Duration::from_secs(1));
        assert_eq!(faults[0].entry.duration, Duration::from_secs(2));
        assert_eq!(faults[0].entry.attributes["latency"], "200");
    }

    #[test]
    fn service_faults_and_remote_targets_are_refused_with_the_reason() {
        let kill_service =
            "fault = \"kill\"\ntarget = \"service\"\nstart = \"1s\"\nduration = \"1s\"\n";
        let err = planned(kill_service, true)
            .expect_err("no service faults")
            .to_string();
        assert!(err.contains("--service-process"), "{err}");
        let faults = planned_with(kill_service, true, true).expect("with a child service");
        assert_eq!(faults[0].entry.target, Target::Service);
        let latency = "fault = \"latency\"\ntarget = \"service\"\nstart = \"1s\"\n\
                       duration = \"1s\"\nattributes = { latency = 10 }\n";
        let err = planned_with(latency, true, true)
            .expect_err("no toxics on the service")
            .to_string();
        assert!(
            err.contains("chaos[0].fault") && err.contains("lifecycle"),
            "{err}"
        );
        let down = "fault = \"down\"\ntarget = \"redis\"\nstart = \"1s\"\nduration = \"1s\"\n";
        let err = planned(down, false)
            .expect_err("no remote faults")
            .to_string();
        assert!(err.contains("--target"), "{err}");
    }
}
