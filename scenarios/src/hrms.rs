//! The HRMS API as virtual users see it: the endpoints they call (named like the service's
//! route templates, so the harness's counts line up with the service's `/metrics`), and the
//! fixture of seeded tenants and credentials they log in with.
//!
//! The fixture's JSON shape is the one the reference service's seeder returns (`SeededData`),
//! so `--target` runs can be given a credentials file in the same format; only `email`,
//! `password` and `role` per user are required, the rest enables probes and richer personas.

use serde::{Deserialize, Serialize};

/// What a seeded user may do in its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads own data, clocks in and out, requests leave.
    Employee,
    /// Also decides leave for the departments they manage.
    Manager,
    /// Manages people and payroll of the tenant.
    HrAdmin,
}

/// Login data of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCredential {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Role in the tenant.
    pub role: Role,
    /// The user's own employee record, when known.
    #[serde(default)]
    pub employee_id: Option<String>,
    /// Pairing hint: for employees the index of the department they belong to, for managers
    /// the index of the department they manage. With it, employee user #k and manager user
    /// #k of a tenant meet in the same department, so managers have requests to decide.
    #[serde(default)]
    pub group: Option<u32>,
}

/// One tenant the run may use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantFixture {
    /// Tenant id, when known (reports and probe examples name it).
    #[serde(default)]
    pub id: Option<String>,
    /// A string present in every employee and user row of this tenant and nowhere else: a
    /// response to another tenant that contains it is a leak. Empty disables marker probes.
    #[serde(default)]
    pub marker: String,
    /// Users of the tenant.
    pub users: Vec<UserCredential>,
    /// Employee ids of the tenant (targets for cross-tenant probes).
    #[serde(default)]
    pub employee_ids: Vec<String>,
    /// Department ids of the tenant (targets for cross-tenant probes; in another tenant's
    /// response they are a leak like the marker).
    #[serde(default)]
    pub department_ids: Vec<String>,
    /// This tenant's share of the virtual users relative to the others (default 1). Real
    /// tenants on bigger plans have more users; giving a free-tier tenant as many users as an
    /// enterprise one would only measure its rate limit.
    #[serde(default = "one")]
    pub share: u32,
    /// The name thresholds and reports use for this tenant (`tenant.<label>.p95`): letters,
    /// digits, `_` and `-`. `t<index>` (in the fixture's order) when absent.
    #[serde(default)]
    pub label: Option<String>,
    /// Display name, when known.
    #[serde(default)]
    pub name: Option<String>,
    /// Rate-limit plan (`free`, `starter`, ...), when known.
    #[serde(default)]
    pub tier: Option<String>,
    /// The plan's sustained limit on reads, requests per second, when known: what a noisy
    /// neighbour's relative rate (`rate = "200%"`) is a share of.
    #[serde(default)]
    pub read_limit_per_sec: Option<f64>,
    /// Reserved for the noisy neighbour's flood: no virtual user logs in to it, so every
    /// tenant the personas use is one of the others. Decided per run, never read from a file.
    #[serde(skip)]
    pub reserved: bool,
}

impl TenantFixture {
    /// Whether `label` may name a tenant in a threshold (`tenant.<label>.p95`).
    pub fn valid_label(label: &str) -> bool {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }
}

fn one() -> u32 {
    1
}

/// Every tenant a run may use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// The tenants, in a stable order (virtual users are spread over them round-robin).
    pub tenants: Vec<TenantFixture>,
}

/// Why a fixture cannot drive a run.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The credentials file could not be parsed.
    #[error("credentials file is not valid JSON for a fixture")]
    Parse(#[from] serde_json::Error),
    /// A persona needs a role no tenant has.
    #[error("no tenant has a user with role {0:?}")]
    MissingRole(Role),
    /// Nothing to log in with.
    #[error("the fixture has no tenants with users")]
    Empty,
    /// A tenant's label cannot be written in a threshold.
    #[error("tenant label {0:?} may hold only letters, digits, `_` and `-`")]
    BadLabel(String),
    /// Two tenants share a label, so a threshold could not tell them apart.
    #[error("two tenants are labelled {0:?}")]
    DuplicateLabel(String),
}

