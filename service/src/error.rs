//! The one error type of the HTTP API and its mapping to status codes.
//!
//! Every failure a handler can meet becomes an [`ApiError`]; its `IntoResponse` writes
//! `{"error":{"code","message"}}`. 4xx messages help the client; 5xx bodies are opaque (the
//! detail goes to the log, never to the wire). Database errors are classified here once:
//! constraint violations become 409/422, an unreachable or overloaded database 503.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, wrong types, bad query parameters).
    #[error("{message}")]
    BadRequest {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// No or invalid credentials.
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role may not do this (only for the caller's own tenant).
    #[error("not allowed for this role")]
    Forbidden,
    /// Authenticated and of the right role, but this particular act is not allowed (a rule
    /// such as segregation of duties).
    #[error("{message}")]
    Denied {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// The resource does not exist *in the caller's tenant* (other tenants' rows look absent).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write conflicts with current state (duplicate, open shift, decided request).
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// Well-formed but semantically invalid input.
    #[error("{message}")]
    Unprocessable {
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// The body exceeds the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body is not sent as `application/json`.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The tenant exhausted its rate limit for this endpoint class.
    #[error("rate limit exceeded, retry later")]
    RateLimited,
    /// A dependency (Postgres, Redis) is unreachable or overloaded; retry later.
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    /// Anything else: logged, answered with an opaque 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    /// 403 for a rule, with a code and message.
    pub fn denied(code: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            code,
            message: message.into(),
        }
    }
    /// 409 with a code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    /// 422 with a code and message.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Denied { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Denied { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn public_message(&self) -> String {
        match self {
            // Which dependency failed is operator knowledge, not client knowledge.
            Self::Unavailable(_) => "service temporarily unavailable, retry later".into(),
            Self::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorDetail,
}

/// `code` is stable for programs, `message` is for people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_json`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            Self::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            Self::Unavailable(what) => tracing::warn!(dependency = what, "dependency unavailable"),
            _ => {}
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message: self.public_message(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Clients and load generators back off instead of hammering a dead dependency.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &err {
            E::RowNotFound => Self::NotFound("resource"),
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::Protocol(_) => {
                Self::Unavailable("postgres")
            }
            E::Database(db) => classify_db_error(db.code().as_deref(), db.constraint(), &err),
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// Maps a Postgres SQLSTATE to an API error; `constraint` names the violated constraint.
fn classify_db_error(code: Option<&str>, constraint: Option<&str>, err: &sqlx::Error) -> ApiError {
    match code {
        Some("23505") => ApiError::conflict(
            "duplicate",
            format!(
                "a row with these values already exists ({})",
                constraint.unwrap_or("unique")
            ),
        ),
        // Composite (tenant_id, id) foreign keys make "points at another tenant's row" and
        // "points at nothing" the same error, as it should be.
        Some("23503") => ApiError::unprocessable(
            "unknown_reference",
            format!(
                "a referenced resource does not exist ({})",
                constraint.unwrap_or("fk")
            ),
        ),
        Some("23514") => ApiError::unprocessable(
            "constraint_violation",
            format!(
                "the values break a rule ({})",
                constraint.unwrap_or("check")
            ),
        ),
        Some("22P02" | "22007" | "22008") => {
            ApiError::bad_request("invalid_value", "invalid value")
        }
        // query_canceled (statement_timeout), admin/crash shutdown, cannot connect now,
        // too many connections: the database is there but cannot serve us right now.
        Some("57014" | "57P01" | "57P02" | "57P03" | "53300" | "08006" | "08001" | "08004") => {
            ApiError::Unavailable("postgres")
        }
        _ => ApiError::Internal(err.to_string()),
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(err: redis::RedisError) -> Self {
        tracing::warn!(error = %err, "redis error");
        Self::Unavailable("redis")
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hundreds_are_opaque() {
        let err = ApiError::Internal("password=hunter2 at db.rs:12".into());
        assert_eq!(err.public_message(), "internal server error");
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn pool_timeout_is_503() {
        assert_eq!(ApiError::from(sqlx::Error::PoolTimedOut).status_code(), 503);
        assert_eq!(ApiError::from(sqlx::Error::PoolClosed).status_code(), 503);
    }

    #[test]
    fn unique_violation_is_409_and_fk_is_422() {
        let e = sqlx::Error::RowNotFound;
        assert_eq!(
            classify_db_error(Some("23505"), None, &e).status_code(),
            409
        );
        assert_eq!(
            classify_db_error(Some("23503"), None, &e).status_code(),
            422
        );
        assert_eq!(
            classify_db_error(Some("57014"), None, &e).status_code(),
            503
        );
        assert_eq!(
            classify_db_error(Some("XX000"), None, &e).status_code(),
            500
        );
    }
}
