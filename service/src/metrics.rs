//! Prometheus metrics: what the alert rules (`service/alerts/hrms.rules.yml`) read — error
//! rate, dependency health, DB pool saturation, queue depth, rate-limit abuse — and what the
//! harness's monitor samples each second for its trends (memory too).
//!
//! Request metrics are recorded by a middleware as they happen; pool, queue, rate-limit,
//! dependency and RSS gauges are sampled at scrape time, so they are exact at the moment of
//! the scrape.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::cost::RequestCost;
use crate::ratelimit::EndpointClass;
use crate::state::AppState;

/// Labels of the per-request metrics. `route` is the matched route template (never the raw
/// path: ids in label values would explode the series count).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/employees/{id}`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of the per-route cost metrics: no status, so a route's shares add up over all its
/// answers.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
}

/// A float counter (seconds).
type Seconds = Counter<f64, AtomicU64>;

/// Where each route's time went (`cost.rs`), summed over its requests: divided by
/// `hrms_route_requests_total` they are per-request figures, divided by
/// `hrms_route_seconds_total` shares of its latency.
#[derive(Default)]
struct RouteCost {
    requests: Family<RouteLabels, Counter>,
    seconds: Family<RouteLabels, Seconds>,
    db_queries: Family<RouteLabels, Counter>,
    db_seconds: Family<RouteLabels, Seconds>,
    pool_wait_seconds: Family<RouteLabels, Seconds>,
    pool_exhausted: Family<RouteLabels, Counter>,
    redis_calls: Family<RouteLabels, Counter>,
    redis_seconds: Family<RouteLabels, Seconds>,
}

impl RouteCost {
    fn register(&self, registry: &mut Registry) {
        let c = self;
        registry.register(
            "route_requests",
            "Requests by route (all statuses)",
            c.requests.clone(),
        );
        registry.register(
            "route_seconds",
            "Time in the service by route, middleware to response",
            c.seconds.clone(),
        );
        registry.register(
            "route_db_queries",
            "SQL statements by route (BEGIN's settings and COMMIT included)",
            c.db_queries.clone(),
        );
        registry.register(
            "route_db_seconds",
            "Time awaiting SQL statements by route",
            c.db_seconds.clone(),
        );
        registry.register(
            "route_pool_wait_seconds",
            "Time waiting for a pooled DB connection by route",
            c.pool_wait_seconds.clone(),
        );
        registry.register(
            "route_pool_exhausted",
            "Pooled DB connections asked for by route while every one was in use",
            c.pool_exhausted.clone(),
        );
        registry.register(
            "route_redis_calls",
            "Redis round trips by route",
            c.redis_calls.clone(),
        );
        registry.register(
            "route_redis_seconds",
            "Time awaiting Redis by route",
            c.redis_seconds.clone(),
        );
    }

    fn observe(&self, labels: &RouteLabels, seconds: f64, cost: &crate::cost::CostTotals) {
        self.requests.get_or_create(labels).inc();
        self.seconds.get_or_create(labels).inc_by(seconds);
        self.db_queries
            .get_or_create(labels)
            .inc_by(cost.db_queries);
        self.db_seconds
            .get_or_create(labels)
            .inc_by(cost.db_seconds);
        self.pool_wait_seconds
            .get_or_create(labels)
            .inc_by(cost.pool_wait_seconds);
        self.pool_exhausted
            .get_or_create(labels)
            .inc_by(cost.pool_exhausted);
        self.redis_calls
            .get_or_create(labels)
            .inc_by(cost.redis_calls);
        self.redis_seconds
            .get_or_create(labels)
            .inc_by(cost.redis_seconds);
    }
}

/// Labels of the per-tenant rate-limit metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantClassLabels {
    /// Tenant id.
    pub tenant: String,
    /// Endpoint class: read, write or heavy.
    pub class: &'static str,
}

/// Labels of the dependency health gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabels {
    /// `postgres` or `redis`.
    pub dependency: &'static str,
}

