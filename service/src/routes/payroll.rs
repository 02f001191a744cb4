//! Payroll: start a run (queued for the workers), run status, payslips.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Page, Pagination};
use crate::auth::{AuthUser, Role};
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::idempotency::IdempotencyKey;
use crate::ids::{EmployeeId, TenantId};
use crate::jobs::PayrollJob;
use crate::state::AppState;

/// A payroll run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PayrollRun {
    /// Id.
    pub id: Uuid,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: NaiveDate,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    /// Payslips written so far.
    pub payslip_count: i64,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// When a worker first picked it up.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
}

const RUN_SELECT: &str = "SELECT r.id, r.period_start, r.period_end, r.status, r.created_at, r.started_at, \
     r.completed_at, (SELECT count(*) FROM payslips p WHERE p.tenant_id = r.tenant_id AND p.run_id = r.id) \
     AS payslip_count FROM payroll_runs r";

/// Longest payroll period, in days counting both ends: a leap year.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Body of `POST /payroll/runs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayrollRun {
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day (inclusive; the period spans at most 366 days counting both ends).
    pub period_end: NaiveDate,
}

/// Starts a payroll run (HR admins only): answers 202 at once; the workers write one
/// payslip per active employee.
#[utoipa::path(post, path = "/payroll/runs", tag = "payroll", params(crate::idempotency::IdempotencyHeader), request_body = NewPayrollRun,
    responses((status = 202, description = "The run, queued", body = PayrollRun), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 422, description = "The period is reversed or longer than allowed", body = crate::error::ErrorBody), (status = 503, description = "Redis (the job queue) or Postgres is unavailable", body = crate::error::ErrorBody)))]
pub async fn start_run(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
    Json(body): Json<NewPayrollRun>,
) -> ApiResult<Response> {
    user.require(&[Role::HrAdmin])?;
    let days = (body.period_end - body.period_start).num_days() + 1;
    if !(1..=MAX_PERIOD_DAYS).contains(&days) {
        return Err(ApiError::unprocessable(
            "invalid_range",
            format!("the period must be 1..={MAX_PERIOD_DAYS} days, its end not before its start"),
        ));
    }
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem.claim(&mut tx, tenant, "POST /payroll/runs").await? {
        return Ok(replay);
    }
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO payroll_runs (id, tenant_id, period_start, period_end) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(tenant)
        .bind(body.period_start)
        .bind(body.period_end)
        .execute(&mut *tx)
        .measured()
        .await?;
    let run: PayrollRun = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RUN_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_one(&mut *tx)
    .measured()
    .await?;
    // Enqueue before commit: if Redis is down the whole request fails (503) and no orphan
    // run is left queued forever. A worker that sees the job before the commit retries.
    state
        .jobs
        .enqueue(&PayrollJob {
            tenant_id: tenant,
            run_id: id,
            attempts: 0,
        })
        .await?;
    idem.finish(tx, tenant, StatusCode::ACCEPTED, &run).await
}

/// Status and progress of a run (HR admins only).
#[utoipa::path(get, path = "/payroll/runs/{id}", tag = "payroll", params(("id" = Uuid, Path, description = "Payroll run id")),
    responses((status = 200, description = "Status and progress", body = PayrollRun), (status = 403, description = "The caller's role may not do this", body = crate::error::ErrorBody), (status = 404, description = "No such run in the tenant", body = crate::error::ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<PayrollRun>> {
    user.require(&[Role::HrAdmin])?;
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let run = fetch_run(&mut tx, user.tenant(), id).await?;
    tx.commit().measured().await?;
    Ok(Json(run))
}

async fn fetch_run(tx: &mut db::TenantTx, tenant: TenantId, id: Uuid) -> ApiResult<PayrollRun> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RUN_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("payroll run"))
}

/// A payslip.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Payslip {
    /// Id.
    pub id: Uuid,
    /// The run that produced it.
    pub run_id: Uuid,
    /// Whose.
    #[schema(value_type = Uuid)]
    pub employee_id: EmployeeId,
    /// Gross pay in cents.
    pub gross_cents: i64,
    /// Tax withheld in cents.
    pub tax_cents: i64,
    /// Net pay in cents.
    pub net_cents: i64,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

const SLIP_COLUMNS: &str = "id, run_id, employee_id, gross_cents, tax_cents, net_cents, created_at";

/// Payslips of a run: HR admins see all, others only their own.
#[utoipa::path(get, path = "/payroll/runs/{id}/payslips", tag = "payroll", params(("id" = Uuid, Path, description = "Payroll run id"), Pagination),
    responses((status = 200, description = "One page of the run's payslips the caller may see", body = Page<Payslip>), (status = 404, description = "No such run in the tenant", body = crate::error::ErrorBody)))]
pub async fn list_payslips(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Query(pagination): Query<Pagination>,
) -> ApiResult<Json<Page<Payslip>>> {
    let (page, per_page, offset) = pagination.resolve()?;
    let all = user.role() == Role::HrAdmin;
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    fetch_run(&mut tx, tenant, id).await?;
    const WHERE: &str = "WHERE tenant_id = $1 AND run_id = $2 AND ($3 OR employee_id = $4)";
    let items: Vec<Payslip> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SLIP_COLUMNS} FROM payslips {WHERE} ORDER BY employee_id LIMIT $5 OFFSET $6"
    )))
    .bind(tenant)
    .bind(id)
    .bind(all)
    .bind(user.0.emp)
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM payslips {WHERE}"
    )))
    .bind(tenant)
    .bind(id)
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

/// One payslip: HR admins any of the tenant, others only their own (else 404).
#[utoipa::path(get, path = "/payslips/{id}", tag = "payroll", params(("id" = Uuid, Path, description = "Payslip id")),
    responses((status = 200, description = "The payslip", body = Payslip), (status = 404, description = "No such payslip visible to the caller", body = crate::error::ErrorBody)))]
pub async fn get_payslip(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Payslip>> {
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    let slip: Payslip = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SLIP_COLUMNS} FROM payslips WHERE tenant_id = $1 AND id = $2 AND ($3 OR employee_id = $4)"
    )))
    .bind(user.tenant())
    .bind(id)
    .bind(user.role() == Role::HrAdmin)
    .bind(user.0.emp)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or(ApiError::NotFound("payslip"))?;
    tx.commit().measured().await?;
    Ok(Json(slip))
}
