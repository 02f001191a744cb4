//! Where a request's time goes: database statements (count and time), waiting for a pooled
//! connection, and Redis round trips, added up per request and exported per route.
//!
//! The request middleware (`metrics::track_http`) runs each request inside a task-local
//! [`RequestCost`]; the database and Redis call sites wrap their futures with
//! [`Measure::measured`], [`Measure::redis`] or [`pool_wait`], which add to it. Work outside a
//! request (the payroll workers, the scrape's own probes) has no accumulator and costs a
//! task-local lookup only. Atomics rather than `Cell`s because the accumulator is shared with
//! the middleware through an `Arc` (a task-local's value is gone when its scope ends); every
//! add is `Relaxed`: the middleware reads them after the request's future has completed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;

tokio::task_local! {
    static CURRENT: Arc<RequestCost>;
}

/// What one request spent, in nanoseconds and statement counts.
#[derive(Debug, Default)]
pub struct RequestCost {
    db_queries: AtomicU64,
    db_nanos: AtomicU64,
    pool_wait_nanos: AtomicU64,
    pool_exhausted: AtomicU64,
    redis_calls: AtomicU64,
    redis_nanos: AtomicU64,
    /// Requests waiting for a pooled connection right now (the service's gauge), so the
    /// waiters are counted where the wait happens without `db.rs` knowing about metrics.
    waiters: Option<Gauge>,
}

/// A finished request's totals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CostTotals {
    /// SQL statements run (transaction begin included, commit not).
    pub db_queries: u64,
    /// Seconds spent awaiting those statements.
    pub db_seconds: f64,
    /// Seconds spent waiting for a connection from the pool.
    pub pool_wait_seconds: f64,
    /// Connections asked for while every one the pool may open was in use.
    pub pool_exhausted: u64,
    /// Redis round trips.
    pub redis_calls: u64,
    /// Seconds spent awaiting them.
    pub redis_seconds: f64,
}

impl RequestCost {
    /// An accumulator whose pool waits move `waiters` up and down.
    pub fn new(waiters: Gauge) -> Arc<Self> {
        Arc::new(Self {
            waiters: Some(waiters),
            ..Self::default()
        })
    }

    /// Runs `fut` with this accumulator as the current request's.
    pub async fn scope<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(Arc::clone(self), fut).await
    }

    /// The totals so far.
    pub fn totals(&self) -> CostTotals {
        let secs = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        CostTotals {
            db_queries: self.db_queries.load(Ordering::Relaxed),
            db_seconds: secs(&self.db_nanos),
            pool_wait_seconds: secs(&self.pool_wait_nanos),
            pool_exhausted: self.pool_exhausted.load(Ordering::Relaxed),
            redis_calls: self.redis_calls.load(Ordering::Relaxed),
            redis_seconds: secs(&self.redis_nanos),
        }
    }
}

fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn with_current(f: impl FnOnce(&RequestCost)) {
    // Outside a request (workers, start-up) there is nothing to add to.
    let _ = CURRENT.try_with(|cost| f(cost));
}

/// Times database and Redis futures into the current request's [`RequestCost`].
pub trait Measure: Future + Sized {
    /// One SQL statement.
    fn measured(self) -> impl Future<Output = Self::Output> {
        async move {
            let start = Instant::now();
            let out = self.await;
            let nanos = nanos_since(start);
            with_current(|c| {
                c.db_queries.fetch_add(1, Ordering::Relaxed);
                c.db_nanos.fetch_add(nanos, Ordering::Relaxed);
            });
            out
        }
    }

    /// One Redis round trip.
    fn redis(self) -> impl Future<Output = Self::Output> {
        async move {
            let start = Instant::now();
            let out = self.await;
            let nanos = nanos_since(start);
            with_current(|c| {
                c.redis_calls.fetch_add(1, Ordering::Relaxed);
                c.redis_nanos.fetch_add(nanos, Ordering::Relaxed);
            });
            out
        }
    }
}

impl<F: Future> Measure for F {}

/// Awaits a connection from the pool, counted as pool wait and as one waiter meanwhile;
/// `exhausted`: every connection the pool may open was in use when it was asked for.
///
/// `pool.begin()` is the acquire plus the `BEGIN` round trip (and, with
/// `test_before_acquire`, a ping): on an idle pool two short round trips, so the figure is
/// dominated by queueing exactly when the pool is the bottleneck. Its length alone cannot
/// tell queueing from a busy machine's slow hand-out; `exhausted` can, request by request.
pub async fn pool_wait<F: Future>(exhausted: bool, acquire: F) -> F::Output {
    if exhausted {
        with_current(|c| {
            c.pool_exhausted.fetch_add(1, Ordering::Relaxed);
        });
    }
    let start = Instant::now();
    let waiters = CURRENT.try_with(|c| c.waiters.clone()).ok().flatten();
    let _waiting = waiters.map(Waiting::enter);
    let out = acquire.await;
    let nanos = nanos_since(start);
    with_current(|c| {
        c.pool_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    });
    out
}

/// One waiter on the gauge while alive (a request dropped mid-wait leaves it).
struct Waiting(Gauge);

impl Waiting {
    fn enter(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn adds_inside_a_request_only() {
        let waiters = Gauge::default();
        let cost = RequestCost::new(waiters.clone());
        cost.scope(async {
            async {}.measured().await;
            async {}.measured().await;
            async {}.redis().await;
            pool_wait(true, async {
                assert_eq!(waiters.get(), 1, "a waiter while waiting");
            })
            .await;
            pool_wait(false, async {}).await;
        })
        .await;
        // Outside the scope: counted nowhere, and no panic.
        async {}.measured().await;
        let t = cost.totals();
        assert_eq!((t.db_queries, t.redis_calls, t.pool_exhausted), (2, 1, 1));
        assert_eq!(waiters.get(), 0);
    }
}
