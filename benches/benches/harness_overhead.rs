//! Harness overhead: the instrumented generator (every request through the personas' call
//! path into loadgen's recorder) against a plain goose attack, on the same trivial endpoint.
//! Target: instrumented / plain req/s ≥ 0.9.
//!
//! A throughput comparison, not a latency distribution, so a plain `main` rather than
//! criterion. The server runs on its own thread and runtime pinned to CPU 0; the generator's
//! runtime (one worker) is pinned to CPU 1, so each side has one core. Run it alone:
//!
//! ```text
//! cargo bench -p gauntlet-benches --bench harness_overhead
//! HARNESS_BENCH_SECS=10 HARNESS_BENCH_USERS=16 cargo bench -p gauntlet-benches --bench harness_overhead
//! ```
//!
//! (`taskset -c 0,1` in front works too; the bench pins its own threads inside that set.)

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gauntlet_scenarios::hrms::{Endpoint, Fixture};
use gauntlet_scenarios::personas::call::{self, Call};
use gauntlet_scenarios::personas::{Ctx, RequestSink};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

// The recorder the harness really uses, so the overhead measured is the overhead shipped.
use gauntlet_loadgen::run::recorder::Recorder;

/// The instrumented transaction's context (goose transactions are plain functions).
static CTX: OnceLock<Arc<Ctx>> = OnceLock::new();

const PATH: &str = "/departments";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Pins the calling thread (and threads it spawns later) to `cpu`, when that CPU exists.
fn pin(cpu: usize) -> bool {
    let mut set = CpuSet::new();
    set.set(cpu).is_ok() && sched_setaffinity(Pid::from_raw(0), &set).is_ok()
}

/// A trivial endpoint on 127.0.0.1:0, served from its own thread and runtime.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pinned = pin(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(PATH, axum::routing::get(|| async { "[]" }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send((listener.local_addr().expect("addr"), pinned))
                .expect("report address");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let (addr, pinned) = rx.recv().expect("server started");
    if !pinned {
        eprintln!("warning: could not pin the server to CPU 0");
    }
    addr
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

/// CPU seconds used so far by the process (server and generator together).
fn cpu_secs() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        s(u.user_time()) + s(u.system_time())
    })
}

/// Requests per second of one attack (goose's request count over goose's duration) and the
/// process's CPU use meanwhile, in cores: near 2.0 means both sides were busy, so the
/// generator, not only the server, set the pace.
async fn attack(host: &str, users: u64, secs: u64, t: Transaction) -> (f64, f64) {
    let client = goose::client::GooseClientBuilder::new().without_cookies();
    let users = users.to_string();
    let plan = format!("{users},0;{users},{secs};0,0");
    let attack = GooseAttack::initialize_with_config(GooseConfiguration::default())
        .expect("goose")
        .set_client_builder_without_cookies(client)
        .expect("client")
        .register_scenario(scenario!("bench").register_transaction(t));
    let defaults: [(GooseDefault, &str); 2] =
        [(GooseDefault::Host, host), (GooseDefault::TestPlan, &plan)];
    let mut attack = attack;
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
    let attack = *attack
        .set_default(GooseDefault::Quiet, 1usize)
        .expect("default");
    let (cpu0, wall0) = (cpu_secs(), std::time::Instant::now());
    let metrics = attack.execute().await.expect("attack");
    let cores = (cpu_secs() - cpu0) / wall0.elapsed().as_secs_f64();
    let count: usize = metrics
        .requests
        .values()
        .map(|r| r.success_count + r.fail_count)
        .sum();
    (count as f64 / metrics.duration.max(1) as f64, cores)
}

fn main() {
    // `cargo bench` passes `--bench`; this bench takes its knobs from the environment.
    let secs = env_u64("HARNESS_BENCH_SECS", 5).clamp(1, 60);
    let users = env_u64("HARNESS_BENCH_USERS", 8).clamp(1, 256);
    let addr = start_server();
    let host = format!("http://{addr}");
    if !pin(1) {
        eprintln!("warning: could not pin the generator to CPU 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("generator runtime");
    let recorder = Arc::new(Recorder::new(0, false));
    let sink: Arc<dyn RequestSink> = recorder.clone();
    let _ = CTX.set(Arc::new(Ctx::new(sink, Fixture::default())));
    log::set_max_level(log::LevelFilter::Error);
    let (plain_rps, plain_cores) = rt.block_on(attack(&host, users, secs, transaction!(plain)));
    // A pause so the server's sockets from the first attack have drained.
    std::thread::sleep(Duration::from_millis(500));
    let (inst_rps, inst_cores) =
        rt.block_on(attack(&host, users, secs, transaction!(instrumented)));
    let (recorded, errors) = recorder.totals();
    println!("harness_overhead: {users} users, {secs} s each, server on CPU 0, generator on CPU 1");
    println!("plain goose:   {plain_rps:.0} req/s, process CPU {plain_cores:.2} cores");
    println!(
        "instrumented:  {inst_rps:.0} req/s, process CPU {inst_cores:.2} cores \
         ({recorded} recorded, {errors} errors, {:.0} ns/request recording)",
        recorder.overhead_ns_per_request()
    );
    println!(
        "instrumented/plain req/s ratio: {:.2} (target ≥ 0.90)",
        inst_rps / plain_rps.max(1.0)
    );
}
