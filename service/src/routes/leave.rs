//! Leave: request, list, approve/reject, balances.
//!
//! Balances are per (employee, leave type, year). Approval deducts inside the same
//! transaction that flips the status, and a CHECK constraint (`used_days <= entitled_days`)
//! makes overdrawing impossible even when two approvals race.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Page, Pagination};
use crate::auth::{AuthUser, Role};
use crate::cost::Measure;
use crate::db::{self, TenantTx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::idempotency::IdempotencyKey;
use crate::ids::{EmployeeId, TenantId};
use crate::state::AppState;
use crate::text::LongText;

/// Kinds of leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeaveType {
    /// Paid holiday.
    Annual,
    /// Sickness.
    Sick,
    /// Unpaid leave.
    Unpaid,
}

impl LeaveType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Annual => "annual",
            Self::Sick => "sick",
            Self::Unpaid => "unpaid",
        }
    }
}

/// A leave request.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeaveRequest {
    /// Id.
    pub id: Uuid,
    /// Who asks.
    #[schema(value_type = Uuid)]
    pub employee_id: EmployeeId,
    /// `annual`, `sick` or `unpaid`.
    #[schema(value_type = LeaveType)]
    pub leave_type: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (inclusive).
    pub end_date: NaiveDate,
    /// Calendar days requested.
    pub days: i32,
    /// Free text.
    pub reason: String,
    /// `pending`, `approved` or `rejected`.
    #[schema(value_type = LeaveStatus)]
    pub status: String,
    /// Who decided.
    pub decided_by: Option<Uuid>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, employee_id, leave_type, start_date, end_date, days, reason, status, decided_by, decided_at, created_at";

/// Longest single request, in days.
const MAX_DAYS: i64 = 90;

/// Body of `POST /leave/requests`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeaveRequest {
    /// Kind of leave.
    pub leave_type: LeaveType,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (inclusive, same calendar year).
    pub end_date: NaiveDate,
    /// Free text.
    pub reason: Option<LongText>,
}

fn requested_days(body: &NewLeaveRequest) -> ApiResult<i32> {
    if body.end_date < body.start_date {
        return Err(ApiError::unprocessable(
            "invalid_range",
            "end_date is before start_date",
        ));
    }
    if body.end_date.year() != body.start_date.year() {
        return Err(ApiError::unprocessable(
            "invalid_range",
            "a request must stay within one calendar year",
        ));
    }
    let days = (body.end_date - body.start_date).num_days() + 1;
    if days > MAX_DAYS {
        return Err(ApiError::unprocessable(
            "invalid_range",
            format!("at most {MAX_DAYS} days per request"),
        ));
    }
    Ok(i32::try_from(days).unwrap_or(i32::MAX))
}

/// Requests leave for the caller's own employee record.
#[utoipa::path(post, path = "/leave/requests", tag = "leave", params(crate::idempotency::IdempotencyHeader), request_body = NewLeaveRequest,
    responses((status = 201, description = "The request, pending", body = LeaveRequest), (status = 422, description = "No employee record, a bad range, or not enough balance", body = crate::error::ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Json(body): Json<NewLeaveRequest>,
) -> ApiResult<Response> {
    let employee = user.employee()?;
    let days = requested_days(&body)?;
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem.claim(&mut tx, tenant, "POST /leave/requests").await? {
        return Ok(replay);
    }
    let available: Option<(i32,)> = sqlx::query_as(
        "SELECT entitled_days - used_days FROM leave_balances \
         WHERE tenant_id = $1 AND employee_id = $2 AND leave_type = $3 AND year = $4",
    )
    .bind(tenant)
    .bind(employee)
    .bind(body.leave_type.as_str())
    .bind(body.start_date.year())
    .fetch_optional(&mut *tx)
    .measured()
    .await?;
    if available.is_none_or(|(left,)| left < days) {
        return Err(ApiError::unprocessable(
            "insufficient_balance",
            "not enough leave left for that year",
        ));
    }
    let created: LeaveRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO leave_requests (id, tenant_id, employee_id, leave_type, start_date, end_date, days, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(employee)
    .bind(body.leave_type.as_str())
    .bind(body.start_date)
    .bind(body.end_date)
    .bind(days)
    .bind(body.reason.as_deref().unwrap_or_default())
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    idem.finish(tx, tenant, StatusCode::CREATED, &created).await
}

/// Filters of `GET /leave/requests`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListLeave {
    /// 1-based page (default 1).
    #[param(schema_with = super::page_schema)]
    pub page: Option<u32>,
    /// Items per page (default 50).
    #[param(schema_with = super::per_page_schema)]
    pub per_page: Option<u32>,
    /// Only requests in this state.
    #[param(inline)]
    pub status: Option<LeaveStatus>,
}

/// Decision state of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeaveStatus {
    /// Awaiting a decision.
    Pending,
    /// Granted.
    Approved,
    /// Refused.
    Rejected,
}

