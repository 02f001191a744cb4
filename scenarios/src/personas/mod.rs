//! Personas as goose scenarios: `employee`, `manager`, `hr_admin` and the cross-tenant
//! `prober`, plus the once-per-run setup and probe sweeps.
//!
//! Every request goes through [`call::send`], which times it (full response, body included),
//! classifies it against the statuses the persona expects and hands a [`Sample`] to the
//! run's [`RequestSink`]. The sink is how the harness records without this crate knowing
//! about reports: the dependency points from the harness to here, never back.
//!
//! Each virtual user logs in (an `on_start` transaction) with a credential of *its* tenant,
//! chosen by its goose user index ([`Fixture::pick`]), and keeps the token in goose session
//! data; a user whose login failed retries it before its next action.

pub mod arrivals;
pub mod call;
mod employee;
mod hr_admin;
mod manager;
pub mod prober;
mod session;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goose::goose::{Scenario, Transaction};
use goose::prelude::GooseError;

use crate::hrms::{Endpoint, Fixture, Role};
use crate::spec::{PersonaShares, ShardPlan};

pub use session::Session;

/// How a recorded call ended, from the persona's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A status the call declared expected.
    Ok,
    /// Any other status (the sink classifies 4xx/5xx from [`Sample::status`]).
    Unexpected,
    /// The client timeout fired.
    Timeout,
    /// No HTTP response: refused, reset.
    Connection,
    /// Anything else (the request could not be built, the body could not be read).
    Other,
}

/// One finished request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// What was called.
    pub endpoint: Endpoint,
    /// When it finished, unix µs.
    pub at_unix_us: u64,
    /// Response time as a user waits it, µs: to the last body byte from when the request was
    /// sent or, for the first request of an open-model iteration, from when the iteration was
    /// scheduled to start (so time spent waiting for a busy generator or a stalled service
    /// is counted, not omitted). Thresholds judge this one.
    pub latency_us: u64,
    /// Service time, µs: send to last body byte. Equal to `latency_us` in a closed model.
    pub service_us: u64,
    /// HTTP status, when a response came back.
    pub status: Option<u16>,
    /// Classification.
    pub outcome: CallOutcome,
    /// Sent by the once-per-run setup or sweeps (goose's `test_start`/`test_stop`), which
    /// goose's own metrics do not count.
    pub setup: bool,
    /// Index of the sender's tenant in the fixture, when the sender had a session (a virtual
    /// user after its login); the per-tenant statistics count it there.
    pub tenant: Option<usize>,
    /// Sent by a `prober` virtual user or a probe sweep: counted in the probe column, kept out
    /// of the endpoint statistics and error counts (probes are mostly fast refusals that would
    /// flatter the percentiles, and a leak is the probe's verdict, not a service error).
    pub probe: bool,
}

/// The result of one probe attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// The service refused or hid the other tenant's data.
    Held,
    /// Data of another tenant came back; the text says what, for the report.
    Leak(String),
    /// The probe could not conclude (transport error, 5xx, no token).
    Inconclusive(String),
}

/// A create sent with an `Idempotency-Key`, for the acknowledged-write ledger: either the
/// service acknowledged it (2xx with the created id), or no answer said whether it was
/// written (timeout, connection error, 5xx). Writes refused with a 4xx are not reported.
#[derive(Debug, Clone)]
pub struct Write {
    /// The create endpoint.
    pub endpoint: Endpoint,
    /// Index of the writer's tenant in the fixture, when the writer had a session.
    pub tenant: Option<usize>,
    /// The key sent with the request.
    pub idempotency_key: String,
    /// The created id, when acknowledged.
    pub id: Option<String>,
    /// The employee the row belongs to, when the response said.
    pub employee_id: Option<String>,
    /// Whether the service acknowledged the write.
    pub acked: bool,
}

/// Where personas report. Called on the request path: implementations must be cheap and
/// must not block for long.
pub trait RequestSink: Send + Sync {
    /// One finished request.
    fn request(&self, sample: &Sample);
    /// One probe attempt; `kind` groups probes, `name` identifies this one.
    fn probe(&self, kind: &'static str, name: &'static str, verdict: ProbeVerdict);
    /// One ledgered write (see [`Write`]); sinks that keep no ledger ignore it.
    fn write(&self, _write: &Write) {}
}

/// The persona a scenario plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// See the crate docs.
    Employee,
    /// See the crate docs.
    Manager,
    /// See the crate docs.
    HrAdmin,
    /// Cross-tenant prober.
    Prober,
}

impl Persona {
    /// All personas.
    pub const ALL: [Persona; 4] = [
        Persona::Employee,
        Persona::Manager,
        Persona::HrAdmin,
        Persona::Prober,
    ];