impl Fixture {
    /// Parses a credentials file (the service's `SeededData` JSON, or a subset of it).
    pub fn from_json(text: &str) -> Result<Fixture, FixtureError> {
        let fixture: Fixture = serde_json::from_str(text)?;
        fixture.check()?;
        Ok(fixture)
    }

    /// At least one tenant with at least one user.
    pub fn check(&self) -> Result<(), FixtureError> {
        if self.tenants.iter().all(|t| t.users.is_empty()) {
            return Err(FixtureError::Empty);
        }
        let labels = self.labels();
        for (i, label) in labels.iter().enumerate() {
            if !TenantFixture::valid_label(label) {
                return Err(FixtureError::BadLabel(label.clone()));
            }
            if labels[..i].contains(label) {
                return Err(FixtureError::DuplicateLabel(label.clone()));
            }
        }
        Ok(())
    }

    /// Every tenant's label, by index: its own, or `t<index>`.
    pub fn labels(&self) -> Vec<String> {
        self.tenants
            .iter()
            .enumerate()
            .map(|(i, t)| t.label.clone().unwrap_or_else(|| format!("t{i}")))
            .collect()
    }

    /// Whether some tenant has a user with `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.tenants
            .iter()
            .any(|t| !t.reserved && t.users.iter().any(|u| u.role == role))
    }

    /// The credential virtual user number `index` logs in with for `role`: tenants in a
    /// weighted round-robin by [`TenantFixture::share`] (so load spreads over every tenant and
    /// tier in proportion), then the tenant's users of that role in turn, so distinct virtual
    /// users get distinct accounts while there are enough. Falls back to the next slot's
    /// tenant that has the role.
    pub fn pick(&self, role: Role, index: usize) -> Option<(usize, &UserCredential)> {
        let slots = self.slots();
        if slots.is_empty() {
            return None;
        }
        (0..slots.len()).find_map(|offset| {
            let at = index + offset;
            let t = slots[at % slots.len()];
            let users: Vec<&UserCredential> = self.tenants[t]
                .users
                .iter()
                .filter(|u| u.role == role)
                .collect();
            // How many earlier virtual users this tenant already received.
            let cycle = self.tenants[t].share.max(1) as usize;
            let earlier_in_cycle = slots[..at % slots.len()]
                .iter()
                .filter(|&&s| s == t)
                .count();
            let k = (at / slots.len()) * cycle + earlier_in_cycle;
            (!users.is_empty()).then(|| (t, pick_in_tenant(&users, k)))
        })
    }

    /// One cycle of the weighted round-robin, interleaved: shares 2,1 give [0, 1, 0].
    fn slots(&self) -> Vec<usize> {
        let most = self
            .tenants
            .iter()
            .map(|t| t.share.max(1))
            .max()
            .unwrap_or(0);
        (0..most)
            .flat_map(|round| {
                self.tenants
                    .iter()
                    .enumerate()
                    .filter(move |(_, t)| !t.reserved && t.share.max(1) > round)
                    .map(|(i, _)| i)
            })
            .collect()
    }
}

/// The `k`-th user of a tenant's users of one role: by group (`k % groups`) when the users
/// carry groups, so the k-th employee and the k-th manager share a department.
fn pick_in_tenant<'a>(users: &[&'a UserCredential], k: usize) -> &'a UserCredential {
    let groups = users
        .iter()
        .filter_map(|u| u.group)
        .max()
        .map(|g| g as usize + 1);
    if let Some(groups) = groups {
        let target = (k % groups) as u32;
        let in_group: Vec<&&UserCredential> =
            users.iter().filter(|u| u.group == Some(target)).collect();
        if !in_group.is_empty() {
            return in_group[(k / groups) % in_group.len()];
        }
    }
    users[k % users.len()]
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
}

