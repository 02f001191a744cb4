//! The OpenAPI document, served at `/openapi.json`.
//!
//! It is not assembled here from a list of handlers: [`crate::routes::api`] builds the router
//! with utoipa-axum's `OpenApiRouter`, where registering a handler *is* documenting it (path,
//! methods, parameters, bodies and responses come from its `#[utoipa::path]`). A route cannot
//! be served without being documented, nor documented without being served. This module
//! adds what is the same for whole groups of operations, derived from each operation's own
//! shape, so no handler can forget it:
//! - [`secure`]: the security requirement of a group (tenant bearer token, operator token);
//! - [`finish`]: the error responses every operation of a kind can answer (a body can be
//!   malformed or too large, a path id can be bad, a token can be missing, a tenant can be
//!   rate limited, the database can be away), all with the one error schema.

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

/// Name of the tenant users' bearer scheme (tokens from `POST /auth/login`).
pub const TENANT_SCHEME: &str = "bearer";
/// Name of the platform operator's bearer scheme (the configured operator token).
pub const OPERATOR_SCHEME: &str = "operator";

/// What every document starts from: info, the error schemas and the security schemes.
/// Paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gauntlet reference HRMS", description = "Multi-tenant HRMS: the system under test shipped with Gauntlet."),
    components(schemas(
        crate::error::ErrorBody, crate::error::ErrorDetail,
        crate::routes::employees::EmployeeStatus, crate::routes::leave::LeaveStatus,
        crate::routes::leave::LeaveType,
    )),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            TENANT_SCHEME,
            bearer("Access token of a tenant user, from POST /auth/login."),
        );
        components.add_security_scheme(
            OPERATOR_SCHEME,
            bearer("The platform operator's token (configuration, not a login)."),
        );
    }
}

/// The operations of a path item, mutable.
pub fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Marks every operation of `doc` as requiring `scheme`.
pub fn secure(doc: &mut Document, scheme: &str) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            operation.security = Some(vec![SecurityRequirement::new(scheme, Vec::<String>::new())]);
        }
    }
}

/// An error response with the one error schema.
fn error_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/json".into(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))),
    );
    response
}

/// Makes operation ids unique and adds the error responses each operation can give by its
/// shape, keeping any the handler documented itself (its description is more specific).
pub fn finish(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            // utoipa names an operation after its function: `list` and `get` exist in several
            // modules, and operation ids must be unique. The tag is the module's resource.
            if let (Some(tag), Some(id)) = (
                operation.tags.as_ref().and_then(|t| t.first()),
                operation.operation_id.as_mut(),
            ) && !id.starts_with(tag.as_str())
            {
                *id = format!("{tag}_{id}");
            }
            for (status, description) in implied_errors(operation) {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::T(error_response(description)));
            }
        }
    }
}

/// The statuses an operation answers by its shape, each with why.
fn implied_errors(operation: &Operation) -> Vec<(u16, &'static str)> {
    let params = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        });
    let (mut query, mut path, mut idempotent) = (false, false, false);
    for p in params {
        match p.parameter_in {
            ParameterIn::Query | ParameterIn::QueryString => query = true,
            ParameterIn::Path => path = true,
            ParameterIn::Header => idempotent |= p.name.eq_ignore_ascii_case("idempotency-key"),
            ParameterIn::Cookie => {}
        }
    }
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let tenant = operation
        .security
        .iter()
        .flatten()
        .any(|s| *s == SecurityRequirement::new(TENANT_SCHEME, Vec::<String>::new()));
    let body = operation.request_body.is_some();
    let mut errors = Vec::new();
    if body {
        errors.extend([
            (400, "Malformed JSON."),
            (413, "The body exceeds the configured limit."),
            (415, "The body is not sent as application/json."),
            (
                422,
                "A field is missing, of the wrong type, unknown, out of its limits, or holds text that cannot be stored (invalid_text names it).",
            ),
        ]);
    }
    if query {
        errors.extend([
            (
                400,
                "A query parameter is unknown, malformed or out of range.",
            ),
            (
                422,
                "A query parameter holds text that cannot be stored (invalid_text names it).",
            ),
        ]);
    }
    if path {
        errors.extend([
            (400, "A path id is not a UUID."),
            (404, "No such resource in the caller's tenant."),
        ]);
    }
    if idempotent {
        errors.extend([
            (
                400,
                "The Idempotency-Key is not 1-255 visible ASCII characters.",
            ),
            (
                409,
                "A request with this Idempotency-Key is still in progress.",
            ),
            (422, "The Idempotency-Key was used on another route."),
        ]);
    }
    if secured {
        errors.push((
            401,
            "No token, an invalid or expired one, or a deactivated account.",
        ));
    }
    if tenant {
        errors.push((
            429,
            "The tenant's rate limit for this endpoint class is exhausted.",
        ));
    }
    if secured || body {
        errors.push((
            503,
            "A dependency (Postgres, Redis) is unavailable; retry later.",
        ));
    }
    errors
}
