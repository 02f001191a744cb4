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
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        postgres: None,
        redis: None,
    })
}

/// 200 when Postgres and Redis both answer within the probe timeout, else 503.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let (postgres, redis) = tokio::join!(postgres_ok(&state), redis_ok(&state));
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

async fn postgres_ok(state: &AppState) -> bool {
    let probe = sqlx::query("SELECT 1").execute(&state.db);
    matches!(
        tokio::time::timeout(state.probe_timeout, probe).await,
        Ok(Ok(_))
    )
}

async fn redis_ok(state: &AppState) -> bool {
    let mut conn = state.redis.clone();
    let ping = redis::cmd("PING");
    let probe = ping.query_async::<String>(&mut conn);
    matches!(
        tokio::time::timeout(state.probe_timeout, probe).await,
        Ok(Ok(_))
    )
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
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

/// The OpenAPI document of this API.
pub async fn openapi() -> Response {
    use utoipa::OpenApi as _;
    Json(crate::openapi::ApiDoc::openapi()).into_response()
}