/// Every endpoint a persona or probe calls. The name is `METHOD /route/{template}` exactly
/// as the service labels it in `/metrics`, so counts can be compared one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /auth/login`
    Login,
    /// `GET /employees`
    ListEmployees,
    /// `POST /employees`
    CreateEmployee,
    /// `GET /employees/{id}`
    GetEmployee,
    /// `PATCH /employees/{id}`
    UpdateEmployee,
    /// `GET /employees/{id}/attendance`
    AttendanceHistory,
    /// `GET /employees/{id}/leave-balances`
    LeaveBalances,
    /// `GET /departments`
    ListDepartments,
    /// `POST /attendance/clock-in`
    ClockIn,
    /// `POST /attendance/clock-out`
    ClockOut,
    /// `GET /leave/requests`
    ListLeave,
    /// `POST /leave/requests`
    RequestLeave,
    /// `POST /leave/requests/{id}/approve`
    ApproveLeave,
    /// `POST /payroll/runs`
    StartPayroll,
    /// `GET /payroll/runs/{id}`
    GetPayrollRun,
    /// `GET /payroll/runs/{id}/payslips`
    ListPayslips,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 16] = [
        Endpoint::Login,
        Endpoint::ListEmployees,
        Endpoint::CreateEmployee,
        Endpoint::GetEmployee,
        Endpoint::UpdateEmployee,
        Endpoint::AttendanceHistory,
        Endpoint::LeaveBalances,
        Endpoint::ListDepartments,
        Endpoint::ClockIn,
        Endpoint::ClockOut,
        Endpoint::ListLeave,
        Endpoint::RequestLeave,
        Endpoint::ApproveLeave,
        Endpoint::StartPayroll,
        Endpoint::GetPayrollRun,
        Endpoint::ListPayslips,
    ];

    /// `METHOD /route`, the label reports and `/metrics` use.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Login => "POST /auth/login",
            Endpoint::ListEmployees => "GET /employees",
            Endpoint::CreateEmployee => "POST /employees",
            Endpoint::GetEmployee => "GET /employees/{id}",
            Endpoint::UpdateEmployee => "PATCH /employees/{id}",
            Endpoint::AttendanceHistory => "GET /employees/{id}/attendance",
            Endpoint::LeaveBalances => "GET /employees/{id}/leave-balances",
            Endpoint::ListDepartments => "GET /departments",
            Endpoint::ClockIn => "POST /attendance/clock-in",
            Endpoint::ClockOut => "POST /attendance/clock-out",
            Endpoint::ListLeave => "GET /leave/requests",
            Endpoint::RequestLeave => "POST /leave/requests",
            Endpoint::ApproveLeave => "POST /leave/requests/{id}/approve",
            Endpoint::StartPayroll => "POST /payroll/runs",
            Endpoint::GetPayrollRun => "GET /payroll/runs/{id}",
            Endpoint::ListPayslips => "GET /payroll/runs/{id}/payslips",
        }
    }

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self.name().split_once(' ').map(|(m, _)| m) {
            Some("POST") => Method::Post,
            Some("PATCH") => Method::Patch,
            _ => Method::Get,
        }
    }
}

/// Reading a reply's JSON body from the service: the personas' and the probes' replies alike.
pub trait JsonBody {
    /// The raw body.
    fn body(&self) -> &[u8];

