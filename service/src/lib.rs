//! `hrms`: Gauntlet's reference multi-tenant HRMS service — the system under test that ships
//! with the harness, realistic in its bottlenecks and correct enough to be the known-good
//! baseline.
//!
//! Map of the crate:
//! - [`config`]: typed settings, layered defaults → file → environment.
//! - [`startup`]: [`startup::Application`] — build, port, run until stopped (graceful drain).
//! - [`routes`]: the HTTP API, one module per resource; [`routes::router`] builds it.
//! - [`auth`]: argon2 passwords, JWT tokens, the `AuthUser` / `Operator` extractors.
//! - [`db`]: the pool, migrations, and tenant transactions under row-level security.
//! - [`idempotency`]: `Idempotency-Key` replay for writes.
//! - [`jobs`]: the payroll queue in Redis and its worker pool.
//! - [`ratelimit`]: per-tenant token buckets (Redis, with a per-process fallback).
//! - [`metrics`]: Prometheus metrics; [`seed`]: deterministic bulk seeding.
//! - [`cache`]: the short-TTL response cache (department list), keyed by tenant.
//! - [`sessions`]: whether a token's account is still active (deactivation ends access).
//! - [`defects`]: seeded defects (off by default) that Gauntlet's probes must catch.
//! - [`error`] / [`extract`]: one error type and extractors that answer bad input in its shape.
//! - [`text`]: the gate every client string passes, and the validated text types.
//! - [`ids`]: `TenantId` and `EmployeeId`, so the two cannot be swapped in a call.
//!
//! Architecture invariants: the tenant of a request comes only from its token; every tenant
//! query filters by tenant *and* runs as `hrms_app` under RLS (the two authentication
//! lookups excepted: login's SECURITY DEFINER function and the per-request account check in
//! [`sessions`], both keyed by what the token or the login proves); no input yields a 500.

pub mod auth;
pub mod cache;
pub mod config;
pub mod cost;
pub mod db;
pub mod defects;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod perf_defects;
pub mod ratelimit;
pub mod routes;
pub mod seed;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod write_behind;

pub use error::ApiError;
pub use startup::{Application, RunningService, StartupError};
