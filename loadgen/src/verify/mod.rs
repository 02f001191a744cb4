//! `gauntlet verify`: the seed's pre-launch checklist, executable. Each check is a [`Check`]
//! (a closed set, named as docs/verify.md lists them) that returns a [`Finding`]: pass, fail
//! or skipped-with-reason, and the evidence — what was sent and seen.
//!
//! One module per family: [`health`] (liveness, readiness, readiness with a dependency away),
//! [`auth`] (tokens refused on every tenant operation), [`isolation`] (the probe catalogue),
//! [`database`] (migrations, row-level security, pool vs `max_connections`), [`limits`]
//! (rate-limit headers, 429 shape, per-tenant buckets), [`http`] (error shape, parameter
//! bounds, body limit, security headers, idempotency), [`observability`] (metrics exposition,
//! the alert rules' inputs, the rules file, the OpenAPI document), [`latency`] and
//! [`bottlenecks`] (a hot read that waits twice; a burst whose diagnosis names a cause), and
//! [`lifecycle`] (backups, graceful shutdown). The checks run in [`Check::ALL`]'s order:
//! read-only first, then what spends a tenant's rate-limit budget, then what takes a
//! dependency away, and the shutdown last because it ends the service.

mod auth;
pub mod bottlenecks;
mod database;
mod health;
mod http;
mod isolation;
mod latency;
mod lifecycle;
mod limits;
mod observability;
mod resources;
mod scans;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gauntlet_reports::model::Backend;
use gauntlet_reports::verify::{CheckResult, VERIFY_SCHEMA_VERSION, VerifyMode, VerifyReport};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_testcontainers::Stack;

use crate::run::local::LocalService;

pub use support::Finding;

/// Where a backup is expected and how old the newest may be.
#[derive(Debug, Clone)]
pub struct BackupPolicy {
    /// A directory backups are written to (files, or directories of a base backup).
    pub dir: PathBuf,
    /// The newest backup must be younger than this.
    pub max_age: Duration,
}

/// What the checks run against.
pub struct Context<'a> {
    /// `http://host:port`, no trailing slash.
    pub base_url: String,
    /// Tenants and credentials (at least two tenants, as the probes need).
    pub fixture: Fixture,
    /// Present when verify started the stack itself: the local-only checks use it.
    pub local: Option<Local<'a>>,
    /// `--backup-dir`; the backup check is skipped without it.
    pub backup: Option<BackupPolicy>,
    client: reqwest::Client,
}

/// The stack verify started: servers it may pause, the database it may read, the service it
/// may stop.
pub struct Local<'a> {
    /// The reference service.
    pub service: &'a mut LocalService,
    /// The stack it runs on when the caller keeps it ([`crate::run::local::Dependencies::Shared`]);
    /// `None` when the service owns its stack.
    pub shared: Option<&'a Stack>,
}

impl Local<'_> {
    /// Postgres and Redis (their lifecycle controls, the database URL).
    pub fn stack(&self) -> Option<&Stack> {
        self.shared.or_else(|| self.service.stack())
    }
}

impl<'a> Context<'a> {
    /// A context for `base_url`; requests time out after 10 s (no check waits longer for one
    /// answer).
    pub fn new(
        base_url: &str,
        fixture: Fixture,
        local: Option<Local<'a>>,
        backup: Option<BackupPolicy>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Context {
            base_url: base_url.trim_end_matches('/').to_owned(),
            fixture,
            local,
            backup,
            client,
        })
    }
}

/// Every check, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    HealthLive,
    HealthReady,
    OpenapiValid,
    AuthMissingToken,
    AuthExpiredToken,
    AuthForgedToken,
    ErrorShape,
    ParameterBounds,
    BodyLimit,
    SecurityHeaders,
    Idempotency,
    LatencyReadParity,
    LatencyBottlenecks,
    MemoryPerRequest,
    IndexUse,
    ProbeCatalogue,
    MetricsExposition,
    MetricsAlertInputs,
    AlertRulesLoad,
    MigrationsApplied,
    RowLevelSecurity,
    PoolWithinMaxConnections,
    BackupRecent,
    RateLimitHeaders,
    RateLimitRefusal,
    RateLimitPerTenant,
    ReadyWithoutPostgres,
    ReadyWithoutRedis,
    GracefulShutdown,
}

impl Check {
    /// All checks in running order.
    pub const ALL: [Check; 29] = [
        Check::HealthLive,
        Check::HealthReady,
        Check::OpenapiValid,
        Check::AuthMissingToken,
        Check::AuthExpiredToken,
        Check::AuthForgedToken,
        Check::ErrorShape,
        Check::ParameterBounds,
        Check::BodyLimit,
        Check::SecurityHeaders,
        Check::Idempotency,
        Check::LatencyReadParity,
        Check::LatencyBottlenecks,
        Check::MemoryPerRequest,
        Check::IndexUse,
        Check::ProbeCatalogue,
        Check::MetricsExposition,
        Check::MetricsAlertInputs,
        Check::AlertRulesLoad,
        Check::MigrationsApplied,
        Check::RowLevelSecurity,
        Check::PoolWithinMaxConnections,
        Check::BackupRecent,
        Check::RateLimitHeaders,
        Check::RateLimitRefusal,
        Check::RateLimitPerTenant,
        Check::ReadyWithoutPostgres,
        Check::ReadyWithoutRedis,
        Check::GracefulShutdown,
    ];

