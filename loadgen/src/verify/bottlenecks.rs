//! `latency.bottlenecks`: a short, bounded burst on the two hottest reads — the employee list
//! (16 in flight) and the department list (4 in flight) — with the run's own diagnosis beside
//! it ([`crate::run::diagnosis`]: the service's per-route costs before and after, the pool
//! and queue gauges, and Postgres's view when verify started it). A cause the diagnosis
//! names under a burst this small is a bottleneck the service will hit at launch: an N+1
//! query, a pool too small for a handful of concurrent reads, a blocking call on the runtime.
//!
//! The burst spends part of the first tenant's read budget (at most [`LIST_REQUESTS`] +
//! [`DEPARTMENT_REQUESTS`] reads); a tenant whose plan refuses a tenth of it is too small to
//! judge by, and the check is skipped rather than judged on 429s.

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
/// Enough that the burst outlasts a few of the sampler's readings (four a second) even on a
/// fast machine: a starved pool is seen by a reading, not inferred from a long wait.
const LIST_REQUESTS: usize = 240;
/// Twice the in-flight of a modest launch: enough that a pool of two runs out on a fast
/// machine, far below the reference service's pool of twenty.
const LIST_IN_FLIGHT: usize = 16;
/// The department list.
const DEPARTMENT_REQUESTS: usize = 60;
const DEPARTMENT_IN_FLIGHT: usize = 4;
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
    let token = match ctx.home() {
        Ok(home) => ctx.token(home, Role::HrAdmin).await,
        Err(e) => Err(e),
    };
    let token = match token {
        Ok(token) => token,
        Err(e) => return Finding::skip(format!("needs an HR admin in the credentials: {e:#}")),
    };
    let postgres = ctx
        .local
        .as_ref()
        .and_then(|l| l.stack())
        .map(|s| s.postgres.url().to_string());
    let sampler =
        diagnosis::Sampler::start(&ctx.base_url, postgres, 2 * BURST_TIME.as_secs()).await;
    let get = |path: &str| {
        let (client, token) = (ctx.client().clone(), token.clone());
        let url = format!("{}{path}", ctx.base_url);
        move |_| client.get(&url).bearer_auth(&token)
    };
    let shape = |requests, in_flight| BurstShape {
        requests,
        in_flight,
        within: BURST_TIME,
        pause: Duration::ZERO,
    };
    let list = burst(
        shape(LIST_REQUESTS, LIST_IN_FLIGHT),
        get("/employees?per_page=50"),
    )
    .await;
    let departments = burst(
        shape(DEPARTMENT_REQUESTS, DEPARTMENT_IN_FLIGHT),
        get("/departments"),
    )
    .await;
    let section = sampler.finish().await;
    judge(&section, list, departments)
}

fn judge(section: &DiagnosisSection, list: Burst, departments: Burst) -> Finding {
    if !section.enabled {
        return Finding::skip("the service exports no per-route costs (hrms_route_*)");
    }
    let answered = list.answered + departments.answered;
    let refused = list.refused + departments.refused;
    if answered == 0 {
        return Finding::fail("no request of the burst was answered", Vec::new());
    }
    if refused * 10 > answered {
        return Finding::skip(format!(
            "the first tenant's plan refused {refused} of {answered} reads (429): too small a \
             budget to judge latency by"
        ));
    }
    let mut evidence = vec![format!(
        "GET /employees?per_page=50: {} answered, {LIST_IN_FLIGHT} in flight; GET /departments: \
         {} answered, {DEPARTMENT_IN_FLIGHT} in flight",
        list.answered, departments.answered
    )];
    for e in section
        .endpoints
        .iter()
        .filter(|e| e.name == "GET /employees" || e.name == "GET /departments")
    {
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
        Finding::pass("no cause dominates either read", evidence)
    } else {
        evidence.extend(section.causes.iter().cloned());
        Finding::fail(section.causes.join("; "), evidence)
    }
}
