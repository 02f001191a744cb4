//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::extract::Json;
use crate::state::AppState;

/// Liveness/readiness body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when a dependency is down.
    pub status: &'static str,
    /// Postgres answered `SELECT 1` in time (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres: Option<bool>,
    /// Redis answered `PING` in time (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<bool>,
}

/// The process is up and serving HTTP; says nothing about dependencies.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process serves HTTP", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        postgres: None,
        redis: None,
    })
}

/// 200 when Postgres and Redis both answer within the probe timeout, else 503.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Postgres and Redis answer", body = Health),
        (status = 503, description = "A dependency does not answer", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let (postgres, redis) = tokio::join!(
        postgres_ok(&state, state.probe_timeout),
        redis_ok(&state, state.probe_timeout)
    );
    let status = if postgres && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if status == StatusCode::OK {
            "ok"
        } else {
            "unavailable"
        },
        postgres: Some(postgres),
        redis: Some(redis),
    };
    (status, Json(body)).into_response()
}

/// Postgres answers `SELECT 1` within `timeout` (readiness, and the metrics' health gauge).
pub(crate) async fn postgres_ok(state: &AppState, timeout: std::time::Duration) -> bool {
    let probe = sqlx::query("SELECT 1").execute(&state.db);
    matches!(tokio::time::timeout(timeout, probe).await, Ok(Ok(_)))
}

/// Redis answers `PING` within `timeout`.
pub(crate) async fn redis_ok(state: &AppState, timeout: std::time::Duration) -> bool {
    let mut conn = state.redis.clone();
    let ping = redis::cmd("PING");
    let probe = ping.query_async::<String>(&mut conn);
    matches!(tokio::time::timeout(timeout, probe).await, Ok(Ok(_)))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text exposition", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The OpenAPI 3.1 document of this API (built with the router, from the same declarations).
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi(
    axum::Extension(document): axum::Extension<std::sync::Arc<utoipa::openapi::OpenApi>>,
) -> Response {
    Json(&*document).into_response()
}
