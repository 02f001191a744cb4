//! Employees: list (paginated, filtered, searched), get, create, update, deactivate.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Page, Pagination, onboarding};
use crate::auth::{AuthUser, Role};
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::idempotency::IdempotencyKey;
use crate::ids::{EmployeeId, TenantId};
use crate::state::AppState;
use crate::text::{Email, Name, NewPassword, SearchText, ShortText};

/// Employment status.
// Doc comments here are the OpenAPI description; the column is TEXT under a CHECK of the
// same set, hence sqlx's `type_name = "text"`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum EmployeeStatus {
    /// Employed; included in payroll runs.
    Active,
    /// Deactivated; kept for history, excluded from payroll.
    Inactive,
}

impl EmployeeStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// An employee as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Employee {
    /// Id.
    #[schema(value_type = Uuid)]
    pub id: EmployeeId,
    /// Department, if assigned.
    pub department_id: Option<Uuid>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Work email (unique within the tenant).
    pub email: String,
    /// Job title.
    pub job_title: String,
    /// `active` or `inactive` (text in the database, under a CHECK of the same set).
    pub status: EmployeeStatus,
    /// Yearly salary in cents; shown to HR admins and to the employee themself only.
    pub salary_cents: Option<i64>,
    /// Hiring date.
    pub hired_on: NaiveDate,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

impl Employee {
    /// Hides the salary from callers who may not see it.
    fn redact_for(mut self, user: &AuthUser) -> Self {
        if user.role() != Role::HrAdmin && user.0.emp != Some(self.id) {
            self.salary_cents = None;
        }
        self
    }
}

const COLUMNS: &str = "id, department_id, first_name, last_name, email, job_title, status, \
                       salary_cents, hired_on, created_at, updated_at";

/// Filters of `GET /employees`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListEmployees {
    /// 1-based page number (default 1).
    #[param(schema_with = super::page_schema)]
    pub page: Option<u32>,
    /// Items per page (default 50).
    #[param(schema_with = super::per_page_schema)]
    pub per_page: Option<u32>,
    /// Only this department.
    pub department_id: Option<Uuid>,
    /// Only this status.
    #[param(inline)]
    pub status: Option<EmployeeStatus>,
    /// Case-insensitive substring of "first last".
    #[param(inline)]
    pub q: Option<SearchText>,
}

/// Escapes LIKE metacharacters so a search for `50%` means the text, not a pattern.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Lists employees of the caller's tenant, ordered by name.
#[utoipa::path(get, path = "/employees", tag = "employees", params(ListEmployees),
    responses((status = 200, description = "One page of employees", body = Page<Employee>)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(filter): Query<ListEmployees>,
) -> ApiResult<Json<Page<Employee>>> {
    let (page, per_page, offset) = if state.defects.unchecked_pagination {
        // SEEDED DEFECT unchecked_pagination: the page taken as given, so page 0 is a
        // negative OFFSET that reaches Postgres.
        let (page, per_page) = (filter.page.unwrap_or(1), filter.per_page.unwrap_or(50));
        (page, per_page, (i64::from(page) - 1) * i64::from(per_page))
    } else {
        Pagination {
            page: filter.page,
            per_page: filter.per_page,
        }
        .resolve()?
    };
    let pattern = filter.q.as_deref().map(like_pattern);
    let status = filter.status.map(EmployeeStatus::as_str);
    // One statement shape for every filter combination keeps the prepared-statement cache
    // small; `$n IS NULL OR ...` lets the planner drop absent filters.
    const WHERE: &str = "WHERE tenant_id = $1 \
         AND ($2::uuid IS NULL OR department_id = $2) \
         AND ($3::text IS NULL OR status = $3) \
         AND ($4::text IS NULL OR (first_name || ' ' || last_name) ILIKE $4)";
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    if state.defects.missing_index {
        // SEEDED DEFECT `missing_index`: the list planned as if its index were missing.
        crate::perf_defects::plan_without_indexes(&mut tx).await?;
    }
    let items: Vec<Employee> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees {WHERE} ORDER BY last_name, first_name, id LIMIT $5 OFFSET $6"
    )))
    .bind(user.tenant())
    .bind(filter.department_id)
    .bind(status)
    .bind(&pattern)
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    // SEEDED DEFECT `n_plus_one`: each row of the page loaded again, one statement each.
    let items = if state.defects.n_plus_one {
        let ids = items.iter().map(|e| e.id).collect::<Vec<_>>();
        crate::perf_defects::load_one_by_one(&mut tx, COLUMNS, user.tenant(), ids).await?
    } else {
        items
    };
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM employees {WHERE}"
    )))
    .bind(user.tenant())
    .bind(filter.department_id)
    .bind(status)
    .bind(&pattern)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await?;
    let items = items.into_iter().map(|e| e.redact_for(&user)).collect();
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// Fetches one employee of the caller's tenant (404 for other tenants' ids).
#[utoipa::path(get, path = "/employees/{id}", tag = "employees", params(("id" = Uuid, Path, description = "Employee id")),
    responses((status = 200, description = "The employee (salary only for HR admins and the employee)", body = Employee), (status = 404, description = "No such employee in the tenant", body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<EmployeeId>,
) -> ApiResult<Json<Employee>> {
    if state.defects.unscoped_employee_read {
        return unscoped_get(&state, &user, id).await;
    }
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let employee = fetch(&mut tx, user.tenant(), id).await?;
    tx.commit().measured().await?;
    Ok(Json(employee.redact_for(&user)))
}

/// SEEDED DEFECT `unscoped_employee_read`: a "quick" lookup by primary key on a plain pool
/// transaction (the connecting superuser, so row-level security does not apply) that
/// forgets the tenant filter. Any tenant's employee comes back.
async fn unscoped_get(
    state: &AppState,
    user: &AuthUser,
    id: EmployeeId,
) -> ApiResult<Json<Employee>> {
    let employee: Employee = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.db)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("employee"))?;
    Ok(Json(employee.redact_for(user)))
}