/// Lists requests the caller may see: employees their own, managers also their departments',
/// HR admins all of the tenant.
#[utoipa::path(get, path = "/leave/requests", tag = "leave", params(ListLeave),
    responses((status = 200, description = "One page of the requests the caller may see", body = Page<LeaveRequest>)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(filter): Query<ListLeave>,
) -> ApiResult<Json<Page<LeaveRequest>>> {
    let (page, per_page, offset) = Pagination {
        page: filter.page,
        per_page: filter.per_page,
    }
    .resolve()?;
    let status = filter.status.map(|s| match s {
        LeaveStatus::Pending => "pending",
        LeaveStatus::Approved => "approved",
        LeaveStatus::Rejected => "rejected",
    });
    let all = user.role() == Role::HrAdmin;
    const WHERE: &str = "WHERE r.tenant_id = $1 AND ($2::text IS NULL OR r.status = $2) AND ($3 \
         OR r.employee_id = $4 \
         OR EXISTS (SELECT 1 FROM employees e JOIN departments d \
                    ON d.tenant_id = e.tenant_id AND d.id = e.department_id \
                    WHERE e.tenant_id = r.tenant_id AND e.id = r.employee_id AND d.manager_employee_id = $4))";
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let items: Vec<LeaveRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM leave_requests r {WHERE} ORDER BY r.created_at DESC, r.id LIMIT $5 OFFSET $6"
    )))
    .bind(user.tenant())
    .bind(status)
    .bind(all)
    .bind(user.0.emp)
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM leave_requests r {WHERE}"
    )))
    .bind(user.tenant())
    .bind(status)
    .bind(all)
    .bind(user.0.emp)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await?;
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// Approves a pending request and deducts the balance.
#[utoipa::path(post, path = "/leave/requests/{id}/approve", tag = "leave", params(("id" = Uuid, Path, description = "Leave request id"), crate::idempotency::IdempotencyHeader),
    responses((status = 200, description = "The request, approved; the balance deducted", body = LeaveRequest), (status = 403, description = "Not the requester's manager or an HR admin, or the caller's own request (self_decision)", body = crate::error::ErrorBody), (status = 404, description = "No such request in the tenant", body = crate::error::ErrorBody), (status = 409, description = "Already decided", body = crate::error::ErrorBody), (status = 422, description = "No employee record, or not enough balance", body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    decide(state, user, idem, id, true).await
}

/// Rejects a pending request.
#[utoipa::path(post, path = "/leave/requests/{id}/reject", tag = "leave", params(("id" = Uuid, Path, description = "Leave request id"), crate::idempotency::IdempotencyHeader),
    responses((status = 200, description = "The request, rejected", body = LeaveRequest), (status = 403, description = "Not the requester's manager or an HR admin, or the caller's own request (self_decision)", body = crate::error::ErrorBody), (status = 404, description = "No such request in the tenant", body = crate::error::ErrorBody), (status = 409, description = "Already decided", body = crate::error::ErrorBody), (status = 422, description = "The caller has no employee record", body = crate::error::ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    decide(state, user, idem, id, false).await
}

async fn decide(
    state: AppState,
    user: AuthUser,
    idem: IdempotencyKey,
    id: Uuid,
    approve: bool,
) -> ApiResult<Response> {
    // SEEDED DEFECT `employee_can_approve_leave`: the role requirement is skipped.
    if !state.defects.employee_can_approve_leave {
        user.require(&[Role::Manager, Role::HrAdmin])?;
    }
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    let verb = if approve { "approve" } else { "reject" };
    if let Some(replay) = idem
        .claim(
            &mut tx,
            tenant,
            &format!("POST /leave/requests/{id}/{verb}"),
        )
        .await?
    {
        return Ok(replay);
    }
    // Lock the request so two deciders cannot both act on it.
    let current: LeaveRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM leave_requests WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("leave request"))?;
    check_decider(&mut tx, &user, current.employee_id, &state.defects).await?;
    if current.status != "pending" {
        return Err(ApiError::conflict(
            "already_decided",
            format!("the request is already {}", current.status),
        ));
    }
    if approve {
        deduct(&mut tx, tenant, &current).await?;
    }
    let decided: LeaveRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE leave_requests SET status = $3, decided_by = $4, decided_at = now() \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind(user.0.sub)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    idem.finish(tx, tenant, StatusCode::OK, &decided).await
}

/// Nobody decides their own request (segregation of duties); HR admins decide any other,
/// managers those of employees in departments they manage.
async fn check_decider(
    tx: &mut TenantTx,
    user: &AuthUser,
    employee: EmployeeId,
    defects: &crate::defects::Defects,
) -> ApiResult<()> {
    if user.role() == Role::HrAdmin {
        // SEEDED DEFECT `self_approval_allowed`: the most powerful role skips the rule.
        if user.0.emp == Some(employee) && !defects.self_approval_allowed {
            return Err(self_decision());
        }
        return Ok(());
    }
    let me = user.employee()?;
    if me == employee {
        return Err(self_decision());
    }
    // SEEDED DEFECT `employee_can_approve_leave`: only segregation of duties is checked, so
    // a plain employee decides without managing the requester.
    if defects.employee_can_approve_leave {
        return Ok(());
    }
    let (manages,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM employees e JOIN departments d \
         ON d.tenant_id = e.tenant_id AND d.id = e.department_id \
         WHERE e.tenant_id = $1 AND e.id = $2 AND d.manager_employee_id = $3)",
    )
    .bind(user.tenant())
    .bind(employee)
    .bind(me)
    .fetch_one(&mut **tx)
    .measured()
    .await?;
    if manages {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

fn self_decision() -> ApiError {
    ApiError::denied(
        "self_decision",
        "nobody may approve or reject their own leave request",
    )
}

async fn deduct(tx: &mut TenantTx, tenant: TenantId, request: &LeaveRequest) -> ApiResult<()> {
    let updated = sqlx::query(
        "UPDATE leave_balances SET used_days = used_days + $5 \
         WHERE tenant_id = $1 AND employee_id = $2 AND leave_type = $3 AND year = $4",
    )
    .bind(tenant)
    .bind(request.employee_id)
    .bind(&request.leave_type)
    .bind(request.start_date.year())
    .bind(request.days)
    .execute(&mut **tx)
    .measured()
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Unprocessable { .. } => ApiError::unprocessable(
            "insufficient_balance",
            "not enough leave left for that year",
        ),
        other => other,
    })?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::unprocessable(
            "insufficient_balance",
            "no leave balance for that year",
        ));
    }
    Ok(())
}

