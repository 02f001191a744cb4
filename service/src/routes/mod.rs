//! The HTTP API: one module per resource, assembled by [`router`].
//!
//! Layering (outermost first): panic catcher → metrics → security headers → JSON errors →
//! request timeout → body limit → routes. Tenant routes additionally pass [`guard::tenant_guard`] (token + rate limit);
//! `/admin/*` checks the operator token in its extractor; health, metrics and the OpenAPI
//! document are open.

pub mod admin;
pub mod attendance;
pub mod auth;
pub mod departments;
pub mod employees;
pub mod guard;
pub mod leave;
mod onboarding;
pub mod ops;
pub mod payroll;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The API: every route registered through utoipa-axum's `routes!`, so the router and the
/// OpenAPI document come from the same declarations (see [`crate::openapi`]). Tenant routes
/// pass the guard; `/admin/*` checks the operator token in its extractor; the rest is open.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let mut tenant = OpenApiRouter::new()
        .routes(routes!(employees::list, employees::create))
        .routes(routes!(employees::get, employees::update))
        .routes(routes!(employees::deactivate))
        .routes(routes!(attendance::history))
        .routes(routes!(leave::balances))
        .routes(routes!(departments::list, departments::create))
        .routes(routes!(departments::get))
        .routes(routes!(attendance::clock_in))
        .routes(routes!(attendance::clock_out))
        .routes(routes!(leave::list, leave::request))
        .routes(routes!(leave::approve))
        .routes(routes!(leave::reject))
        .routes(routes!(payroll::start_run))
        .routes(routes!(payroll::get_run))
        .routes(routes!(payroll::list_payslips))
        .routes(routes!(payroll::get_payslip))
        .route_layer(from_fn_with_state(state.clone(), guard::tenant_guard));
    crate::openapi::secure(tenant.get_openapi_mut(), crate::openapi::TENANT_SCHEME);

    let mut admin = OpenApiRouter::new()
        .routes(routes!(admin::set_limits, admin::get_limits))
        .routes(routes!(admin::usage));
    crate::openapi::secure(admin.get_openapi_mut(), crate::openapi::OPERATOR_SCHEME);

    let open = OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(ops::live))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi));

    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(tenant)
        .merge(admin)
        .merge(open)
}

/// Builds the whole application router (tests can `oneshot` it without a listener).
pub fn router(state: AppState) -> Router {
    let (api, mut document) = api(&state).split_for_parts();
    crate::openapi::finish(&mut document);
    let document = std::sync::Arc::new(document);

    let server = state.server.clone();
    api.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(document))
        .layer(DefaultBodyLimit::max(server.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            server.request_timeout,
        ))
        .layer(from_fn(ensure_json_errors))
        .layer(from_fn(security_headers))
        .layer(from_fn_with_state(
            state.clone(),
            crate::metrics::track_http,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = crate::error::ErrorBody {
        error: crate::error::ErrorDetail {
            code: "method_not_allowed".into(),
            message: "method not allowed on this route".into(),
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// A panic is a bug, but it must still answer in our shape and keep the process serving.
fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::Internal("panic".into()).into_response()
}

/// Headers every answer carries (OWASP's REST security headers): a JSON API is never
/// sniffed into HTML, framed, cached by intermediaries (answers are per tenant and per
/// token) or leaked through a Referer. Set where a handler has not chosen otherwise.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Rewrites any error response that is not JSON (from layers such as the timeout, or
/// rejections we did not wrap) into our `{"error":{..}}` shape.
async fn ensure_json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "service temporarily unavailable, retry later",
        ),
        s if s.is_server_error() => ("internal", "internal server error"),
        _ => ("bad_request", "the request could not be processed"),
    };
    let body = crate::error::ErrorBody {
        error: crate::error::ErrorDetail {
            code: code.into(),
            message: message.into(),
        },
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut rewritten = (status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// Largest page a list endpoint serves.
pub const MAX_PER_PAGE: u32 = 100;
/// Highest page number accepted; deeper offsets are a scan, not a page.
pub const MAX_PAGE: u32 = 10_000;

/// Pagination query parameters shared by list endpoints.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
// Like every list's filters: a misspelt parameter is a 400, not silently the default.
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// 1-based page number (default 1).
    #[param(schema_with = page_schema)]
    pub page: Option<u32>,
    /// Items per page (default 50).
    #[param(schema_with = per_page_schema)]
    pub per_page: Option<u32>,
}

/// Schema of `page`: the limits [`Pagination::resolve`] enforces.
pub fn page_schema() -> utoipa::openapi::schema::Object {
    integer_schema(1, i64::from(MAX_PAGE))
}

/// Schema of `per_page`: the limits [`Pagination::resolve`] enforces.
pub fn per_page_schema() -> utoipa::openapi::schema::Object {
    integer_schema(1, i64::from(MAX_PER_PAGE))
}

/// An integer schema with inclusive bounds.
pub fn integer_schema(minimum: i64, maximum: i64) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Int64,
        )))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .build()
}

impl Pagination {
    /// Validates and returns `(page, per_page, offset)`; out of range is a 400.
    pub fn resolve(&self) -> ApiResult<(u32, u32, i64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::bad_request(
                "invalid_pagination",
                format!("page must be 1..={MAX_PAGE}"),
            ));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(
                "invalid_pagination",
                format!("per_page must be 1..={MAX_PER_PAGE}"),
            ));
        }
        Ok((page, per_page, i64::from(page - 1) * i64::from(per_page)))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// This page's number.
    pub page: u32,
    /// Page size asked for.
    pub per_page: u32,
    /// Items matching the filters, over all pages.
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_bounds() {
        let p = |page, per_page| Pagination { page, per_page }.resolve();
        assert_eq!(p(None, None).unwrap(), (1, 50, 0));
        assert_eq!(p(Some(3), Some(10)).unwrap(), (3, 10, 20));
        assert!(p(Some(0), None).is_err());
        assert!(p(None, Some(0)).is_err());
        assert!(p(None, Some(101)).is_err());
        assert!(p(Some(MAX_PAGE + 1), None).is_err());
    }
}
