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
//! [`super::chaos_report::fill`] then writes windows, events and recovery time into the report.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gauntlet_chaos::{Fault, FaultError, LifecycleAction, Target};
use gauntlet_reports::model::{ChaosEventKind, PhaseKind};
use gauntlet_scenarios::{LoadPlan, ScenarioSpec};

pub use super::chaos_apply::Handles;
use super::chaos_apply::apply;
use super::local::Proxies;
use super::now_unix_us;
use super::recorder::Recorder;

/// A `[[chaos]]` entry the executor can apply.
#[derive(Debug, Clone)]
pub struct Planned {
    /// `<fault>-<target>-<index>`: the toxic's name on the proxy and the window's name.
    pub name: String,
    /// What to inject.
    pub fault: Fault,
    /// Where.
    pub target: Target,
    /// Offset from the start of load (scaled).
    pub start: Duration,
    /// How long until removal (scaled).
    pub duration: Duration,
    /// Attributes as written, for the report.
    pub attributes: BTreeMap<String, String>,
}

/// A `[[chaos]]` entry that cannot run; the message starts with `file:line:column`.
#[derive(Debug, thiserror::Error)]
#[error("{position}: chaos[{index}].{field}: {problem}")]
pub struct ChaosPlanError {
    /// `origin:line:column` of the offending entry (or attribute).
    pub position: String,
    /// Index of the entry in the spec.
    pub index: usize,
    /// Field path inside the entry: `fault`, `target`, `attributes.latency`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// Validates every planned fault. `local` says whether the run provisions its own stack
/// (faults need the proxies and the server controls, which a `--target` run does not have);
/// `service_process` whether the service runs in a child process (faults on the service).
pub fn plan(
    spec: &ScenarioSpec,
    plan: &LoadPlan,
    local: bool,
    service_process: bool,
) -> Result<Vec<Planned>, ChaosPlanError> {
    let mut out = Vec::with_capacity(plan.chaos.len());
    for (index, (planned, written)) in plan.chaos.iter().zip(spec.chaos()).enumerate() {
        let at = |field: &str, problem: String| {
            // Point at the attribute's own line when it can be found after the entry's start.
            let from = written.span.start;
            let key = field.strip_prefix("attributes.").unwrap_or("");
            let offset = (!key.is_empty())
                .then(|| {
                    spec.source()
                        .get(from..)?
                        .find(&format!("{key} "))
                        .map(|o| from + o)
                })
                .flatten()
                .unwrap_or(from);
            ChaosPlanError {
                position: spec.describe_position(offset),
                index,
                field: field.to_owned(),
                problem,
            }
        };
        let target: Target = planned
            .target
            .parse()
            .map_err(|p: gauntlet_chaos::FieldProblem| at("target", format!("target {p}")))?;
        let mut table = planned.attributes.clone();
        table.insert("type".into(), toml::Value::String(planned.fault.clone()));
        let fault = Fault::from_table(table).map_err(|e| {
            let field = match &e {
                FaultError::MissingType | FaultError::UnknownType(_) | FaultError::NotAToxic(_) => {
                    "fault".to_owned()
                }
                FaultError::MissingField { field, .. }
                | FaultError::InvalidField { field, .. }
                | FaultError::UnknownField { field, .. } => format!("attributes.{field}"),
            };
            at(&field, e.to_string())
        })?;
        if let Fault::Toxic(t) = &fault {
            t.validate().map_err(|e| at("attributes", e.to_string()))?;
        }
        if target == Target::Service && !service_process {
            return Err(at(
                "target",
                "faults on the service need the service in a child process: add \
                 `--service-process` (or `service_process = true` in the spec)"
                    .to_owned(),
            ));
        }
        if target == Target::Service && !matches!(fault, Fault::Lifecycle(_)) {
            return Err(at(
                "fault",
                format!(
                    "`{}` acts on a connection to postgres or redis; the service takes \
                     lifecycle faults only: kill, stop, restart, pause",
                    planned.fault
                ),
            ));
        }
        if !local {
            return Err(at(
                "target",
                "faults need the stack gauntlet provisions itself; they cannot be injected \
                 into a `--target` deployment"
                    .to_owned(),
            ));
        }
        out.push(Planned {
            name: format!("{}-{}-{index}", planned.fault, planned.target),
            fault,
            target,
            start: planned.start,
            duration: planned.duration,
            attributes: planned
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string().trim_matches('"').to_owned()))
                .collect(),
        });
    }
    Ok(out)
}

/// What happened, in unix microseconds (converted to report offsets by [`fill`]).
#[derive(Debug, Default)]
pub struct ChaosLog {
    /// Each injected fault with its injection and removal times.
    pub(super) windows: Vec<(Planned, u64, Option<u64>)>,
    /// The timeline: when, what, where, in words.
    pub(super) events: Vec<(u64, ChaosEventKind, Target, String)>,
    /// Indexes into `windows` of the faults still active.
    active: Vec<usize>,
}

