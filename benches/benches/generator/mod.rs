//! Goose as the benches and the peer comparison drive it: a trivial endpoint to aim at, a plain
//! goose transaction and the harness's instrumented one (the personas' call path into loadgen's
//! recorder), one attack of either, and the CPU a process used.
//!
//! Shared by `benches/harness_overhead.rs` (both attacks in one process, pinned) and the
//! examples `peer_target` / `goose_peer`, which `benches/peers/run.sh` runs as separate
//! processes beside wrk, oha, k6 and Locust.

#![allow(dead_code)] // each user takes the part it needs

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use gauntlet_scenarios::hrms::{Endpoint, Fixture};
use gauntlet_scenarios::personas::call::{self, Call};
use gauntlet_scenarios::personas::{Ctx, RequestSink};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

// The recorder the harness really uses, so the overhead measured is the overhead shipped.
pub use gauntlet_loadgen::run::recorder::Recorder;

/// The instrumented transaction's context (goose transactions are plain functions).
static CTX: OnceLock<Arc<Ctx>> = OnceLock::new();

/// The one path every generator asks for.
pub const PATH: &str = "/departments";

/// Pins the calling thread (and threads it spawns later) to `cpu`, when that CPU exists.
pub fn pin(cpu: usize) -> bool {
    let mut set = CpuSet::new();
    set.set(cpu).is_ok() && sched_setaffinity(Pid::from_raw(0), &set).is_ok()
}

/// Serves `GET /departments` → `[]` on `listener` with one current-thread runtime (one core).
pub async fn serve_trivial(listener: tokio::net::TcpListener) {
    let app = axum::Router::new().route(PATH, axum::routing::get(|| async { "[]" }));
    axum::serve(listener, app).await.expect("serve");
}

/// The trivial endpoint on `bind`, served from its own thread and runtime pinned to `cpu`.
pub fn start_server(bind: &str, cpu: usize) -> SocketAddr {
    let bind = bind.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pinned = pin(cpu);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
            tx.send((listener.local_addr().expect("addr"), pinned))
                .expect("report address");
            serve_trivial(listener).await;
        });
    });
    let (addr, pinned) = rx.recv().expect("server started");
    if !pinned {
        eprintln!("warning: could not pin the server to CPU {cpu}");
    }
    addr
}

/// Installs the recorder the instrumented transaction feeds; returns it.
pub fn install_recorder() -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::new(0, false));
    let sink: Arc<dyn RequestSink> = recorder.clone();
    let _ = CTX.set(Arc::new(Ctx::new(sink, Fixture::default())));
    recorder
}

async fn plain(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get(PATH).await?;
    Ok(())
}

async fn instrumented(user: &mut GooseUser) -> TransactionResult {
    if let Some(ctx) = CTX.get() {
        let call = Call {
            endpoint: Endpoint::ListDepartments,
            path: PATH,
            token: None,
            body: None,
            expected: &[200],
        };
        let _reply = call::send(user, ctx, call).await;
    }
    Ok(())
}

/// Which transaction an attack repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `user.get(PATH)`: goose alone.
    Plain,
    /// The personas' call path into the recorder ([`install_recorder`] first).
    Instrumented,
}

/// CPU seconds used so far by this process.
pub fn cpu_secs() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        s(u.user_time()) + s(u.system_time())
    })
}

/// What one attack did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Requests sent (goose's count).
    pub requests: usize,
    /// Goose's duration of the attack, seconds.
    pub secs: f64,
    /// This process's CPU seconds meanwhile.
    pub cpu_secs: f64,
    /// Goose's own p50 and p99 of the request, milliseconds (from its rounded timings).
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
}

impl Outcome {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }
}

/// One attack of `users` users for `secs` seconds against `host` (`http://ADDR`), repeating
/// `flavour`; `throttle` caps the whole attack's requests per second (goose's own
/// `--throttle-requests`), or none.
pub async fn attack(
    host: &str,
    users: u64,
    secs: u64,
    flavour: Flavour,
    throttle: Option<usize>,
) -> Outcome {
    let client = goose::client::GooseClientBuilder::new().without_cookies();
    let users = users.to_string();
    let plan = format!("{users},0;{users},{secs};0,0");
    let transaction = match flavour {
        Flavour::Plain => transaction!(plain),
        Flavour::Instrumented => transaction!(instrumented),
    };
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())
        .expect("goose")
        .set_client_builder_without_cookies(client)
        .expect("client")
        .register_scenario(scenario!("bench").register_transaction(transaction));
    let defaults: [(GooseDefault, &str); 2] =
        [(GooseDefault::Host, host), (GooseDefault::TestPlan, &plan)];
    for (key, value) in defaults {
        attack = *attack.set_default(key, value).expect("default");
    }
    for key in [
        GooseDefault::NoTelnet,
        GooseDefault::NoPrintMetrics,
        GooseDefault::NoErrorSummary,
        GooseDefault::NoTransactionMetrics,
        GooseDefault::NoScenarioMetrics,
    ] {
        attack = *attack.set_default(key, true).expect("default");
    }
    if let Some(rate) = throttle {
        attack = *attack
            .set_default(GooseDefault::ThrottleRequests, rate)
            .expect("default");
    }
    let attack = *attack
        .set_default(GooseDefault::Quiet, 1usize)
        .expect("default");
    let cpu0 = cpu_secs();
    let metrics = attack.execute().await.expect("attack");
    let cpu = cpu_secs() - cpu0;
    let mut requests = 0;
    let mut times = std::collections::BTreeMap::<u64, usize>::new();
    for r in metrics.requests.values() {
        requests += r.success_count + r.fail_count;
        for (us, n) in &r.raw_data.times_us {
            *times.entry(*us).or_default() += n;
        }
    }
    let quantile = |q: f64| {
        let rank = (q * requests as f64).ceil() as usize;
        let mut seen = 0;
        for (us, n) in &times {
            seen += n;
            if seen >= rank.max(1) {
                return *us as f64 / 1000.0;
            }
        }
        0.0
    };
    Outcome {
        requests,
        secs: metrics.duration.max(1) as f64,
        cpu_secs: cpu,
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
    }
}