/// How long a scrape waits for each dependency's probe: as close to readiness's own 1 s as a
/// scraper asking every second allows (it gives up at 1 s, and a frozen Postgres must show up
/// as `hrms_dependency_up 0`, not as a failed scrape of everything else). Much shorter would
/// call a merely slow database down: 300 ms fired the health alert under 200 ms of latency.
const SCRAPE_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// All metrics of the service.
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    /// Requests being handled right now (what a graceful shutdown has to drain).
    in_flight: Gauge,
    latency: Family<HttpLabels, Histogram, fn() -> Histogram>,
    db_pool_size: Gauge,
    db_pool_in_use: Gauge,
    db_pool_max: Gauge,
    /// Requests waiting for a pooled connection (moved by `cost::pool_wait`).
    pub(crate) db_pool_waiters: Gauge,
    route_cost: RouteCost,
    job_queue_depth: Gauge,
    /// Payslips written by the payroll workers.
    pub payslips_created: Counter,
    rate_limit_usage: Family<TenantClassLabels, Gauge<f64, AtomicU64>>,
    /// Times a bucket crossed the warn ratio (90%), as counted by the limiter; a gauge
    /// because the limiter owns the count and we only mirror it at scrape time.
    rate_limit_warnings: Family<TenantClassLabels, Gauge>,
    /// Requests answered 429, per tenant and class.
    pub rate_limited: Family<TenantClassLabels, Counter>,
    /// Decisions taken by the per-process fallback because Redis was unreachable.
    pub rate_limit_degraded: Counter,
    process_rss: Gauge,
    /// 1 when the dependency answers the readiness probe, 0 when not: what the health-check
    /// alert reads (a service that answers but cannot reach Postgres is not healthy).
    dependency_up: Family<DependencyLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s: covers a cached read on loopback up to a request stuck behind a timeout.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// Label text of an endpoint class.
