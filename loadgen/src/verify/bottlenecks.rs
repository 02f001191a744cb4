//! `latency.bottlenecks`: short, bounded bursts on the two hottest reads — the employee list
//! (16 in flight) and the department list (4 in flight) — the hottest write, clock-in (by up
//! to 8 employees of the first tenant at once, each its own), and, on the local stack only,
//! paced payroll runs, with the run's own diagnosis beside them ([`crate::run::diagnosis`]:
//! the service's per-route costs before and after, the pool and queue gauges, and Postgres's
//! view when verify started it). A cause the diagnosis names under bursts this small is a
//! bottleneck the service will hit at launch: an N+1 query, a pool too small for a handful
//! of concurrent reads, a blocking call on the runtime, clock-ins queued behind one locked
//! row, payroll jobs enqueued faster than the workers drain them.
//!
//! The bursts spend part of the first tenant's budget (at most [`LIST_REQUESTS`] +
//! [`DEPARTMENT_REQUESTS`] reads, [`CLOCK_IN_REQUESTS`] + [`PAYROLL_RUNS`] writes); a tenant
//! whose plan refuses a tenth of them is too small to judge by, and the check is skipped
//! rather than judged on 429s. Payroll runs are not sent to a `--target`: each one computes
//! and stores a payslip for every employee of the tenant, which is verify's to do only to a
//! stack it made. Clock-ins leave at most one open shift per employee (the rest are refused
//! 409 after the same work, which is what the burst measures).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gauntlet_reports::model::DiagnosisSection;
use gauntlet_scenarios::hrms::Role;
use reqwest::StatusCode;

use super::Context;
use super::support::Finding;
use crate::run::diagnosis;

/// The employee list: requests, and how many at once.
/// Enough that the burst outlasts several of the sampler's readings (four a second) even on
/// a fast machine: a starved pool is seen by readings — two or more, and 5 % of all the
/// check's — not inferred from a long wait. (240 lists took half a second under a starved
/// pool: one full reading of 27, which a login storm also gives a clean pool.)
const LIST_REQUESTS: usize = 480;
/// Twice the in-flight of a modest launch: enough that a pool of two runs out on a fast
/// machine, far below the reference service's pool of twenty.
const LIST_IN_FLIGHT: usize = 16;
/// The department list.
const DEPARTMENT_REQUESTS: usize = 60;
const DEPARTMENT_IN_FLIGHT: usize = 4;
/// Clock-ins, and how many employees at most send them (one sender each, so no two
/// requests of the clean service wait on one employee's open-shift row).
const CLOCK_IN_REQUESTS: usize = 120;
const CLOCK_IN_SENDERS: usize = 8;
/// Payroll runs, two at once, each sender pausing between them: five a second, which the
/// clean workers drain as they come.
const PAYROLL_RUNS: usize = 30;
const PAYROLL_PAUSE: Duration = Duration::from_millis(400);
/// Each burst ends by this deadline even if requests are left.
const BURST_TIME: Duration = Duration::from_secs(6);

/// How a burst went: answers by class.
#[derive(Debug, Default, Clone, Copy)]
pub struct Burst {
    /// Requests answered (any status).
    pub answered: usize,
    /// Of those, answered 429.
    pub refused: usize,
}

/// How many requests a burst sends, how, and for how long at most.
#[derive(Debug, Clone, Copy)]
pub struct BurstShape {
    /// Requests in all.
    pub requests: usize,
    /// At once.
    pub in_flight: usize,
    /// The burst ends by then even if requests are left.
    pub within: Duration,
    /// Each sender's pause after an answer (zero: back to back).
    pub pause: Duration,
}

/// Sends what `request` builds (given the sender's index, `0..in_flight`), as `shape` says.
/// Every request times out after 5 s.
pub async fn burst<F>(shape: BurstShape, request: F) -> Burst
where
    F: Fn(usize) -> reqwest::RequestBuilder + Clone + Send + 'static,
{
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + shape.within;
    let mut tasks = tokio::task::JoinSet::new();
    for sender in 0..shape.in_flight {
        let (sent, request) = (Arc::clone(&sent), request.clone());
        tasks.spawn(async move {
            let mut seen = Burst::default();
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < shape.requests
            {
                let answer = request(sender).timeout(Duration::from_secs(5)).send().await;
                if let Ok(response) = answer {
                    seen.answered += 1;
                    seen.refused += usize::from(response.status() == StatusCode::TOO_MANY_REQUESTS);
                    // Read the body so the connection goes back to the pool.
                    let _ = response.bytes().await;
                }
                tokio::time::sleep(shape.pause).await;
            }
            seen
        });
    }
    let mut total = Burst::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(seen) = done {
            total.answered += seen.answered;
            total.refused += seen.refused;
        }
    }
    total
}