/// Loads one employee inside a tenant transaction.
pub async fn fetch(tx: &mut db::TenantTx, tenant: TenantId, id: EmployeeId) -> ApiResult<Employee> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM employees WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("employee"))
}

/// Body of `POST /employees`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployee {
    /// Given name.
    pub first_name: Name,
    /// Family name.
    pub last_name: Name,
    /// Work email; also the login of the account made when `password` is given.
    pub email: Email,
    /// Job title.
    pub job_title: Option<ShortText>,
    /// Department of the caller's tenant.
    pub department_id: Option<Uuid>,
    /// Yearly salary in cents.
    #[serde(default)]
    #[schema(schema_with = salary_schema)]
    pub salary_cents: i64,
    /// Hiring date (defaults to today).
    pub hired_on: Option<NaiveDate>,
    /// Given: the employee also gets a login (role `employee`, e-mail as user name) with
    /// this password. E-mails of logins are unique across tenants: a taken one is a 409.
    pub password: Option<NewPassword>,
    /// Never settable: the tenant comes from the token. Parsed only so that a body carrying
    /// it gets a clear 422 (and so the seeded defect `mass_assignable_tenant` can honour it).
    #[serde(default)]
    #[schema(ignore)]
    pub tenant_id: Option<TenantId>,
}

/// Highest yearly salary accepted, in cents (a billion): above it is a typo, not a salary.
pub const SALARY_MAX_CENTS: i64 = 100_000_000_000;

/// Schema of `salary_cents`: the limits [`check_salary`] enforces.
fn salary_schema() -> utoipa::openapi::schema::Object {
    super::integer_schema(0, SALARY_MAX_CENTS)
}

fn check_salary(value: i64) -> ApiResult<()> {
    if (0..=SALARY_MAX_CENTS).contains(&value) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_field",
            format!("salary_cents must be 0..={SALARY_MAX_CENTS}"),
        ))
    }
}