pub fn class_label(class: EndpointClass) -> &'static str {
    match class {
        EndpointClass::Read => "read",
        EndpointClass::Write => "write",
        EndpointClass::Heavy => "heavy",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric under the `hrms_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hrms");
        let m = Self {
            requests: Family::default(),
            in_flight: Gauge::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            db_pool_size: Gauge::default(),
            db_pool_in_use: Gauge::default(),
            db_pool_max: Gauge::default(),
            db_pool_waiters: Gauge::default(),
            route_cost: RouteCost::default(),
            job_queue_depth: Gauge::default(),
            payslips_created: Counter::default(),
            rate_limit_usage: Family::default(),
            rate_limit_warnings: Family::default(),
            rate_limited: Family::default(),
            rate_limit_degraded: Counter::default(),
            process_rss: Gauge::default(),
            dependency_up: Family::default(),
            registry: Registry::default(),
        };
        m.register_all(&mut registry);
        Self { registry, ..m }
    }

    fn register_all(&self, registry: &mut Registry) {
        let m = self;
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            m.requests.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being handled right now",
            m.in_flight.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            m.latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open connections in the DB pool",
            m.db_pool_size.clone(),
        );
        registry.register(
            "db_pool_in_use",
            "DB pool connections checked out",
            m.db_pool_in_use.clone(),
        );
        registry.register("db_pool_max", "DB pool maximum size", m.db_pool_max.clone());
        registry.register(
            "db_pool_waiters",
            "Requests waiting for a pooled DB connection",
            m.db_pool_waiters.clone(),
        );
        m.route_cost.register(registry);
        registry.register(
            "job_queue_depth",
            "Payroll jobs waiting in the queue",
            m.job_queue_depth.clone(),
        );
        registry.register(
            "payslips_created",
            "Payslips written by workers",
            m.payslips_created.clone(),
        );
        registry.register(
            "rate_limit_usage_ratio",
            "Share of the tenant's token bucket in use (0..1); alert above 0.9",
            m.rate_limit_usage.clone(),
        );
        registry.register(
            "rate_limit_warnings",
            "Crossings of the usage warn ratio (webhook calls at most once per window)",
            m.rate_limit_warnings.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused with 429",
            m.rate_limited.clone(),
        );
        registry.register(
            "rate_limit_degraded",
            "Rate-limit decisions taken without Redis",
            m.rate_limit_degraded.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size",
            m.process_rss.clone(),
        );
        registry.register(
            "dependency_up",
            "1 when the dependency answers the readiness probe (SELECT 1, PING), else 0",
            m.dependency_up.clone(),
        );
    }

    /// Records one finished request.
    pub fn observe_request(&self, labels: HttpLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// Samples the gauges and renders the Prometheus text format.
    pub async fn render(&self, state: &AppState) -> String {
        let pool = &state.db;
        let idle = i64::try_from(pool.num_idle()).unwrap_or(0);
        self.db_pool_size.set(i64::from(pool.size()));
        self.db_pool_in_use.set(i64::from(pool.size()) - idle);
        self.db_pool_max
            .set(i64::from(pool.options().get_max_connections()));
        // A dead Redis must not make the scrape fail: the depth then keeps its last value.
        if let Ok(depth) = state.jobs.depth().await {
            self.job_queue_depth
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
        self.rate_limit_usage.clear();
        self.rate_limit_warnings.clear();
        for usage in state.limiter.usage_snapshot() {
            let labels = TenantClassLabels {
                tenant: usage.tenant.to_string(),
                class: class_label(usage.class),
            };
            self.rate_limit_usage
                .get_or_create(&labels)
                .set(usage.used_ratio);
            self.rate_limit_warnings
                .get_or_create(&labels)
                .set(i64::try_from(usage.warnings).unwrap_or(i64::MAX));
        }
        let (postgres, redis) = tokio::join!(
            crate::routes::ops::postgres_ok(state, SCRAPE_PROBE_TIMEOUT),
            crate::routes::ops::redis_ok(state, SCRAPE_PROBE_TIMEOUT)
        );
        for (dependency, up) in [("postgres", postgres), ("redis", redis)] {
            self.dependency_up
                .get_or_create(&DependencyLabels { dependency })
                .set(i64::from(up));
        }
        if let Some(rss) = resident_memory_bytes() {
            self.process_rss.set(rss);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// RSS from /proc (Linux); `None` elsewhere. statm counts pages, and the page size is asked,
/// not assumed: aarch64 kernels run with 4, 16 or 64 KiB pages.
fn resident_memory_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    pages.checked_mul(page_size)
}

/// Middleware: counts and times every request by matched route and status.
pub async fn track_http(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Decremented by the guard's drop, so a request dropped mid-flight (timeout, client
    // gone) does not leave the gauge high.
    let _in_flight = InFlight::enter(&state.metrics.in_flight);
    let operational = route == "/metrics" || route.starts_with("/health");
    if let Some(latency) = state.server.injected_latency.filter(|_| !operational) {
        // Inside the timing: the service's histogram must see what a client waits. Not on
        // the scrape and health routes, whose pollers time out in a second or two.
        tokio::time::sleep(latency.sample()).await;
    }
    let slow = state.defects.slow_employee_read
        && request.method() == axum::http::Method::GET
        && route == "/employees/{id}";
    if state.defects.memory_leak {
        // SEEDED DEFECT `memory_leak`: 4 KiB per request kept for good.
        crate::perf_defects::leak_request();
    }
    if state.defects.slow_endpoint
        && request.method() == axum::http::Method::GET
        && route == "/departments"
    {
        // SEEDED DEFECT `slow_endpoint`: a blocking call on the runtime's worker thread.
        crate::perf_defects::blocking_call();
    }
    // Without an accumulator in scope the call sites' wrappers find none and add nothing.
    let cost = state
        .server
        .route_costs
        .then(|| RequestCost::new(state.metrics.db_pool_waiters.clone()));
    let response = match &cost {
        Some(cost) => cost.scope(next.run(request)).await,
        None => next.run(request).await,
    };
    // SEEDED DEFECT `slow_employee_read`: reading one employee waits its own time again
    // (token check, rate limit and query included), so it takes about twice as long.
    if slow {
        tokio::time::sleep(start.elapsed()).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let route_labels = RouteLabels { method, route };
    if let Some(cost) = &cost {
        state
            .metrics
            .route_cost
            .observe(&route_labels, seconds, &cost.totals());
    }
    let labels = HttpLabels {
        method: route_labels.method,
        route: route_labels.route,
        status: response.status().as_u16(),
    };
    state.metrics.observe_request(labels, seconds);
    response
}

struct InFlight(Gauge);

impl InFlight {
    fn enter(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
