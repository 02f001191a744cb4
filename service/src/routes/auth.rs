//! `POST /auth/login`: email + password → access token.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Claims, Role, parse_tier};
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::ids::{EmployeeId, TenantId};
use crate::state::AppState;
use crate::text::{Email, Password};

/// Login request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user's email (case-insensitive).
    pub email: Email,
    /// The user's password.
    pub password: Password,
}

/// Login response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for the `Authorization` header.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The user's tenant.
    #[schema(value_type = Uuid)]
    pub tenant_id: TenantId,
    /// The user's role.
    pub role: Role,
    /// The user's employee record, if any.
    #[schema(value_type = Option<Uuid>)]
    pub employee_id: Option<EmployeeId>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    tenant_id: TenantId,
    employee_id: Option<EmployeeId>,
    password_hash: String,
    role: String,
    tier: String,
    /// No employee record, or an active one: deactivation ends the login.
    active: bool,
}

/// Exchanges credentials for a token. Unknown email, wrong password and a deactivated
/// account answer the same 401.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "A bearer token", body = LoginResponse), (status = 401, description = "Unknown e-mail, wrong password or a deactivated account", body = crate::error::ErrorBody)))]
pub async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let mut tx = db::begin_anonymous(&state.db).await?;
    let user: Option<UserRow> = sqlx::query_as(
        "SELECT id, tenant_id, employee_id, password_hash, role, tier, active FROM auth_lookup_user($1)",
    )
    .bind(body.email.as_str())
    .fetch_optional(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await?;

    let phc = user
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let passwords = state.passwords.clone();
    // Argon2 is deliberately slow: keep it off the async worker threads.
    let ok = tokio::task::spawn_blocking(move || passwords.verify(&body.password, &phc))
        .await
        .map_err(|e| ApiError::Internal(format!("verify task: {e}")))?;
    // SEEDED DEFECT `deactivation_ignored`: the account's status is not looked at.
    let active = |u: &UserRow| u.active || state.defects.deactivation_ignored;
    // A deactivated account answers like a wrong password: nothing to learn from trying.
    let user = match user {
        Some(user) if ok && active(&user) => user,
        _ => return Err(ApiError::Unauthorized),
    };
    let role = Role::parse(&user.role)?;
    let claims = Claims {
        sub: user.id,
        tid: user.tenant_id,
        role,
        tier: parse_tier(&user.tier)?,
        emp: user.employee_id,
        iat: 0,
        exp: 0,
    };
    let access_token = state.tokens.issue(claims)?;
    Ok(Json(LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        tenant_id: user.tenant_id,
        role,
        employee_id: user.employee_id,
    }))
}
