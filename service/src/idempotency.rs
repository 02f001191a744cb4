//! `Idempotency-Key` support for writes.
//!
//! The key row is inserted in the *same* transaction as the write it guards and carries the
//! response once the write is done. So: the write and its key commit or roll back together
//! (a failed attempt can be retried); a retry after success replays the stored response
//! without touching the data; and two concurrent requests with one key serialise on the
//! primary key — the second waits for the first to commit, then replays its answer.

use axum::extract::FromRequestParts;
use axum::http::{HeaderName, HeaderValue, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::cost::Measure;
use crate::db::TenantTx;
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;

/// The request header clients set on writes.
pub const HEADER: &str = "idempotency-key";
/// Set on a response that was replayed from a stored outcome.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest accepted key; UUIDs and ULIDs fit with room to spare.
const MAX_KEY_LEN: usize = 255;

/// The `Idempotency-Key` header as the OpenAPI document declares it on every write that
/// honours it (the extractor below is what reads it).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// A retry with the same key replays the first answer and never writes twice
    /// (1-255 visible ASCII characters).
    #[param(rename = "Idempotency-Key", schema_with = key_schema)]
    pub key: Option<String>,
}

fn key_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_KEY_LEN))
        .pattern(Some("^[!-~]+$"))
        .build()
}

/// The optional `Idempotency-Key` of a request (validated: 1..=255 visible ASCII chars).
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(Self(None));
        };
        let bad = || {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        };
        let text = value.to_str().map_err(|_| bad())?;
        if text.is_empty()
            || text.len() > MAX_KEY_LEN
            || !text.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad());
        }
        Ok(Self(Some(text.to_owned())))
    }
}

impl IdempotencyKey {
    /// Claims the key for `route` inside `tx`. `Ok(Some(response))` means this is a retry:
    /// answer with the stored response and do nothing else.
    pub async fn claim(
        &self,
        tx: &mut TenantTx,
        tenant: TenantId,
        route: &str,
    ) -> ApiResult<Option<Response>> {
        let Some(key) = &self.0 else { return Ok(None) };
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, key, route) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, key) DO NOTHING",
        )
        .bind(tenant)
        .bind(key)
        .bind(route)
        .execute(&mut **tx)
        .measured()
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(None);
        }
        let (stored_route, status, body): (String, Option<i16>, Option<serde_json::Value>) =
            sqlx::query_as(
                "SELECT route, status_code, response_body FROM idempotency_keys \
             WHERE tenant_id = $1 AND key = $2",
            )
            .bind(tenant)
            .bind(key)
            .fetch_one(&mut **tx)
            .measured()
            .await?;
        if stored_route != route {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different operation",
            ));
        }
        let status = status
            .and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok())
            .ok_or_else(|| {
                ApiError::conflict(
                    "idempotency_in_progress",
                    "a request with this key is in progress",
                )
            })?;
        let mut response = (status, axum::Json(body.unwrap_or_default())).into_response();
        response.headers_mut().insert(
            HeaderName::from_static(REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        );
        Ok(Some(response))
    }

    /// Stores the outcome (when a key was given), commits, and builds the response.
    pub async fn finish<T: Serialize>(
        &self,
        mut tx: TenantTx,
        tenant: TenantId,
        status: StatusCode,
        body: &T,
    ) -> ApiResult<Response> {
        let value = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(key) = &self.0 {
            sqlx::query(
                "UPDATE idempotency_keys SET status_code = $3, response_body = $4 \
                 WHERE tenant_id = $1 AND key = $2",
            )
            .bind(tenant)
            .bind(key)
            .bind(i16::try_from(status.as_u16()).unwrap_or(200))
            .bind(&value)
            .execute(&mut *tx)
            .measured()
            .await?;
        }
        tx.commit().measured().await?;
        Ok((status, axum::Json(value)).into_response())
    }
}
