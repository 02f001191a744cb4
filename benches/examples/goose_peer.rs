//! Goose in the peer comparison: one attack, plain or through the harness's instrumented call
//! path, on a one-worker runtime (`taskset -c 1` gives it one core), printed as one JSON line.
//!
//! ```text
//! goose_peer plain|instrumented URL USERS SECS [RATE]
//! ```
//!
//! `RATE` caps the attack's requests per second (goose's `--throttle-requests`); the latency
//! figures are goose's own (whole milliseconds), the CPU this process's.

#[path = "../benches/generator/mod.rs"]
mod generator;

use generator::{Flavour, attack, install_recorder};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: goose_peer plain|instrumented URL USERS SECS [RATE]";
    let (flavour, url, users, secs) = match args.as_slice() {
        [f, u, n, s, ..] => (f.as_str(), u.clone(), n.parse(), s.parse()),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let flavour = match flavour {
        "plain" => Flavour::Plain,
        "instrumented" => Flavour::Instrumented,
        other => {
            eprintln!("unknown flavour {other}; {usage}");
            std::process::exit(2);
        }
    };
    let (Ok(users), Ok(secs)) = (users, secs) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let rate = args.get(4).and_then(|r| r.parse().ok());
    if flavour == Flavour::Instrumented {
        install_recorder();
    }
    log::set_max_level(log::LevelFilter::Error);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let o = rt.block_on(attack(&url, users, secs, flavour, rate));
    println!(
        "{{\"requests\":{},\"secs\":{},\"cpu_secs\":{:.4},\"p50_ms\":{},\"p99_ms\":{}}}",
        o.requests, o.secs, o.cpu_secs, o.p50_ms, o.p99_ms
    );
}
