//! A short-lived in-process cache of read-heavy, rarely changing responses (the department
//! list): a burst of directory pages then costs one query per tenant and page per second.
//!
//! Entries are keyed by tenant *and* request path with query. The seeded defect
//! `cache_key_without_tenant` drops the tenant from the key (see [`CacheKey::new`]); that is
//! the whole defect, which is why the key is built in exactly one place.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::TenantId;

/// How long an entry is served. Short, so a department created elsewhere (another process)
/// shows up within a second even without invalidation.
pub const TTL: Duration = Duration::from_secs(1);

/// Entries kept at most; beyond it the cache is cleared (simple, and bounded in memory).
const MAX_ENTRIES: usize = 10_000;

/// What an entry is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    tenant: Option<TenantId>,
    path: String,
}

impl CacheKey {
    /// The key of `path` (with query) asked by `tenant`.
    pub fn new(tenant: TenantId, path: &str, defects: &crate::defects::Defects) -> Self {
        // SEEDED DEFECT `cache_key_without_tenant`: the key forgets whose answer it is.
        let tenant = (!defects.cache_key_without_tenant).then_some(tenant);
        Self {
            tenant,
            path: path.to_owned(),
        }
    }
}

/// The cache: serialized JSON bodies with their expiry.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<CacheKey, (Instant, serde_json::Value)>>,
}

impl ResponseCache {
    /// A fresh entry, if any.
    pub fn get(&self, key: &CacheKey) -> Option<serde_json::Value> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    /// Stores an entry.
    pub fn put(&self, key: CacheKey, value: serde_json::Value) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Drops every entry of `tenant` (and tenant-less ones): called after the tenant wrote
    /// something a cached answer shows.
    pub fn invalidate(&self, tenant: TenantId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|k, _| k.tenant.is_some_and(|t| t != tenant));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defects::Defects;

    #[test]
    fn keys_carry_the_tenant_unless_the_defect_is_on() {
        let (a, b) = (TenantId::random(), TenantId::random());
        let clean = Defects::default();
        assert_ne!(
            CacheKey::new(a, "/departments", &clean),
            CacheKey::new(b, "/departments", &clean)
        );
        let broken = Defects {
            cache_key_without_tenant: true,
            ..Defects::default()
        };
        assert_eq!(
            CacheKey::new(a, "/departments", &broken),
            CacheKey::new(b, "/departments", &broken)
        );
    }

    #[test]
    fn entries_expire_and_invalidate_per_tenant() {
        let cache = ResponseCache::default();
        let (a, b) = (TenantId::random(), TenantId::random());
        let clean = Defects::default();
        cache.put(CacheKey::new(a, "/d", &clean), serde_json::json!(1));
        cache.put(CacheKey::new(b, "/d", &clean), serde_json::json!(2));
        cache.invalidate(a);
        assert_eq!(cache.get(&CacheKey::new(a, "/d", &clean)), None);
        assert_eq!(
            cache.get(&CacheKey::new(b, "/d", &clean)),
            Some(serde_json::json!(2))
        );
    }
}