/// Creates an employee (HR admins only).
#[utoipa::path(post, path = "/employees", tag = "employees", params(crate::idempotency::IdempotencyHeader), request_body = NewEmployee,
    responses((status = 201, description = "The employee created (and its login, with a password)", body = Employee), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 409, description = "The e-mail is taken: by an employee of the tenant, or by any login", body = crate::error::ErrorBody), (status = 422, description = "Invalid field, tenant_id given, or an unknown department", body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Json(body): Json<NewEmployee>,
) -> ApiResult<Response> {
    user.require(&[Role::HrAdmin])?;
    check_salary(body.salary_cents)?;
    let password_hash = match &body.password {
        Some(password) => Some(onboarding::hash_password(&state, password).await?),
        None => None,
    };
    let tenant = match body.tenant_id {
        // SEEDED DEFECT `mass_assignable_tenant`: the body's tenant wins over the token's.
        Some(t) if state.defects.mass_assignable_tenant => t,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "tenant_id cannot be set: the tenant comes from the access token",
            ));
        }
        None => user.tenant(),
    };
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem.claim(&mut tx, tenant, "POST /employees").await? {
        return Ok(replay);
    }
    let employee: Employee = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO employees (id, tenant_id, department_id, first_name, last_name, email, job_title, \
         salary_cents, hired_on) VALUES ($1, $2, $3, $4, $5, lower($6), $7, $8, coalesce($9, CURRENT_DATE)) \
         RETURNING {COLUMNS}"
    )))
    .bind(EmployeeId::random())
    .bind(tenant)
    .bind(body.department_id)
    .bind(body.first_name.as_str())
    .bind(body.last_name.as_str())
    .bind(body.email.as_str())
    .bind(body.job_title.as_deref().unwrap_or_default())
    .bind(body.salary_cents)
    .bind(body.hired_on)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    onboarding::seed_balances(&mut tx, tenant, employee.id).await?;
    if let Some(hash) = password_hash {
        onboarding::create_login(&mut tx, tenant, &employee, &hash).await?;
    }
    let response = idem
        .finish(tx, tenant, StatusCode::CREATED, &employee)
        .await;
    // Department head counts in the cached department list are stale from here on.
    state.cache.invalidate(tenant);
    response
}

/// Body of `PATCH /employees/{id}`: only the fields present change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeUpdate {
    /// Given name.
    pub first_name: Option<Name>,
    /// Family name.
    pub last_name: Option<Name>,
    /// Job title.
    pub job_title: Option<ShortText>,
    /// Department.
    pub department_id: Option<Uuid>,
    /// Yearly salary in cents.
    #[schema(schema_with = salary_schema)]
    pub salary_cents: Option<i64>,
}

/// Updates an employee (HR admins only).
#[utoipa::path(patch, path = "/employees/{id}", tag = "employees", params(("id" = Uuid, Path, description = "Employee id"), crate::idempotency::IdempotencyHeader), request_body = EmployeeUpdate,
    responses((status = 200, description = "The employee updated", body = Employee), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 404, description = "No such employee in the tenant", body = crate::error::ErrorBody), (status = 422, description = "Invalid field or an unknown department", body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Path(id): Path<EmployeeId>,
    Json(body): Json<EmployeeUpdate>,
) -> ApiResult<Response> {
    user.require(&[Role::HrAdmin])?;
    if let Some(v) = body.salary_cents {
        check_salary(v)?;
    }
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem
        .claim(&mut tx, tenant, &format!("PATCH /employees/{id}"))
        .await?
    {
        return Ok(replay);
    }
    let employee: Employee = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE employees SET first_name = coalesce($3, first_name), last_name = coalesce($4, last_name), \
         job_title = coalesce($5, job_title), department_id = coalesce($6, department_id), \
         salary_cents = coalesce($7, salary_cents), updated_at = now() \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(body.first_name.as_deref())
    .bind(body.last_name.as_deref())
    .bind(body.job_title.as_deref())
    .bind(body.department_id)
    .bind(body.salary_cents)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("employee"))?;
    let response = idem.finish(tx, tenant, StatusCode::OK, &employee).await;
    state.cache.invalidate(tenant);
    response
}

/// Deactivates an employee (HR admins only); idempotent by nature.
#[utoipa::path(post, path = "/employees/{id}/deactivate", tag = "employees", params(("id" = Uuid, Path, description = "Employee id"), crate::idempotency::IdempotencyHeader),
    responses((status = 200, description = "The employee, inactive; its login and tokens stop working (tokens within 2 s)", body = Employee), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 404, description = "No such employee in the tenant", body = crate::error::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Path(id): Path<EmployeeId>,
) -> ApiResult<Response> {
    user.require(&[Role::HrAdmin])?;
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem
        .claim(&mut tx, tenant, &format!("POST /employees/{id}/deactivate"))
        .await?
    {
        return Ok(replay);
    }
    let employee: Employee = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE employees SET status = 'inactive', updated_at = now() \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("employee"))?;
    let response = idem.finish(tx, tenant, StatusCode::OK, &employee).await;
    state.cache.invalidate(tenant);
    // This process refuses the employee's tokens from the next request on; other processes
    // within `sessions::TTL`.
    state.accounts.forget_employee(id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_metacharacters() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(like_pattern("50%_\\"), "%50\\%\\_\\\\%");
    }

    #[test]
    fn field_checks() {
        assert!(check_salary(-1).is_err());
        assert!(check_salary(SALARY_MAX_CENTS).is_ok());
        assert!(check_salary(SALARY_MAX_CENTS + 1).is_err());
    }
}