pub async fn bottlenecks(ctx: &Context<'_>) -> Finding {
    let home = match ctx.home() {
        Ok(home) => home,
        Err(e) => return Finding::skip(format!("{e:#}")),
    };
    let token = match ctx.token(home, Role::HrAdmin).await {
        Ok(token) => token,
        Err(e) => return Finding::skip(format!("needs an HR admin in the credentials: {e:#}")),
    };
    let employees = match ctx.tokens(home, Role::Employee, CLOCK_IN_SENDERS).await {
        Ok(tokens) => tokens,
        Err(e) => return Finding::fail(format!("an employee could not log in: {e:#}"), vec![]),
    };
    let postgres = ctx
        .local
        .as_ref()
        .and_then(|l| l.stack())
        .map(|s| s.postgres.url().to_string());
    let local = ctx.local.is_some();
    let sampler =
        diagnosis::Sampler::start(&ctx.base_url, postgres, 5 * BURST_TIME.as_secs()).await;
    let send = |method: reqwest::Method, path: &str, tokens: Vec<String>| {
        let client = ctx.client().clone();
        let url = format!("{}{path}", ctx.base_url);
        move |sender: usize| {
            let request = client
                .request(method.clone(), &url)
                .bearer_auth(&tokens[sender % tokens.len()]);
            if url.ends_with("/payroll/runs") {
                request.json(&serde_json::json!({
                    "period_start": "2026-01-01", "period_end": "2026-01-31"
                }))
            } else {
                request
            }
        }
    };
    let shape = |requests, in_flight| BurstShape {
        requests,
        in_flight,
        within: BURST_TIME,
        pause: Duration::ZERO,
    };
    let hr = vec![token];
    let mut bursts = vec![
        (
            format!("GET /employees?per_page=50, {LIST_IN_FLIGHT} in flight"),
            burst(
                shape(LIST_REQUESTS, LIST_IN_FLIGHT),
                send(reqwest::Method::GET, "/employees?per_page=50", hr.clone()),
            )
            .await,
        ),
        (
            format!("GET /departments, {DEPARTMENT_IN_FLIGHT} in flight"),
            burst(
                shape(DEPARTMENT_REQUESTS, DEPARTMENT_IN_FLIGHT),
                send(reqwest::Method::GET, "/departments", hr.clone()),
            )
            .await,
        ),
    ];
    if !employees.is_empty() {
        let senders = employees.len();
        bursts.push((
            format!("POST /attendance/clock-in, {senders} employees at once"),
            burst(
                shape(CLOCK_IN_REQUESTS, senders),
                send(reqwest::Method::POST, "/attendance/clock-in", employees),
            )
            .await,
        ));
    }
    if local {
        let paced = BurstShape {
            pause: PAYROLL_PAUSE,
            ..shape(PAYROLL_RUNS, 2)
        };
        bursts.push((
            "POST /payroll/runs, 2 at once, 5 a second".to_owned(),
            burst(paced, send(reqwest::Method::POST, "/payroll/runs", hr)).await,
        ));
    }
    let section = sampler.finish().await;
    judge(&section, &bursts)
}

fn judge(section: &DiagnosisSection, bursts: &[(String, Burst)]) -> Finding {
    if !section.enabled {
        return Finding::skip("the service exports no per-route costs (hrms_route_*)");
    }
    let answered: usize = bursts.iter().map(|(_, b)| b.answered).sum();
    let refused: usize = bursts.iter().map(|(_, b)| b.refused).sum();
    if answered == 0 {
        return Finding::fail("no request of the bursts was answered", Vec::new());
    }
    if refused * 10 > answered {
        return Finding::skip(format!(
            "the first tenant's plan refused {refused} of {answered} requests (429): too small \
             a budget to judge latency by"
        ));
    }
    let mut evidence: Vec<String> = bursts
        .iter()
        .map(|(what, b)| format!("{what}: {} answered", b.answered))
        .collect();
    for e in section.endpoints.iter().filter(|e| {
        [
            "GET /employees",
            "GET /departments",
            "POST /attendance/clock-in",
            "POST /payroll/runs",
        ]
        .contains(&e.name.as_str())
    }) {
        evidence.push(format!(
            "{}: mean {:.1} ms, DB {:.1} ms, pool wait {:.1} ms, Redis {:.1} ms, {:.1} statements per request",
            e.name,
            e.mean_us as f64 / 1e3,
            e.db_us as f64 / 1e3,
            e.pool_wait_us as f64 / 1e3,
            e.redis_us as f64 / 1e3,
            e.queries_per_request
        ));
    }
    if section.causes.is_empty() {
        Finding::pass("no cause dominates a burst", evidence)
    } else {
        evidence.extend(section.causes.iter().cloned());
        Finding::fail(section.causes.join("; "), evidence)
    }
}
