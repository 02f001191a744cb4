//! What hiring sets up besides the employee's row, inside `POST /employees`'s transaction:
//! the new employee's login (its password hashed off the async workers) and this year's
//! leave entitlement.

use uuid::Uuid;

use super::employees::Employee;
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::ids::{EmployeeId, TenantId};
use crate::state::AppState;
use crate::text::NewPassword;

/// Argon2 is deliberately slow: off the async worker threads, before any transaction opens.
pub(super) async fn hash_password(state: &AppState, password: &NewPassword) -> ApiResult<String> {
    let passwords = state.passwords.clone();
    let password = password.as_str().to_owned();
    tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hash task: {e}")))?
        .map_err(|e| ApiError::Internal(format!("hashing: {e}")))
}

/// The login of a new employee: role `employee`, its e-mail as user name.
pub(super) async fn create_login(
    tx: &mut db::TenantTx,
    tenant: TenantId,
    employee: &Employee,
    hash: &str,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO users (id, tenant_id, employee_id, email, password_hash, role) \
         VALUES ($1, $2, $3, lower($4), $5, 'employee')",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(employee.id)
    .bind(&employee.email)
    .bind(hash)
    .execute(&mut **tx)
    .measured()
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => {
            ApiError::conflict("duplicate", "a login with this e-mail already exists")
        }
        other => other,
    })?;
    Ok(())
}

/// Gives a new employee this year's default leave entitlement.
pub(super) async fn seed_balances(
    tx: &mut db::TenantTx,
    tenant: TenantId,
    employee: EmployeeId,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO leave_balances (tenant_id, employee_id, leave_type, year, entitled_days) \
         SELECT $1, $2, t.leave_type, extract(year FROM CURRENT_DATE)::int, t.days \
         FROM (VALUES ('annual', 25), ('sick', 10), ('unpaid', 60)) AS t(leave_type, days)",
    )
    .bind(tenant)
    .bind(employee)
    .execute(&mut **tx)
    .measured()
    .await?;
    Ok(())
}
