//! `resources.memory_per_request`: what the service keeps of each request. A bounded stream
//! of the cheapest request there is (`GET /health/live`), read twice by the service's own
//! `hrms_process_resident_memory_bytes`: after a warm-up (connections, buffers and the route's
//! metrics are allocated once), and after [`MEASURED`] more. Memory that grows with the
//! number of requests served — a cache nothing evicts, a list appended to per request — is
//! the leak an endurance run finds after hours; a few thousand requests show it in seconds
//! once the warm-up's one-off allocations are out of the way.

use std::time::Duration;

use super::Context;
use super::bottlenecks::{BurstShape, burst};
use super::support::Finding;

/// Requests before the first reading.
const WARM_UP: usize = 500;
/// Requests between the two readings.
const MEASURED: usize = 2_000;
const IN_FLIGHT: usize = 8;
/// Each stream ends by then even if requests are left.
const WITHIN: Duration = Duration::from_secs(15);
/// Kept per request above this fails: a request's own allocations are returned when it
/// ends, and the allocator's reuse keeps the clean service's growth far below it.
const MAX_KEPT_PER_REQUEST: f64 = 1024.0;

pub async fn memory_per_request(ctx: &Context<'_>) -> Finding {
    let Some(_) = resident(ctx).await else {
        return Finding::skip("the service exports no hrms_process_resident_memory_bytes");
    };
    let stream = |requests| {
        let (client, url) = (
            ctx.client().clone(),
            format!("{}/health/live", ctx.base_url),
        );
        burst(
            BurstShape {
                requests,
                in_flight: IN_FLIGHT,
                within: WITHIN,
                pause: Duration::ZERO,
            },
            move |_| client.get(&url),
        )
    };
    stream(WARM_UP).await;
    let Some(before) = resident(ctx).await else {
        return Finding::fail("/metrics stopped answering", Vec::new());
    };
    let served = stream(MEASURED).await.answered;
    let Some(after) = resident(ctx).await else {
        return Finding::fail("/metrics stopped answering", Vec::new());
    };
    if served < MEASURED / 2 {
        return Finding::fail(
            format!("only {served} of {MEASURED} GET /health/live answered within {WITHIN:?}"),
            Vec::new(),
        );
    }
    let kept = (after - before) / served as f64;
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    let evidence = vec![format!(
        "RSS {:.1} MiB after {WARM_UP} warm-up requests, {:.1} MiB after {served} more \
         ({IN_FLIGHT} in flight): {kept:.0} bytes per request",
        mib(before),
        mib(after)
    )];
    if kept > MAX_KEPT_PER_REQUEST {
        Finding::fail(
            format!(
                "the service keeps {kept:.0} bytes of every request: its memory grew by {:.1} \
                 MiB over {served} requests and was not given back",
                mib(after - before)
            ),
            evidence,
        )
    } else {
        Finding::pass(
            format!("memory does not grow with requests ({kept:.0} bytes per request)"),
            evidence,
        )
    }
}

/// `hrms_process_resident_memory_bytes` as `/metrics` reports it now.
async fn resident(ctx: &Context<'_>) -> Option<f64> {
    let body = ctx
        .client()
        .get(format!("{}/metrics", ctx.base_url))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix("hrms_process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse().ok())
}