    /// The stable name (`family.what`).
    pub fn name(self) -> &'static str {
        match self {
            Check::HealthLive => "health.live",
            Check::HealthReady => "health.ready",
            Check::OpenapiValid => "openapi.valid",
            Check::AuthMissingToken => "auth.missing_token",
            Check::AuthExpiredToken => "auth.expired_token",
            Check::AuthForgedToken => "auth.forged_token",
            Check::ErrorShape => "http.error_shape",
            Check::ParameterBounds => "http.parameter_bounds",
            Check::BodyLimit => "http.body_limit",
            Check::SecurityHeaders => "http.security_headers",
            Check::Idempotency => "http.idempotency",
            Check::LatencyReadParity => "latency.read_parity",
            Check::LatencyBottlenecks => "latency.bottlenecks",
            Check::MemoryPerRequest => "resources.memory_per_request",
            Check::IndexUse => "db.index_use",
            Check::ProbeCatalogue => "isolation.probe_catalogue",
            Check::MetricsExposition => "metrics.exposition",
            Check::MetricsAlertInputs => "metrics.alert_inputs",
            Check::AlertRulesLoad => "alerts.rules_load",
            Check::MigrationsApplied => "db.migrations_applied",
            Check::RowLevelSecurity => "db.row_level_security",
            Check::PoolWithinMaxConnections => "db.pool_within_max_connections",
            Check::BackupRecent => "backup.recent",
            Check::RateLimitHeaders => "ratelimit.headers",
            Check::RateLimitRefusal => "ratelimit.refusal_shape",
            Check::RateLimitPerTenant => "ratelimit.per_tenant",
            Check::ReadyWithoutPostgres => "health.ready_fails_without_postgres",
            Check::ReadyWithoutRedis => "health.ready_fails_without_redis",
            Check::GracefulShutdown => "lifecycle.graceful_shutdown",
        }
    }

    /// What a pass proves.
    pub fn proves(self) -> &'static str {
        match self {
            Check::HealthLive => "The process serves HTTP: GET /health/live answers 200 JSON.",
            Check::HealthReady => {
                "Both dependencies answer: GET /health/ready is 200 with postgres and redis true."
            }
            Check::OpenapiValid => {
                "The served OpenAPI document is a valid OpenAPI 3.1 document with unique operation ids and documented responses."
            }
            Check::AuthMissingToken => {
                "Every tenant operation of the OpenAPI document refuses a request without a token (401 JSON)."
            }
            Check::AuthExpiredToken => {
                "Every tenant operation refuses a correctly signed token whose expiry has passed (401 JSON)."
            }
            Check::AuthForgedToken => {
                "Every tenant operation refuses forged tokens: claims edited without re-signing, alg none, a wrong key (401 JSON)."
            }
            Check::ErrorShape => {
                "Errors answer in the JSON error shape {\"error\":{\"code\",\"message\"}}: unknown route, wrong method, malformed JSON, bad id."
            }
            Check::ParameterBounds => {
                "Every bounded query parameter of the document, sent one past its bound, is refused with a 4xx JSON error, never a 5xx."
            }
            Check::BodyLimit => "A body over the request size limit is refused with 413 JSON.",
            Check::SecurityHeaders => {
                "API responses carry nosniff, no-store, frame and referrer protection."
            }
            Check::Idempotency => {
                "A write retried with the same Idempotency-Key replays the first answer and writes once."
            }
            Check::LatencyReadParity => {
                "Reading one employee costs no more than 1.6x reading one department (median ratio of adjacent pairs): no single hot read hides an extra wait."
            }
            Check::LatencyBottlenecks => {
                "Short bursts of the employee and department lists (16 and 4 in flight), clock-ins (8 employees at once) and, locally, paced payroll runs name no bottleneck: no N+1 query, pool wait, blocking call or lock wait dominates, and the job queue drains."
            }
            Check::MemoryPerRequest => {
                "The service's resident memory does not grow with the requests it serves (at most 1 KiB per request over 2,000 after a warm-up)."
            }
            Check::IndexUse => {
                "A tenant's employee list reads its rows through an index: with 20,000 rows of another tenant in the table, a list reads at most 1,000 rows by sequential scans."
            }
            Check::ProbeCatalogue => {
                "The cross-tenant and security probe catalogue finds no leak and concludes every probe."
            }
            Check::MetricsExposition => {
                "GET /metrics is a well-formed Prometheus/OpenMetrics exposition: every line a sample or a comment."
            }
            Check::MetricsAlertInputs => {
                "Every service metric the alert rules read is exported by /metrics."
            }
            Check::AlertRulesLoad => {
                "The alerting rules file loads (promtool check rules, or parsed when promtool is absent)."
            }
            Check::MigrationsApplied => {
                "Every migration embedded in the service is applied with its checksum, none pending, none unknown."
            }
            Check::RowLevelSecurity => {
                "Every table with a tenant_id has row-level security enabled and a policy."
            }
            Check::PoolWithinMaxConnections => {
                "The service's DB pool fits in Postgres's max_connections (less the superuser reserve)."
            }
            Check::BackupRecent => "The newest backup in the backup location is recent enough.",
            Check::RateLimitHeaders => {
                "A tenant request's answer carries RateLimit-Limit, -Remaining and -Reset."
            }
            Check::RateLimitRefusal => {
                "A tenant past its budget is refused 429 with a JSON error and Retry-After."
            }
            Check::RateLimitPerTenant => {
                "While one tenant is refused 429, another tenant behind the same address is served."
            }
            Check::ReadyWithoutPostgres => {
                "Readiness reports not ready while Postgres is stopped, and ready again once it is back."
            }
            Check::ReadyWithoutRedis => {
                "Readiness reports not ready while Redis is paused, and ready again once it is back."
            }
            Check::GracefulShutdown => {
                "On SIGTERM the service refuses new connections and finishes the requests in flight."
            }
        }
    }

    /// The check named `name`, if any.
    pub fn from_name(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.name() == name)
    }

    async fn run(self, ctx: &mut Context<'_>) -> Finding {
        match self {
            Check::HealthLive => health::live(ctx).await,
            Check::HealthReady => health::ready(ctx).await,
            Check::OpenapiValid => observability::openapi_valid(ctx).await,
            Check::AuthMissingToken => auth::missing(ctx).await,
            Check::AuthExpiredToken => auth::expired(ctx).await,
            Check::AuthForgedToken => auth::forged(ctx).await,
            Check::ErrorShape => http::error_shape(ctx).await,
            Check::ParameterBounds => http::parameter_bounds(ctx).await,
            Check::BodyLimit => http::body_limit(ctx).await,
            Check::SecurityHeaders => http::security_headers(ctx).await,
            Check::Idempotency => http::idempotency(ctx).await,
            Check::LatencyReadParity => latency::read_parity(ctx).await,
            Check::LatencyBottlenecks => bottlenecks::bottlenecks(ctx).await,
            Check::MemoryPerRequest => resources::memory_per_request(ctx).await,
            Check::IndexUse => scans::index_use(ctx).await,
            Check::ProbeCatalogue => isolation::probe_catalogue(ctx).await,
            Check::MetricsExposition => observability::exposition(ctx).await,
            Check::MetricsAlertInputs => observability::alert_inputs(ctx).await,
            Check::AlertRulesLoad => observability::rules_load().await,
            Check::MigrationsApplied => database::migrations(ctx).await,
            Check::RowLevelSecurity => database::row_level_security(ctx).await,
            Check::PoolWithinMaxConnections => database::pool_size(ctx).await,
            Check::BackupRecent => lifecycle::backup_recent(ctx),
            Check::RateLimitHeaders => limits::headers(ctx).await,
            Check::RateLimitRefusal => limits::refusal(ctx).await,
            Check::RateLimitPerTenant => limits::per_tenant(ctx).await,
            Check::ReadyWithoutPostgres => health::without(ctx, health::Dependency::Postgres).await,
            Check::ReadyWithoutRedis => health::without(ctx, health::Dependency::Redis).await,
            Check::GracefulShutdown => lifecycle::graceful_shutdown(ctx).await,
        }
    }
}