    /// Name as in spec files and goose scenario names.
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Employee => "employee",
            Persona::Manager => "manager",
            Persona::HrAdmin => "hr_admin",
            Persona::Prober => "prober",
        }
    }

    /// The account role the persona logs in with (probers use plain employees: the least
    /// privileged account is the most telling one to leak to).
    pub fn role(self) -> Role {
        match self {
            Persona::Employee | Persona::Prober => Role::Employee,
            Persona::Manager => Role::Manager,
            Persona::HrAdmin => Role::HrAdmin,
        }
    }

    /// The persona's share of users in a plan.
    pub fn share(self, shares: &PersonaShares) -> f64 {
        match self {
            Persona::Employee => shares.employee,
            Persona::Manager => shares.manager,
            Persona::HrAdmin => shares.hr_admin,
            Persona::Prober => shares.prober,
        }
    }
}

/// State shared by every virtual user of a run.
pub struct Ctx {
    /// Where samples go.
    pub sink: Arc<dyn RequestSink>,
    /// Tenants and credentials.
    pub fixture: Fixture,
    /// Latest payroll run id per tenant (index like `fixture.tenants`), so employees can
    /// read their payslips of a run an HR admin started.
    pub payroll_runs: Mutex<Vec<Option<String>>>,
    /// Shortest time between two payroll runs started by one HR admin user: payroll is
    /// heavy, rate-limited work that real admins start rarely.
    pub payroll_interval: Duration,
    /// Users started so far per persona (indexed like [`Persona::ALL`]): the k-th user of a
    /// persona gets the k-th account of its role, spread over tenants.
    started: [AtomicUsize; 4],
    /// The open-model scheduler every persona action waits on; `None` in a closed-model run.
    pub arrivals: Option<Arc<arrivals::Arrivals>>,
    /// The cross-tenant sweeps of the setup and the end, with the payroll completion check
    /// (`isolation_sweeps = false` in a spec turns them off); the prober persona still probes.
    pub sweeps: bool,
    /// What the prober persona learns in its first sweep: an employee token per tenant (for
    /// the cache-bleed probe under load, which needs two tenants one after the other) and
    /// the payroll run each tenant started before the load (which must have completed by its
    /// end).
    probe_state: Mutex<ProbeState>,
    /// The part of a split plan this process runs (`--shard`): its users' personas and
    /// accounts come from their global indices, so the parts never share an account.
    shard: Option<ShardPlan>,
}

/// See [`Ctx::probe_state`].
#[derive(Debug, Default)]
pub(crate) struct ProbeState {
    /// An employee token per tenant, when its login worked.
    pub tokens: Vec<Option<String>>,
    /// The payroll run each tenant started before the load.
    pub setup_runs: Vec<Option<String>>,
    /// Probes sent so far (gives each cache-bleed probe a path of its own).
    pub sent: usize,
}

impl Ctx {
    /// Context for a run.
    pub fn new(sink: Arc<dyn RequestSink>, fixture: Fixture) -> Ctx {
        let tenants = fixture.tenants.len();
        Ctx {
            sink,
            fixture,
            payroll_runs: Mutex::new(vec![None; tenants]),
            payroll_interval: Duration::from_secs(30),
            started: Default::default(),
            arrivals: None,
            sweeps: true,
            probe_state: Mutex::default(),
            shard: None,
        }
    }

    /// The context of part `shard` of a split plan.
    #[must_use]
    pub fn with_shard(mut self, shard: Option<ShardPlan>) -> Ctx {
        self.shard = shard;
        self
    }

    /// The global index of goose user `local` of this process (itself unless sharded): the
    /// origin of the counter its created names come from, unique over all parts.
    pub fn global_user(&self, local: usize) -> usize {
        self.shard
            .as_ref()
            .map_or(local, |s| s.shard.global_user(local))
    }

    /// The same context running the open model: every persona action waits for its
    /// scheduled start.
    pub fn with_arrivals(mut self, arrivals: Arc<arrivals::Arrivals>) -> Ctx {
        self.arrivals = Some(arrivals);
        self
    }

    /// The prober's state, whatever a panicking holder left behind.
    pub(crate) fn probe_state(&self) -> std::sync::MutexGuard<'_, ProbeState> {
        self.probe_state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next account index for a user of `persona`.
    pub fn next_index(&self, persona: Persona) -> usize {
        let slot = Persona::ALL.iter().position(|p| *p == persona).unwrap_or(0);
        let local = self.started[slot].fetch_add(1, Ordering::Relaxed);
        match &self.shard {
            // Past the planned users (cannot happen at the peak); still distinct per part.
            Some(s) => s.accounts[slot]
                .get(local)
                .copied()
                .unwrap_or_else(|| s.shard.global_user(local)),
            None => local,
        }
    }

