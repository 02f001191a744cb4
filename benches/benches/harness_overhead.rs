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

mod generator;

use std::time::Duration;

use generator::{Flavour, attack, install_recorder, pin, start_server};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; this bench takes its knobs from the environment.
    let secs = env_u64("HARNESS_BENCH_SECS", 5).clamp(1, 60);
    let users = env_u64("HARNESS_BENCH_USERS", 8).clamp(1, 256);
    let addr = start_server("127.0.0.1:0", 0);
    let host = format!("http://{addr}");
    if !pin(1) {
        eprintln!("warning: could not pin the generator to CPU 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("generator runtime");
    let recorder = install_recorder();
    log::set_max_level(log::LevelFilter::Error);
    // The process's CPU over the attack, in cores: near 2.0 means both sides were busy, so
    // the generator, not only the server, set the pace.
    let cores = |o: &generator::Outcome| o.cpu_secs / o.secs;
    let plain = rt.block_on(attack(&host, users, secs, Flavour::Plain, None));
    // A pause so the server's sockets from the first attack have drained.
    std::thread::sleep(Duration::from_millis(500));
    let inst = rt.block_on(attack(&host, users, secs, Flavour::Instrumented, None));
    let (recorded, errors) = recorder.totals();
    println!("harness_overhead: {users} users, {secs} s each, server on CPU 0, generator on CPU 1");
    println!(
        "plain goose:   {:.0} req/s, process CPU {:.2} cores",
        plain.rps(),
        cores(&plain)
    );
    println!(
        "instrumented:  {:.0} req/s, process CPU {:.2} cores \
         ({recorded} recorded, {errors} errors, {:.0} ns/request recording)",
        inst.rps(),
        cores(&inst),
        recorder.overhead_ns_per_request()
    );
    println!(
        "instrumented/plain req/s ratio: {:.2} (target ≥ 0.90)",
        inst.rps() / plain.rps().max(1.0)
    );
}
