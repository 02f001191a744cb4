//! Platform operator routes (`/admin/*`): per-tenant rate-limit overrides and live usage.
//!
//! These are platform-scoped, not tenant-scoped: they run on the service's own connection
//! role (no `hrms_app`, no tenant setting) and are reachable only with the operator token.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Operator;
use crate::cost::Measure;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::ratelimit::{ClassLimits, EndpointClass, RateLimiter, TenantUsage};
use crate::state::AppState;

/// A bucket shape set by the operator.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitOverride {
    /// Burst size (tokens).
    pub capacity: u32,
    /// Sustained requests per second.
    pub refill_per_sec: f64,
}

/// Overrides of one tenant; an absent or `null` class follows the tenant's tier.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    /// Read endpoints.
    pub read: Option<LimitOverride>,
    /// Write endpoints.
    pub write: Option<LimitOverride>,
    /// Heavy endpoints (payroll runs, reports).
    pub heavy: Option<LimitOverride>,
}

impl TenantLimits {
    fn get(&self, class: EndpointClass) -> Option<LimitOverride> {
        match class {
            EndpointClass::Read => self.read,
            EndpointClass::Write => self.write,
            EndpointClass::Heavy => self.heavy,
        }
    }

    fn slot(&mut self, class: EndpointClass) -> &mut Option<LimitOverride> {
        match class {
            EndpointClass::Read => &mut self.read,
            EndpointClass::Write => &mut self.write,
            EndpointClass::Heavy => &mut self.heavy,
        }
    }
}

fn to_class_limits(o: LimitOverride) -> ApiResult<ClassLimits> {
    ClassLimits::new(o.capacity, o.refill_per_sec)
        .map_err(|e| ApiError::unprocessable("invalid_limits", e.to_string()))
}

/// Replaces a tenant's overrides (persisted, then pushed into the limiter).
#[utoipa::path(put, path = "/admin/tenants/{id}/limits", tag = "admin", params(("id" = Uuid, Path, description = "Tenant id")), request_body = TenantLimits,
    responses((status = 200, description = "The overrides now in force", body = TenantLimits), (status = 404, description = "No such tenant", body = crate::error::ErrorBody), (status = 422, description = "A limit is out of range", body = crate::error::ErrorBody)))]
pub async fn set_limits(
    State(state): State<AppState>,
    _: Operator,
    Path(tenant): Path<Uuid>,
    Json(body): Json<TenantLimits>,
) -> ApiResult<Json<TenantLimits>> {
    // Validate everything before writing anything.
    let mut validated = Vec::new();
    for class in EndpointClass::ALL {
        validated.push((class, body.get(class).map(to_class_limits).transpose()?));
    }
    let mut tx = crate::cost::pool_wait(crate::db::exhausted(&state.db), state.db.begin()).await?;
    let exists: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .measured()
        .await?;
    exists.ok_or(ApiError::NotFound("tenant"))?;
    sqlx::query("DELETE FROM tenant_rate_limits WHERE tenant_id = $1")
        .bind(tenant)
        .execute(&mut *tx)
        .measured()
        .await?;
    for (class, limits) in &validated {
        let Some(limits) = limits else { continue };
        sqlx::query("INSERT INTO tenant_rate_limits (tenant_id, class, capacity, refill_per_sec) VALUES ($1, $2, $3, $4)")
            .bind(tenant)
            .bind(class.as_str())
            .bind(i32::try_from(limits.capacity).unwrap_or(i32::MAX))
            .bind(limits.refill_per_sec)
            .execute(&mut *tx)
            .measured()
            .await?;
    }
    tx.commit().measured().await?;
    for (class, limits) in validated {
        state.limiter.set_override(tenant, class, limits);
    }
    tracing::info!(%tenant, "rate-limit overrides replaced");
    Ok(Json(body))
}

/// A tenant's current overrides.
#[utoipa::path(get, path = "/admin/tenants/{id}/limits", tag = "admin", params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant's overrides", body = TenantLimits), (status = 404, description = "No such tenant", body = crate::error::ErrorBody)))]
pub async fn get_limits(
    State(state): State<AppState>,
    _: Operator,
    Path(tenant): Path<Uuid>,
) -> ApiResult<Json<TenantLimits>> {
    let exists: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_optional(&state.db)
        .measured()
        .await?;
    exists.ok_or(ApiError::NotFound("tenant"))?;
    let mut out = TenantLimits::default();
    for (_, class, limits) in load_rows(&state.db, Some(tenant)).await? {
        *out.slot(class) = Some(LimitOverride {
            capacity: limits.capacity,
            refill_per_sec: limits.refill_per_sec,
        });
    }
    Ok(Json(out))
}

/// Live per-tenant usage as this process sees it.
#[utoipa::path(get, path = "/admin/rate-limits/usage", tag = "admin",
    responses((status = 200, description = "Usage of every bucket this process has seen", body = [TenantUsage])))]
pub async fn usage(State(state): State<AppState>, _: Operator) -> Json<Vec<TenantUsage>> {
    Json(state.limiter.usage_snapshot())
}

async fn load_rows(
    pool: &PgPool,
    tenant: Option<Uuid>,
) -> ApiResult<Vec<(Uuid, EndpointClass, ClassLimits)>> {
    let rows: Vec<(Uuid, String, i32, f64)> = sqlx::query_as(
        "SELECT tenant_id, class, capacity, refill_per_sec FROM tenant_rate_limits \
         WHERE $1::uuid IS NULL OR tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .measured()
    .await?;
    rows.into_iter()
        .map(|(tenant, class, capacity, refill)| {
            let class: EndpointClass = class
                .parse()
                .map_err(|_| ApiError::Internal(format!("bad class in database: {class}")))?;
            let limits = ClassLimits::new(u32::try_from(capacity).unwrap_or(1), refill)
                .map_err(|e| ApiError::Internal(format!("bad limits in database: {e}")))?;
            Ok((tenant, class, limits))
        })
        .collect()
}

/// Pushes every stored override into the limiter (at start).
pub async fn load_overrides(pool: &PgPool, limiter: &RateLimiter) -> ApiResult<usize> {
    let rows = load_rows(pool, None).await?;
    let count = rows.len();
    for (tenant, class, limits) in rows {
        limiter.set_override(tenant, class, Some(limits));
    }
    Ok(count)
}
