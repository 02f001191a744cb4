//! Seeded defects: realistic mistakes the service can be told to make, so that Gauntlet's probes
//! and its acknowledged-write ledger can prove they catch them.
//!
//! Every defect is off by default and is ordinary configuration (`[defects]` in the config
//! file, or `HRMS__DEFECTS__<NAME>=true`): the service never knows it is under test. Each one
//! switched on is logged at WARN when the service starts, so a defective build cannot pass for a
//! clean one in anybody's logs.

use serde::Deserialize;

/// Which seeded defects are switched on. All `false` is the correct service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Defects {
    /// Reading one employee forgets the tenant filter and runs outside row-level security
    /// (as the owner role), so any tenant can read any employee by id.
    pub unscoped_employee_read: bool,
    /// A response cache keyed by the request path only, without the tenant: the first
    /// tenant to ask fills it, the next tenant is served the first one's answer.
    pub cache_key_without_tenant: bool,
    /// The token check decodes claims without verifying the signature, so a tenant claim
    /// edited by the client is believed.
    pub unverified_token_claims: bool,
    /// Creating or updating an employee honours a `tenant_id` in the body.
    pub mass_assignable_tenant: bool,
    /// The rate limiter keys its buckets by client IP instead of tenant, so one noisy tenant
    /// exhausts every tenant behind the same address.
    pub rate_limit_by_ip: bool,
    /// The payroll job selects employees without the tenant filter, writing payslips for
    /// other tenants' employees.
    pub payroll_without_tenant: bool,
    /// An attendance write is acknowledged before it is durable (a write-behind buffer
    /// flushed later), so a database crash loses acknowledged writes.
    pub ack_before_durable: bool,
    /// Deactivating an employee changes the record only: its login still logs in and its
    /// tokens keep working until they expire.
    pub deactivation_ignored: bool,
    /// An HR admin may approve or reject their own leave request (segregation of duties
    /// forgotten for the most powerful role).
    pub self_approval_allowed: bool,
    /// Approving or rejecting leave checks only that the caller is not the requester: the
    /// role requirement (manager or HR admin) and the manager relation are skipped, so any
    /// employee decides a colleague's leave.
    pub employee_can_approve_leave: bool,
    /// Listing employees takes the page number as given instead of through the pagination
    /// check: page 0 becomes a negative offset that Postgres refuses, answered as a 500.
    /// The contract fuzzer's to catch (`gauntlet fuzz`), not a probe's.
    pub unchecked_pagination: bool,
    /// Reading one employee waits as long again as the request took inside the service (a
    /// forgotten retry, an N+1 in disguise): `GET /employees/{id}` about twice as slow,
    /// everything else unchanged. A performance defect, for the regression gate to catch.
    pub slow_employee_read: bool,
    /// The employee list loads each row of the page with a statement of its own after the
    /// page query (an ORM's lazy loading): about 50 statements per page instead of 2.
    pub n_plus_one: bool,
    /// The employee list's tenant filter is written so no index serves it (`tenant_id`
    /// cast to text): every list scans and sorts all tenants' employees.
    pub missing_index: bool,
    /// The DB pool is two connections whatever is configured (a "temporary" setting left
    /// in): requests queue for a connection as soon as more than two need one.
    pub pool_starvation: bool,
    /// Every clock-in updates a per-tenant hot row first and keeps it locked through a slow
    /// step, so one tenant's clock-ins wait for each other in Postgres.
    pub lock_contention: bool,
    /// Every request leaves 4 KiB in a "cache" that never evicts: RSS grows with traffic.
    pub memory_leak: bool,
    /// `GET /departments` makes a blocking call on the async runtime (30 ms of
    /// `std::thread::sleep`), stalling every request on the same worker thread.
    pub slow_endpoint: bool,
    /// Payroll workers sleep 2 s after each job instead of taking the next, so jobs are
    /// enqueued faster than they drain and the queue grows without bound.
    pub unbounded_queue: bool,
}

impl Defects {
    /// Names of the defects switched on, as they appear in the configuration.
    pub fn enabled(&self) -> Vec<&'static str> {
        let all = [
            ("unscoped_employee_read", self.unscoped_employee_read),
            ("cache_key_without_tenant", self.cache_key_without_tenant),
            ("unverified_token_claims", self.unverified_token_claims),
            ("mass_assignable_tenant", self.mass_assignable_tenant),
            ("rate_limit_by_ip", self.rate_limit_by_ip),
            ("payroll_without_tenant", self.payroll_without_tenant),
            ("ack_before_durable", self.ack_before_durable),
            ("deactivation_ignored", self.deactivation_ignored),
            ("self_approval_allowed", self.self_approval_allowed),
            (
                "employee_can_approve_leave",
                self.employee_can_approve_leave,
            ),
            ("unchecked_pagination", self.unchecked_pagination),
            ("slow_employee_read", self.slow_employee_read),
            ("n_plus_one", self.n_plus_one),
            ("missing_index", self.missing_index),
            ("pool_starvation", self.pool_starvation),
            ("lock_contention", self.lock_contention),
            ("memory_leak", self.memory_leak),
            ("slow_endpoint", self.slow_endpoint),
            ("unbounded_queue", self.unbounded_queue),
        ];
        all.into_iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| n)
            .collect()
    }

    /// Logs every defect switched on, loudly.
    pub fn announce(&self) {
        for name in self.enabled() {
            tracing::warn!(
                defect = name,
                "SEEDED DEFECT ENABLED: this service is deliberately broken; never deploy it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_by_default_and_lists_what_is_on() {
        assert!(Defects::default().enabled().is_empty());
        let d = Defects {
            rate_limit_by_ip: true,
            ack_before_durable: true,
            ..Defects::default()
        };
        assert_eq!(d.enabled(), ["rate_limit_by_ip", "ack_before_durable"]);
        // The names are the configuration keys (`HRMS__DEFECTS__<NAME>`, `--defect NAME`).
        let access: Defects = serde_json::from_value(serde_json::json!({
            "deactivation_ignored": true, "self_approval_allowed": true,
            "employee_can_approve_leave": true
        }))
        .unwrap();
        assert_eq!(
            access.enabled(),
            [
                "deactivation_ignored",
                "self_approval_allowed",
                "employee_can_approve_leave"
            ]
        );
    }
}
