//! The gate in front of every tenant route: verify the token, then charge the tenant's
//! token bucket for the route's endpoint class.
//!
//! Authentication comes first so that anonymous traffic cannot drain a tenant's budget, and
//! the verified claims travel on in the request extensions so handlers do not verify again.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::bearer;
use crate::error::ApiError;
use crate::metrics::{TenantClassLabels, class_label};
use crate::ratelimit::EndpointClass;
use crate::state::AppState;

/// Routes whose work is far above a row read or write: payroll runs (and reports, when they
/// exist). They get the small `heavy` budget.
const HEAVY_ROUTES: &[(Method, &str)] = &[(Method::POST, "/payroll/runs")];

/// The endpoint class of a request: heavy by the list above, else read for safe methods
/// and write for the rest.
pub fn classify(method: &Method, route: &str) -> EndpointClass {
    if HEAVY_ROUTES.iter().any(|(m, r)| m == method && *r == route) {
        EndpointClass::Heavy
    } else if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        EndpointClass::Read
    } else {
        EndpointClass::Write
    }
}

/// Middleware: 401 without a valid token; 429 (or 503 when failing closed) over the limit;
/// 401 when the token's account was deactivated (checked after the limit, so floods cost no
/// queries); otherwise runs the handler and adds the `RateLimit-*` headers to its response.
pub async fn tenant_guard(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let checked = bearer(request.headers()).map(|t| {
        if state.defects.unverified_token_claims {
            state.tokens.decode_unverified(t)
        } else {
            state.tokens.verify(t)
        }
    });
    let claims = match checked {
        Some(Ok(claims)) => claims,
        _ => return ApiError::Unauthorized.into_response(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let class = classify(request.method(), route.as_deref().unwrap_or_default());
    let bucket = if state.defects.rate_limit_by_ip {
        client_ip_bucket(&request)
    } else {
        claims.tid.as_uuid()
    };
    let decision = state.limiter.check(bucket, claims.tier, class).await;
    if decision.degraded {
        state.metrics.rate_limit_degraded.inc();
    }
    if let Some(status) = decision.status() {
        let error = if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
            let labels = TenantClassLabels {
                tenant: claims.tid.to_string(),
                class: class_label(class),
            };
            state.metrics.rate_limited.get_or_create(&labels).inc();
            ApiError::RateLimited
        } else {
            ApiError::Unavailable("redis")
        };
        let mut response = error.into_response();
        response.headers_mut().extend(decision.headers());
        return response;
    }
    // SEEDED DEFECT `deactivation_ignored`: a valid signature is taken as enough.
    if !state.defects.deactivation_ignored {
        let active = state
            .accounts
            .is_active(&state.db, claims.tid, claims.sub)
            .await;
        let refusal = match active {
            Ok(true) => None,
            Ok(false) => Some(ApiError::Unauthorized),
            Err(e) => Some(ApiError::from(e)),
        };
        if let Some(error) = refusal {
            let mut response = error.into_response();
            response.headers_mut().extend(decision.headers());
            return response;
        }
    }
    request.extensions_mut().insert(claims);
    let mut response = next.run(request).await;
    response.headers_mut().extend(decision.headers());
    response
}

/// SEEDED DEFECT `rate_limit_by_ip`: the bucket of the client's address instead of its
/// tenant (the classic "limit per IP" of a public site), so every tenant behind one NAT, proxy
/// or load generator shares one bucket. Without connection info every client is one address.
fn client_ip_bucket(request: &Request) -> uuid::Uuid {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, ip.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_method_and_route() {
        assert_eq!(classify(&Method::GET, "/employees"), EndpointClass::Read);
        assert_eq!(classify(&Method::POST, "/employees"), EndpointClass::Write);
        assert_eq!(
            classify(&Method::PATCH, "/employees/{id}"),
            EndpointClass::Write
        );
        assert_eq!(
            classify(&Method::POST, "/payroll/runs"),
            EndpointClass::Heavy
        );
        assert_eq!(
            classify(&Method::GET, "/payroll/runs/{id}"),
            EndpointClass::Read
        );
    }
}