impl ChaosLog {
    /// Whether the service process was killed, stopped or restarted (its counters reset).
    pub fn service_restarted(&self) -> bool {
        self.windows.iter().any(|(f, ..)| {
            f.target == Target::Service
                && matches!(f.fault, Fault::Lifecycle(a) if a != LifecycleAction::Pause)
        })
    }

    fn event(&mut self, kind: ChaosEventKind, target: Target, message: String) {
        self.events.push((now_unix_us(), kind, target, message));
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
        steps.push((f.start, true, i));
        steps.push((f.start + f.duration, false, i));
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
            let result = apply(f, handles, true).await;
            let mut l = lock(log);
            match result {
                Ok(()) => {
                    l.windows.push((f.clone(), begun, None));
                    let w = l.windows.len() - 1;
                    l.active.push(w);
                    window_of[i] = Some(w);
                    let message = format!("{} injected", describe(f));
                    l.events
                        .push((begun, ChaosEventKind::Inject, f.target, message));
                    if matches!(f.fault, Fault::Lifecycle(LifecycleAction::Restart)) {
                        let ms = now_unix_us().saturating_sub(begun) / 1000;
                        let target = target_name(f.target);
                        let message = format!("{target} restarted and ready after {ms} ms");
                        l.event(ChaosEventKind::Note, f.target, message);
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
                    let message = format!("{} could not be injected: {e:#}", describe(f));
                    l.event(ChaosEventKind::Note, f.target, message);
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
    let f = lock(log).windows[w].0.clone();
    let began = now_unix_us();
    let result = apply(&f, handles, false).await;
    let ended = now_unix_us();
    let mut l = lock(log);
    l.active.retain(|a| *a != w);
    l.windows[w].2 = Some(ended);
    if l.active.is_empty() {
        recorder.enter_phase(PhaseKind::Recovery, ended);
    }
    let message = format!("{} removed after its duration", describe(&f));
    l.events
        .push((began, ChaosEventKind::Remove, f.target, message));
    after_removal(&mut l, &f, began, result);
}

/// Notes a failed removal, or how long a restarted server took to answer again.
fn after_removal(l: &mut ChaosLog, f: &Planned, began: u64, result: anyhow::Result<()>) {
    let restarted = matches!(
        f.fault,
        Fault::Lifecycle(LifecycleAction::Kill | LifecycleAction::Stop)
    );
    match result {
        Err(e) => l.event(
            ChaosEventKind::Note,
            f.target,
            format!("{} could not be removed: {e:#}", describe(f)),
        ),
        Ok(()) if restarted => {
            let ms = now_unix_us().saturating_sub(began) / 1000;
            let target = target_name(f.target);
            l.event(
                ChaosEventKind::Note,
                f.target,
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
        let f = log.windows[w].0.clone();
        let result = apply(&f, handles, false).await;
        log.windows[w].2 = Some(now_unix_us());
        log.events.push((
            began,
            ChaosEventKind::Remove,
            f.target,
            format!("{} removed when the attack ended (rollback)", describe(&f)),
        ));
        after_removal(log, &f, began, result);
    }
}

fn describe(f: &Planned) -> String {
    let attrs: Vec<String> = f
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if attrs.is_empty() {
        format!("{} on {}", f.fault, target_name(f.target))
    } else {
        format!(
            "{} ({}) on {}",
            f.fault,
            attrs.join(", "),
            target_name(f.target)
        )
    }
}

pub(super) fn target_name(t: Target) -> &'static str {
    match t {
        Target::Postgres => "postgres",
        Target::Redis => "redis",
        Target::Service => "service",
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
        assert_eq!(faults[0].target, Target::Postgres);
        assert_eq!(faults[0].start, Duration::from_secs(1));
        assert_eq!(faults[0].duration, Duration::from_secs(2));
        assert_eq!(faults[0].attributes["latency"], "200");
    }

    #[test]
    fn unknown_fault_target_or_attribute_names_line_and_field() {
        let cases = [
            (
                "fault = \"lag\"\ntarget = \"redis\"\nstart = \"1s\"\nduration = \"1s\"\n",
                "t.toml:9:",
                "chaos[0].fault",
            ),
            (
                "fault = \"down\"\ntarget = \"mysql\"\nstart = \"1s\"\nduration = \"1s\"\n",
                "t.toml:9:",
                "chaos[0].target",
            ),
            (
                "fault = \"latency\"\ntarget = \"redis\"\nstart = \"1s\"\nduration = \"1s\"\n\
                 attributes = { latency = -5 }\n",
                "t.toml:13:",
                "chaos[0].attributes.latency",
            ),
        ];
        for (chaos, position, field) in cases {
            let err = planned(chaos, true).expect_err(chaos).to_string();
            assert!(err.starts_with(position), "{err}");
            assert!(err.contains(field), "{err}");
        }
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
        assert_eq!(faults[0].target, Target::Service);
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
