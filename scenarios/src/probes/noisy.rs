//! Rate-limit isolation (noisy neighbour): tenant A floods until it is limited; meanwhile
//! tenant B's requests keep succeeding and B's p95 stays within a bound of its baseline.
//!
//! A is the last probed tenant (the local service seeds tiers largest first, so it is the
//! smallest plan), B the first. The flood is bounded in requests and time and stops as soon
//! as B's measurement is done.
//!
//! The flood must outrun A's bucket (a professional plan refills 250 reads a second on top
//! of a burst of 500) on whatever machine the probe runs: a flood of directory reads did so
//! on a quiet two-core machine and fell short on a busy one, leaving the probe with nothing
//! to isolate from. So it sends the cheapest request the limiter still charges: a read with
//! a malformed id, refused 400 by the handler after the guard took its token, without a
//! query. And it floods until A is limited, within [`LIMIT_DEADLINE`], rather than for a
//! fixed share of its time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Prober, Req};
use crate::hrms::Role;
use crate::personas::ProbeVerdict;

const KIND: &str = "rate_limit_isolation";
const NAME: &str = "tenant B unaffected while tenant A floods";
/// B's requests for the baseline and again during the flood.
const SAMPLES: usize = 20;
const SPACING: Duration = Duration::from_millis(50);
/// Concurrent flooding connections: enough to keep the service busy while each waits for
/// its answer.
const FLOOD_WORKERS: usize = 8;
/// Flood bounds: per worker, and in time.
const FLOOD_WORKERS_REQUESTS: u64 = 4_000;
const FLOOD_DEADLINE: Duration = Duration::from_secs(15);
/// How long the flood may take to get A limited before B is measured anyway (and the probe
/// is inconclusive).
const LIMIT_DEADLINE: Duration = Duration::from_secs(10);
/// A read route with an id the handler refuses before any query.
const CHEAP_READ: &str = "/employees/not-an-id";
/// B's p95 during the flood may be this many times its baseline, or the baseline plus
/// [`SLACK`], whichever is larger (two cores share the flood, the service and the probe).
const FACTOR: u32 = 10;
const SLACK: Duration = Duration::from_millis(250);

pub(super) async fn run(p: &Prober) {
    let n = p.tenants();
    if n < 2 {
        return;
    }
    let (a, b) = (n - 1, 0);
    let b_req = Req::get("/employees?per_page=5", format!("tenant #{b} employee"))
        .token(p.token(b, Role::Employee));
    let a_req =
        Req::get(CHEAP_READ, format!("tenant #{a} employee")).token(p.token(a, Role::Employee));
    let Some(baseline) = measure(p, &b_req).await.filter(|m| m.refused == 0) else {
        p.report(
            KIND,
            NAME,
            ProbeVerdict::Inconclusive(format!("{b_req}: baseline not measurable")),
        );
        return;
    };
    let stop = AtomicBool::new(false);
    let limited = AtomicU64::new(0);
    let sent = AtomicU64::new(0);
    let started = Instant::now();
    let flood = async {
        let worker = || async {
            for _ in 0..FLOOD_WORKERS_REQUESTS {
                if stop.load(Ordering::Relaxed) || started.elapsed() > FLOOD_DEADLINE {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                if p.send_once(&a_req).await.is_some_and(|r| r.status == 429) {
                    limited.fetch_add(1, Ordering::Relaxed);
                }
            }
        };
        futures::future::join_all((0..FLOOD_WORKERS).map(|_| worker())).await;
    };
    let during = async {
        // Let the flood reach A's limit first.
        while limited.load(Ordering::Relaxed) == 0 && started.elapsed() < LIMIT_DEADLINE {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let m = measure(p, &b_req).await;
        stop.store(true, Ordering::Relaxed);
        m
    };
    let ((), during) = tokio::join!(flood, during);
    let (sent, limited) = (sent.into_inner(), limited.into_inner());
    let flood_desc = format!(
        "{a_req} × {sent} on {FLOOD_WORKERS} connections in {:.1} s ({limited} answered 429)",
        started.elapsed().as_secs_f64()
    );
    let verdict = match during {
        _ if limited == 0 => ProbeVerdict::Inconclusive(format!(
            "{flood_desc}: tenant #{a} was never limited, nothing to isolate from"
        )),
        None => ProbeVerdict::Inconclusive(format!("{b_req}: no answers during the flood")),
        Some(m) if m.refused > 0 => ProbeVerdict::Leak(format!(
            "{b_req} → {} of {SAMPLES} refused (429/503, expected 200) while {flood_desc}",
            m.refused
        )),
        Some(m) if m.p95 > (baseline.p95 * FACTOR).max(baseline.p95 + SLACK) => {
            ProbeVerdict::Leak(format!(
                "{b_req}: p95 {:?} during the flood vs {:?} baseline (bound ×{FACTOR} or +{SLACK:?}) while {flood_desc}",
                m.p95, baseline.p95
            ))
        }
        Some(_) => ProbeVerdict::Held,
    };
    p.report(KIND, NAME, verdict);
}

struct Measured {
    p95: Duration,
    refused: usize,
}

/// [`SAMPLES`] spaced requests, unretried: their p95 and how many were refused.
async fn measure(p: &Prober, req: &Req) -> Option<Measured> {
    let mut latencies = Vec::with_capacity(SAMPLES);
    let mut refused = 0;
    for _ in 0..SAMPLES {
        if let Some(r) = p.send_once(req).await {
            if r.status == 429 || r.status == 503 {
                refused += 1;
            }
            latencies.push(r.latency);
        }
        tokio::time::sleep(SPACING).await;
    }
    if latencies.is_empty() {
        return None;
    }
    latencies.sort();
    let at = (latencies.len() * 95).div_ceil(100).saturating_sub(1);
    Some(Measured {
        p95: latencies[at],
        refused,
    })
}
