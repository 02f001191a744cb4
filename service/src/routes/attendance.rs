//! Attendance: clock in, clock out (the write-heavy path), history per employee.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::cost::Measure;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::idempotency::IdempotencyKey;
use crate::ids::{EmployeeId, TenantId};
use crate::state::AppState;

/// One shift.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Shift {
    /// Id.
    pub id: Uuid,
    /// Whose shift.
    #[schema(value_type = Uuid)]
    pub employee_id: EmployeeId,
    /// Start.
    pub clock_in: DateTime<Utc>,
    /// End; `null` while the shift is open.
    pub clock_out: Option<DateTime<Utc>>,
}

/// Opens a shift for the caller's own employee record; 409 if one is already open.
#[utoipa::path(post, path = "/attendance/clock-in", tag = "attendance", params(crate::idempotency::IdempotencyHeader),
    responses((status = 201, description = "The shift opened", body = Shift), (status = 409, description = "A shift is already open", body = crate::error::ErrorBody), (status = 422, description = "The caller has no employee record", body = crate::error::ErrorBody)))]
pub async fn clock_in(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
) -> ApiResult<Response> {
    let employee = user.employee()?;
    let tenant = user.tenant();
    if let Some(buffer) = &state.write_behind {
        return Ok(ack_before_durable(buffer, tenant, employee));
    }
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem
        .claim(&mut tx, tenant, "POST /attendance/clock-in")
        .await?
    {
        return Ok(replay);
    }
    if state.defects.lock_contention {
        // SEEDED DEFECT `lock_contention`: a hot row locked through a slow step.
        crate::perf_defects::hot_row(&mut tx, tenant).await?;
    }
    // The partial unique index makes the second open shift a unique violation; checking
    // first and inserting after would race under concurrent clock-ins.
    let shift: Shift = sqlx::query_as(
        "INSERT INTO attendance (id, tenant_id, employee_id, clock_in) VALUES ($1, $2, $3, now()) \
         RETURNING id, employee_id, clock_in, clock_out",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(employee)
    .fetch_one(&mut *tx)
    .measured()
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => ApiError::conflict("shift_open", "a shift is already open"),
        other => other,
    })?;
    idem.finish(tx, tenant, StatusCode::CREATED, &shift).await
}

/// Seeded defect `ack_before_durable`: answer 201 with the shift as if written, queue it for a
/// later flush. No open-shift check, no idempotency record: neither can be had without the
/// database this path is avoiding.
fn ack_before_durable(
    buffer: &crate::write_behind::WriteBehind,
    tenant: TenantId,
    employee: EmployeeId,
) -> Response {
    use axum::response::IntoResponse;
    let shift = Shift {
        id: Uuid::new_v4(),
        employee_id: employee,
        clock_in: Utc::now(),
        clock_out: None,
    };
    buffer.enqueue(crate::write_behind::PendingShift {
        id: shift.id,
        tenant,
        employee,
        clock_in: shift.clock_in,
    });
    (StatusCode::CREATED, axum::Json(shift)).into_response()
}

/// Closes the caller's open shift; 409 if none is open.
#[utoipa::path(post, path = "/attendance/clock-out", tag = "attendance", params(crate::idempotency::IdempotencyHeader),
    responses((status = 200, description = "The shift closed", body = Shift), (status = 409, description = "No shift is open", body = crate::error::ErrorBody), (status = 422, description = "The caller has no employee record", body = crate::error::ErrorBody)))]
pub async fn clock_out(
    State(state): State<AppState>,
    user: AuthUser,
    idem: IdempotencyKey,
) -> ApiResult<Response> {
    let employee = user.employee()?;
    let tenant = user.tenant();
    let mut tx = db::begin_tenant(&state.db, tenant).await?;
    if let Some(replay) = idem
        .claim(&mut tx, tenant, "POST /attendance/clock-out")
        .await?
    {
        return Ok(replay);
    }
    let shift: Shift = sqlx::query_as(
        "UPDATE attendance SET clock_out = greatest(now(), clock_in) \
         WHERE tenant_id = $1 AND employee_id = $2 AND clock_out IS NULL \
         RETURNING id, employee_id, clock_in, clock_out",
    )
    .bind(tenant)
    .bind(employee)
    .fetch_optional(&mut *tx)
    .measured()
    .await?
    .ok_or_else(|| ApiError::conflict("no_open_shift", "no shift is open"))?;
    idem.finish(tx, tenant, StatusCode::OK, &shift).await
}

/// Date range of `GET /employees/{id}/attendance` (inclusive, at most 366 days).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// First day (default: 30 days before `to`).
    pub from: Option<NaiveDate>,
    /// Last day (default: today).
    pub to: Option<NaiveDate>,
}

impl Range {
    /// Validated `(from, to)`.
    pub fn resolve(&self) -> ApiResult<(NaiveDate, NaiveDate)> {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or_else(|| to - chrono::Days::new(30));
        if from > to {
            return Err(ApiError::bad_request(
                "invalid_range",
                "from must not be after to",
            ));
        }
        if (to - from).num_days() > 366 {
            return Err(ApiError::bad_request(
                "invalid_range",
                "the range may span at most 366 days",
            ));
        }
        Ok((from, to))
    }
}

/// Shifts of one employee that started within the range. Employees see only their own.
#[utoipa::path(get, path = "/employees/{id}/attendance", tag = "attendance", params(("id" = Uuid, Path, description = "Employee id"), Range),
    responses((status = 200, description = "Shifts started within the range (at most 1000)", body = [Shift]), (status = 404, description = "No such employee visible to the caller", body = crate::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<EmployeeId>,
    Query(range): Query<Range>,
) -> ApiResult<Json<Vec<Shift>>> {
    let (from, to) = range.resolve()?;
    if user.role() == Role::Employee && user.0.emp != Some(id) {
        // Same answer as for an id that does not exist: no hint that it does.
        return Err(ApiError::NotFound("employee"));
    }
    let mut tx = db::begin_tenant(&state.db, user.tenant()).await?;
    crate::routes::employees::fetch(&mut tx, user.tenant(), id).await?;
    let shifts: Vec<Shift> = sqlx::query_as(
        "SELECT id, employee_id, clock_in, clock_out FROM attendance \
         WHERE tenant_id = $1 AND employee_id = $2 \
         AND clock_in >= $3::date AND clock_in < $4::date + 1 ORDER BY clock_in LIMIT 1000",
    )
    .bind(user.tenant())
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await?;
    Ok(Json(shifts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_are_validated() {
        let r = |from, to| Range { from, to }.resolve();
        assert!(r(Some(d("2026-01-01")), Some(d("2026-01-31"))).is_ok());
        assert!(r(Some(d("2026-02-01")), Some(d("2026-01-31"))).is_err());
        assert!(r(Some(d("2024-01-01")), Some(d("2026-01-31"))).is_err());
        let (from, to) = r(None, Some(d("2026-01-31"))).unwrap();
        assert_eq!((to - from).num_days(), 30);
    }
}