/// What the report says about the run besides the checks.
pub struct Header {
    /// `Local` or `Target`.
    pub mode: VerifyMode,
    /// Where Postgres and Redis came from (local mode).
    pub backend: Option<Backend>,
    /// Seeded defects switched on.
    pub defects: Vec<String>,
    /// For reproduction.
    pub command_line: Vec<String>,
}

/// Runs `checks` (in [`Check::ALL`]'s order) and assembles the report.
pub async fn verify(ctx: &mut Context<'_>, checks: &[Check], header: Header) -> VerifyReport {
    let started_unix_us = now_unix_us();
    let started = Instant::now();
    let mut results = Vec::new();
    for check in Check::ALL.into_iter().filter(|c| checks.contains(c)) {
        let began = Instant::now();
        let finding = check.run(ctx).await;
        tracing::info!(
            check = check.name(),
            outcome = finding.outcome.as_str(),
            "checked"
        );
        results.push(CheckResult {
            name: check.name().to_owned(),
            proves: check.proves().to_owned(),
            outcome: finding.outcome,
            summary: finding.summary,
            evidence: finding.evidence,
            duration_us: micros(began.elapsed()),
        });
    }
    VerifyReport {
        schema_version: VERIFY_SCHEMA_VERSION,
        verdict: VerifyReport::judge(&results),
        target: ctx.base_url.clone(),
        mode: header.mode,
        backend: header.backend,
        defects: header.defects,
        command_line: header.command_line,
        started_at_unix_us: started_unix_us,
        duration_us: micros(started.elapsed()),
        checks: results,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn now_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, micros)
}