    /// The body as JSON, when it is JSON.
    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(self.body()).ok()
    }

    /// A string field of a JSON object body.
    fn field(&self, name: &str) -> Option<String> {
        self.json()?.get(name)?.as_str().map(str::to_owned)
    }

    /// The `items` of a page body (empty when there are none).
    fn items(&self) -> Vec<serde_json::Value> {
        match self.json() {
            Some(serde_json::Value::Object(mut o)) => match o.remove("items") {
                Some(serde_json::Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, n: usize) -> UserCredential {
        UserCredential {
            email: format!("{role:?}{n}@x.example.com"),
            password: "p".into(),
            role,
            employee_id: None,
            group: None,
        }
    }

    #[test]
    fn pick_spreads_over_tenants_then_accounts() {
        let tenant = |k| TenantFixture {
            id: None,
            marker: format!("m{k}"),
            users: (0..3).map(|n| user(Role::Employee, n)).collect(),
            employee_ids: Vec::new(),
            department_ids: Vec::new(),
            share: 1,
            ..TenantFixture::default()
        };
        let f = Fixture {
            tenants: vec![tenant(0), tenant(1)],
        };
        let picks: Vec<(usize, String)> = (0..6)
            .map(|i| {
                let (t, u) = f.pick(Role::Employee, i).unwrap();
                (t, u.email.clone())
            })
            .collect();
        assert_eq!(picks.iter().filter(|(t, _)| *t == 0).count(), 3);
        let distinct: std::collections::HashSet<_> = picks.iter().collect();
        assert_eq!(distinct.len(), 6, "distinct users get distinct accounts");
        assert!(f.pick(Role::Manager, 0).is_none());
    }

    #[test]
    fn shares_weight_the_spread_and_accounts_stay_distinct() {
        let tenant = |share| TenantFixture {
            id: None,
            marker: String::new(),
            users: (0..20).map(|n| user(Role::Employee, n)).collect(),
            employee_ids: Vec::new(),
            department_ids: Vec::new(),
            share,
            ..TenantFixture::default()
        };
        let f = Fixture {
            tenants: vec![tenant(4), tenant(1)],
        };
        let picks: Vec<(usize, String)> = (0..20)
            .map(|i| {
                let (t, u) = f.pick(Role::Employee, i).unwrap();
                (t, u.email.clone())
            })
            .collect();
        assert_eq!(picks.iter().filter(|(t, _)| *t == 0).count(), 16);
        assert_eq!(picks.iter().filter(|(t, _)| *t == 1).count(), 4);
        let distinct: std::collections::HashSet<_> = picks.iter().collect();
        assert_eq!(distinct.len(), 20, "distinct users get distinct accounts");
    }

    #[test]
    fn groups_pair_the_kth_employee_with_the_kth_manager() {
        let grouped = |role, g: u32, n| UserCredential {
            group: Some(g),
            ..user(role, n)
        };
        let users = vec![
            grouped(Role::Manager, 0, 0),
            grouped(Role::Manager, 1, 1),
            grouped(Role::Employee, 1, 2),
            grouped(Role::Employee, 0, 3),
            grouped(Role::Employee, 1, 4),
        ];
        let f = Fixture {
            tenants: vec![TenantFixture {
                id: None,
                marker: String::new(),
                users,
                employee_ids: Vec::new(),
                department_ids: Vec::new(),
                share: 1,
                ..TenantFixture::default()
            }],
        };
        for k in 0..4 {
            let (_, m) = f.pick(Role::Manager, k).unwrap();
            let (_, e) = f.pick(Role::Employee, k).unwrap();
            assert_eq!(m.group, e.group, "k = {k}");
        }
    }

    #[test]
    fn seeded_data_json_parses_as_a_fixture() {
        let json = r#"{"tenants":[{"id":"t1","name":"Tenant","tier":"free","marker":"gx1",
            "users":[{"email":"a@gx1.example.com","password":"pw","role":"hr_admin","employee_id":"e1"}],
            "employee_ids":["e1"],"department_ids":[]}]}"#;
        let f = Fixture::from_json(json).unwrap();
        assert_eq!(f.tenants[0].users[0].role, Role::HrAdmin);
        assert!(matches!(
            Fixture::from_json(r#"{"tenants":[]}"#),
            Err(FixtureError::Empty)
        ));
    }

    #[test]
    fn endpoint_names_carry_their_method() {
        for e in Endpoint::ALL {
            let expected = match e.method() {
                Method::Get => "GET ",
                Method::Post => "POST ",
                Method::Patch => "PATCH ",
            };
            assert!(e.name().starts_with(expected), "{}", e.name());
        }
    }
}