    /// The latest payroll run of tenant `t`.
    pub fn payroll_run(&self, t: usize) -> Option<String> {
        let runs = self.payroll_runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.get(t).cloned().flatten()
    }

    /// Remember a payroll run of tenant `t`.
    pub fn set_payroll_run(&self, t: usize, id: String) {
        let mut runs = self.payroll_runs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = runs.get_mut(t) {
            *slot = Some(id);
        }
    }
}

/// Why the personas could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// goose refused a weight.
    #[error("goose refused a persona's weight")]
    Goose(#[from] Box<GooseError>),
}

/// Wraps an `async fn(Arc<Ctx>, &mut GooseUser) -> TransactionResult` as a goose transaction,
/// one persona action; in an open-model run each such action is one scheduled iteration and
/// waits for its start ([`arrivals::gate`]). `@ungated` is for what is not an iteration: the
/// login of a pre-allocated user (`on_start`) and the final sweep.
macro_rules! transaction_with {
    ($ctx:expr, $f:path, $name:expr) => {{
        let ctx = ::std::sync::Arc::clone(&$ctx);
        ::goose::goose::Transaction::new(::std::sync::Arc::new(move |user| {
            let ctx = ::std::sync::Arc::clone(&ctx);
            ::std::boxed::Box::pin(async move {
                let arrivals = ctx.arrivals.clone();
                $crate::personas::arrivals::gate(arrivals.as_deref(), $f(ctx, user)).await
            })
        }))
        .set_name($name)
    }};
    (@ungated $ctx:expr, $f:path, $name:expr) => {{
        let ctx = ::std::sync::Arc::clone(&$ctx);
        ::goose::goose::Transaction::new(::std::sync::Arc::new(move |user| {
            ::std::boxed::Box::pin($f(::std::sync::Arc::clone(&ctx), user))
        }))
        .set_name($name)
    }};
}
pub(crate) use transaction_with;

/// Goose scenario weights from persona shares: integers in 1..=1000 with the same ratios;
/// personas with a zero share (or whose role no tenant has) are left out.
pub fn weights(shares: &PersonaShares, fixture: &Fixture) -> Vec<(Persona, usize)> {
    Persona::ALL
        .into_iter()
        .filter(|p| fixture.has_role(p.role()))
        .filter_map(|p| {
            let w = (p.share(shares) * 1000.0).round();
            (w >= 1.0).then_some((p, w as usize))
        })
        .collect()
}

/// Goose weights equal to a part's persona counts: goose deals users cyclically over its
/// weighted list, so at the peak each persona runs exactly its count.
fn counted_weights(counts: &[u32; 4], fixture: &Fixture) -> Vec<(Persona, usize)> {
    Persona::ALL
        .into_iter()
        .zip(counts)
        .filter(|(p, c)| **c > 0 && fixture.has_role(p.role()))
        .map(|(p, c)| (p, *c as usize))
        .collect()
}

/// The goose scenarios of a run, one per persona with a non-zero weight, each waiting
/// `think` (min, max) between its transactions.
pub fn scenarios(
    ctx: &Arc<Ctx>,
    shares: &PersonaShares,
    think: (Duration, Duration),
) -> Result<Vec<Scenario>, PersonaError> {
    let mut out = Vec::new();
    let weights = match &ctx.shard {
        Some(s) => counted_weights(&s.personas, &ctx.fixture),
        None => weights(shares, &ctx.fixture),
    };
    for (persona, weight) in weights {
        let transactions = match persona {
            Persona::Employee => employee::transactions(ctx),
            Persona::Manager => manager::transactions(ctx),
            Persona::HrAdmin => hr_admin::transactions(ctx),
            Persona::Prober => prober::transactions(ctx),
        };
        let mut scenario = Scenario::new(persona.as_str())
            .set_weight(weight)
            .map_err(Box::new)?
            .set_wait_time(think.0, think.1)
            .map_err(Box::new)?;
        for t in transactions {
            scenario = scenario.register_transaction(t);
        }
        out.push(scenario);
    }
    Ok(out)
}

/// Runs once before any virtual user starts: one payroll run per tenant (so employees have
/// payslips to read from the start) and a full probe sweep. `first` runs before that, after
/// goose has finished its own start-up (the harness re-applies its log settings there,
/// which goose's logger initialisation overrides).
pub fn test_start(ctx: &Arc<Ctx>, first: fn()) -> Transaction {
    let ctx = Arc::clone(ctx);
    Transaction::new(Arc::new(move |user| {
        first();
        Box::pin(prober::setup_and_sweep(Arc::clone(&ctx), user))
    }))
    .set_name("setup")
}

/// Runs once after every virtual user stopped: the probe sweep again, now over data the
/// personas wrote.
pub fn test_stop(ctx: &Arc<Ctx>) -> Transaction {
    transaction_with!(@ungated ctx, prober::final_sweep, "final sweep")
}