/// One balance line.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeaveBalance {
    /// `annual`, `sick` or `unpaid`.
    #[schema(value_type = LeaveType)]
    pub leave_type: String,
    /// Calendar year.
    pub year: i32,
    /// Days granted.
    pub entitled_days: i32,
    /// Days taken (approved).
    pub used_days: i32,
    /// `entitled_days - used_days`.
    pub remaining_days: i32,
}

/// Balances of one employee (employees see only their own).
#[utoipa::path(get, path = "/employees/{id}/leave-balances", tag = "leave", params(("id" = Uuid, Path, description = "Employee id")),
    responses((status = 200, description = "Balances by year and type", body = [LeaveBalance]), (status = 404, description = "No such employee visible to the caller", body = crate::error::ErrorBody)))]
pub async fn balances(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<EmployeeId>,
) -> ApiResult<Json<Vec<LeaveBalance>>> {
    if user.role() == Role::Employee && user.0.emp != Some(id) {
        return Err(ApiError::NotFound("employee"));
    }
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    crate::routes::employees::fetch(&mut tx, user.tenant(), id).await?;
    let rows: Vec<LeaveBalance> = sqlx::query_as(
        "SELECT leave_type, year, entitled_days, used_days, entitled_days - used_days AS remaining_days \
         FROM leave_balances WHERE tenant_id = $1 AND employee_id = $2 ORDER BY year DESC, leave_type",
    )
    .bind(user.tenant())
    .bind(id)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await?;
    Ok(Json(rows))
}
