//! Departments: list, get, create (with an optional manager).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Page, Pagination};
use crate::auth::{AuthUser, Role};
use crate::cache::CacheKey;
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::idempotency::IdempotencyKey;
use crate::ids::EmployeeId;
use crate::state::AppState;
use crate::text::Name;

/// A department.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Department {
    /// Id.
    pub id: Uuid,
    /// Name (unique within the tenant).
    pub name: String,
    /// The managing employee, if any.
    #[schema(value_type = Option<Uuid>)]
    pub manager_employee_id: Option<EmployeeId>,
    /// Employees currently in the department.
    pub employee_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT d.id, d.name, d.manager_employee_id, d.created_at, \
     (SELECT count(*) FROM employees e WHERE e.tenant_id = d.tenant_id AND e.department_id = d.id) \
     AS employee_count FROM departments d";

/// Lists the tenant's departments by name.
#[utoipa::path(get, path = "/departments", tag = "departments", params(Pagination),
    responses((status = 200, description = "One page of departments", body = Page<Department>)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    uri: axum::http::Uri,
    Query(pagination): Query<Pagination>,
) -> ApiResult<Json<serde_json::Value>> {
    let (page, per_page, offset) = pagination.resolve()?;
    let key = CacheKey::new(user.tenant(), &uri.to_string(), &state.defects);
    if let Some(cached) = state.cache.get(&key) {
        return Ok(Json(cached));
    }
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let items: Vec<Department> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.tenant_id = $1 ORDER BY d.name, d.id LIMIT $2 OFFSET $3"
    )))
    .bind(user.tenant())
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    let (total,): (i64,) = sqlx::query_as("SELECT count(*) FROM departments WHERE tenant_id = $1")
        .bind(user.tenant())
        .fetch_one(&mut *tx)
        .measured()
        .await?;
    tx.commit().measured().await?;
    let body = serde_json::to_value(Page {
        items,
        page,
        per_page,
        total,
    })
    .map_err(|e| ApiError::Internal(format!("serializing departments: {e}")))?;
    state.cache.put(key, body.clone());
    Ok(Json(body))
}

/// Fetches one department of the caller's tenant.
#[utoipa::path(get, path = "/departments/{id}", tag = "departments", params(("id" = Uuid, Path, description = "Department id")),
    responses((status = 200, description = "The department", body = Department), (status = 404, description = "No such department in the tenant", body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Department>> {
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let department: Department = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.id = $2"
    )))
    .bind(user.tenant())
    .bind(id)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("department"))?;
    tx.commit().measured().await?;
    Ok(Json(department))
}

/// Body of `POST /departments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    /// Name (unique within the tenant).
    pub name: Name,
    /// An employee of the caller's tenant to manage it.
    #[schema(value_type = Option<Uuid>)]
    pub manager_employee_id: Option<EmployeeId>,
}

/// Creates a department (HR admins only).
#[utoipa::path(post, path = "/departments", tag = "departments", params(crate::idempotency::IdempotencyHeader), request_body = NewDepartment,
    responses((status = 201, description = "The department created", body = Department), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 409, description = "A department with this name exists", body = crate::error::ErrorBody), (status = 422, description = "Invalid field, or the manager is not an employee of the tenant", body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Json(body): Json<NewDepartment>,
) -> ApiResult<Response> {
    user.require(&[Role::HrAdmin])?;
    let name = body.name.as_str();
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem.claim(&mut tx, tenant, "POST /departments").await? {
        return Ok(replay);
    }
    // The composite foreign key refuses a manager from another tenant (422), exactly like a
    // manager that does not exist.
    let department: Department = sqlx::query_as(
        "INSERT INTO departments (id, tenant_id, name, manager_employee_id) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, manager_employee_id, created_at, 0::bigint AS employee_count",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(name)
    .bind(body.manager_employee_id)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    let response = idem
        .finish(tx, tenant, StatusCode::CREATED, &department)
        .await;
    // The cached department list of this tenant is stale from here on.
    state.cache.invalidate(tenant);
    response
}
