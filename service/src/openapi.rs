//! The OpenAPI document, served at `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, attendance, auth, departments, employees, leave, ops, payroll};

/// The API description, assembled from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gauntlet reference HRMS", description = "Multi-tenant HRMS: the system under test shipped with Gauntlet."),
    paths(
        auth::login,
        employees::list, employees::get, employees::create, employees::update, employees::deactivate,
        departments::list, departments::get, departments::create,
        attendance::clock_in, attendance::clock_out, attendance::history,
        leave::request, leave::list, leave::approve, leave::reject, leave::balances,
        payroll::start_run, payroll::get_run, payroll::list_payslips, payroll::get_payslip,
        admin::set_limits, admin::get_limits, admin::usage,
        ops::live, ops::ready, ops::metrics,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
