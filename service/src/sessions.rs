//! Whether the account behind a valid token is still allowed in: tokens are stateless JWTs,
//! so deactivating an employee must be checked on every request, not only at login.
//!
//! The bound, and why: every tenant request asks this cache; an entry answers for at most
//! [`TTL`] (2 s), then the next request re-reads the account from Postgres (one indexed
//! primary-key lookup). The process that deactivates an employee also drops that employee's
//! entries at once, so on a single process an old token is refused by the very next
//! request; with several processes, every other one refuses it within [`TTL`]. Two seconds
//! keeps the read cost at about one query per active user per two seconds per process (a
//! check on every request would double the queries of the hottest reads), while any
//! longer would be a window a deactivated account could still write in. Redis is not used:
//! the limiter already tolerates Redis being away, and an access decision must not fail
//! open when it is.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::cost::Measure;
use crate::ids::{EmployeeId, TenantId};

/// How long a looked-up account status is trusted: the bound on how long a token of a
/// deactivated account keeps working on another process.
pub const TTL: Duration = Duration::from_secs(2);

/// Entries kept at most; beyond it the cache is cleared (bounded memory, simple).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    employee: Option<EmployeeId>,
    active: bool,
    checked: Instant,
}

/// Account statuses of users seen recently, by user id.
#[derive(Default)]
pub struct AccountStatus {
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl AccountStatus {
    /// Whether user `user` of `tenant` may still act: it exists and has no employee record
    /// or an active one. Fresh cache entries answer without a query.
    pub async fn is_active(
        &self,
        db: &PgPool,
        tenant: TenantId,
        user: Uuid,
    ) -> Result<bool, sqlx::Error> {
        if let Some(entry) = self.fresh(user) {
            return Ok(entry.active);
        }
        // Platform-side lookup by the token's ids (both verified); the tenant filter keeps
        // "a user of another tenant" from ever counting as this one.
        let row: Option<(Option<EmployeeId>, bool)> = sqlx::query_as(
            "SELECT u.employee_id, (u.employee_id IS NULL OR e.status = 'active') \
             FROM users u LEFT JOIN employees e ON e.tenant_id = u.tenant_id AND e.id = u.employee_id \
             WHERE u.id = $1 AND u.tenant_id = $2",
        )
        .bind(user)
        .bind(tenant)
        .fetch_optional(db)
        .measured()
        .await?;
        let (employee, active) = row.unwrap_or((None, false));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            user,
            Entry {
                employee,
                active,
                checked: Instant::now(),
            },
        );
        Ok(active)
    }

    fn fresh(&self, user: Uuid) -> Option<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&user)
            .filter(|e| e.checked.elapsed() < TTL)
            .copied()
    }

    /// Forgets what is known about the accounts of `employee`, so this process re-reads them
    /// on their next request (called after a deactivation commits).
    pub fn forget_employee(&self, employee: EmployeeId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.employee != Some(employee));
    }
}
