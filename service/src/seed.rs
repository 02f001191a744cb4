//! Deterministic seeding: N tenants × M employees with users, from one seed.
//!
//! The harness reuses this to set up every run, so it must be fast: one transaction, one
//! `INSERT .. SELECT FROM UNNEST(..)` per table for *all* tenants, and one argon2 hash
//! shared by every seeded user (they all get the same password), made with cheap
//! parameters by default. 50 × 200 takes well under a few seconds.
//!
//! Every tenant gets a unique marker string that appears in its name and in every email of
//! its employees and users: a response that contains another tenant's marker is a leak.

use chrono::{Datelike, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ids::{EmployeeId, TenantId};

use crate::auth::{PasswordError, Passwords, Role};
use crate::config::Argon2Settings;
use crate::ratelimit::Tier;

/// What to seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedSpec {
    /// Number of tenants.
    pub tenants: usize,
    /// Employees per tenant (each with a user account).
    pub employees_per_tenant: usize,
    /// Departments per tenant.
    pub departments_per_tenant: usize,
    /// The seed: same seed, same ids, names and markers.
    pub seed: u64,
    /// Password of every seeded user.
    pub password: String,
    /// Tiers assigned round-robin to the tenants.
    pub tiers: Vec<Tier>,
    /// Cost of the one shared password hash.
    pub argon2: Argon2Settings,
}

impl Default for SeedSpec {
    fn default() -> Self {
        Self {
            tenants: 3,
            employees_per_tenant: 20,
            departments_per_tenant: 4,
            seed: 42,
            password: "gauntlet-password".into(),
            tiers: vec![
                Tier::Free,
                Tier::Starter,
                Tier::Professional,
                Tier::Enterprise,
            ],
            argon2: Argon2Settings::CHEAP,
        }
    }
}

/// Login data of one seeded user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// The user's employee record.
    pub employee_id: EmployeeId,
}

/// One seeded tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededTenant {
    /// Tenant id.
    pub id: TenantId,
    /// Display name (contains the marker).
    pub name: String,
    /// Rate-limit tier.
    pub tier: Tier,
    /// Unique string present in every employee and user row of this tenant.
    pub marker: String,
    /// Every user of the tenant, the HR admin first, then managers, then employees.
    pub users: Vec<Credentials>,
    /// Employee ids in seeding order.
    pub employee_ids: Vec<EmployeeId>,
    /// Department ids in seeding order.
    pub department_ids: Vec<Uuid>,
}

impl SeededTenant {
    /// The first user with `role`, if the tenant has one.
    pub fn user(&self, role: Role) -> Option<&Credentials> {
        self.users.iter().find(|u| u.role == role)
    }
}

/// Everything seeded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededData {
    /// The tenants in order.
    pub tenants: Vec<SeededTenant>,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The spec cannot be seeded.
    #[error("invalid seed spec: {0}")]
    Spec(&'static str),
    /// Hashing the shared password failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The database refused (e.g. the same seed was already applied: ids collide).
    #[error("seeding failed")]
    Database(#[from] sqlx::Error),
}

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Linus", "Ken", "Dennis",
    "Frances", "John", "Radia", "Leslie", "Niklaus", "Shafi", "Tim", "Sophie", "Yukihiro", "Guido",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Torvalds",
    "Thompson",
    "Ritchie",
    "Allen",
    "McCarthy",
    "Perlman",
    "Lamport",
    "Wirth",
    "Goldwasser",
    "Berners-Lee",
    "Wilson",
    "Matsumoto",
    "Rossum",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Finance",
    "People",
    "Support",
    "Legal",
    "Marketing",
    "Operations",
];

fn uuid_from(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// Column arrays for the UNNEST inserts, all tenants together.
#[derive(Default)]
struct Rows {
    tenants: (Vec<Uuid>, Vec<String>, Vec<String>, Vec<String>),
    departments: (Vec<Uuid>, Vec<Uuid>, Vec<String>),
    managers: (Vec<Uuid>, Vec<Uuid>),
    employees: EmployeeColumns,
    users: UserColumns,
}

#[derive(Default)]
struct EmployeeColumns {
    id: Vec<Uuid>,
    tenant: Vec<Uuid>,
    /// `Uuid::nil()` for "no department" (arrays cannot hold NULL through this binding).
    department: Vec<Uuid>,
    first: Vec<String>,
    last: Vec<String>,
    email: Vec<String>,
    salary: Vec<i64>,
    hired: Vec<NaiveDate>,
}

#[derive(Default)]
struct UserColumns {
    id: Vec<Uuid>,
    tenant: Vec<Uuid>,
    employee: Vec<Uuid>,
    email: Vec<String>,
    role: Vec<String>,
}

/// Generates one tenant's rows (pure; all randomness from `rng`).
fn generate_tenant(
    spec: &SeedSpec,
    index: usize,
    rng: &mut StdRng,
    rows: &mut Rows,
) -> SeededTenant {
    let id = TenantId::from_uuid(uuid_from(rng));
    let marker = format!("gx{:016x}", rng.random::<u64>());
    let tier = spec.tiers[index % spec.tiers.len()];
    let name = format!("Tenant {index:03} {marker}");
    rows.tenants.0.push(id.as_uuid());
    rows.tenants.1.push(name.clone());
    rows.tenants.2.push(tier.as_str().to_owned());
    rows.tenants.3.push(marker.clone());
    let department_ids: Vec<Uuid> = (0..spec.departments_per_tenant)
        .map(|d| {
            let dept = uuid_from(rng);
            rows.departments.0.push(dept);
            rows.departments.1.push(id.as_uuid());
            let base = DEPARTMENTS[d % DEPARTMENTS.len()];
            rows.departments.2.push(if d < DEPARTMENTS.len() {
                base.to_owned()
            } else {
                format!("{base} {d}")
            });
            dept
        })
        .collect();
    let mut tenant = SeededTenant {
        id,
        name,
        tier,
        marker,
        users: Vec::new(),
        employee_ids: Vec::new(),
        department_ids,
    };
    for e in 0..spec.employees_per_tenant {
        generate_employee(spec, &mut tenant, e, rng, rows);
    }
    tenant
}

/// Employee 0 is the HR admin; employees 1..=D manage departments 0..D; the rest are staff.
fn generate_employee(
    spec: &SeedSpec,
    tenant: &mut SeededTenant,
    e: usize,
    rng: &mut StdRng,
    rows: &mut Rows,
) {
    let emp = EmployeeId::from_uuid(uuid_from(rng));
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let email = format!(
        "{}.{}.{e}@{}.example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        tenant.marker
    );
    let dept_count = tenant.department_ids.len();
    let department = (dept_count > 0).then(|| tenant.department_ids[e % dept_count]);
    let role = match e {
        0 => Role::HrAdmin,
        m if m <= dept_count => {
            rows.managers.0.push(tenant.department_ids[m - 1]);
            rows.managers.1.push(emp.as_uuid());
            Role::Manager
        }
        _ => Role::Employee,
    };
    let hired = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date")
        + chrono::Days::new(rng.random_range(0..3650));
    rows.employees.id.push(emp.as_uuid());
    rows.employees.tenant.push(tenant.id.as_uuid());
    rows.employees
        .department
        .push(department.unwrap_or(Uuid::nil()));
    rows.employees.first.push(first.to_owned());
    rows.employees.last.push(last.to_owned());
    rows.employees.email.push(email.clone());
    rows.employees
        .salary
        .push(rng.random_range(3_000_000..15_000_000));
    rows.employees.hired.push(hired);
    rows.users.id.push(uuid_from(rng));
    rows.users.tenant.push(tenant.id.as_uuid());
    rows.users.employee.push(emp.as_uuid());
    rows.users.email.push(email.clone());
    rows.users.role.push(role.as_str().to_owned());
    tenant.employee_ids.push(emp);
    tenant.users.push(Credentials {
        email,
        password: spec.password.clone(),
        role,
        employee_id: emp,
    });
}

/// Seeds `spec` into `pool` (a fresh, migrated database) in one transaction.
pub async fn seed(pool: &PgPool, spec: &SeedSpec) -> Result<SeededData, SeedError> {
    if spec.tiers.is_empty() {
        return Err(SeedError::Spec("tiers must not be empty"));
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut rows = Rows::default();
    let tenants: Vec<SeededTenant> = (0..spec.tenants)
        .map(|i| generate_tenant(spec, i, &mut rng, &mut rows))
        .collect();
    let passwords = Passwords::new(spec.argon2)?;
    let password = spec.password.clone();
    let hash = tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .map_err(|_| SeedError::Spec("hashing task failed"))??;
    insert_all(pool, &rows, &hash).await?;
    tracing::info!(
        tenants = spec.tenants,
        employees = spec.employees_per_tenant,
        "seeded"
    );
    Ok(SeededData { tenants })
}

async fn insert_all(pool: &PgPool, rows: &Rows, hash: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let t = &rows.tenants;
    sqlx::query("INSERT INTO tenants (id, name, tier, marker) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])")
        .bind(&t.0).bind(&t.1).bind(&t.2).bind(&t.3)
        .execute(&mut *tx).await?;
    let d = &rows.departments;
    sqlx::query("INSERT INTO departments (id, tenant_id, name) SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[])")
        .bind(&d.0).bind(&d.1).bind(&d.2)
        .execute(&mut *tx).await?;
    let e = &rows.employees;
    sqlx::query(
        "INSERT INTO employees (id, tenant_id, department_id, first_name, last_name, email, salary_cents, hired_on, job_title) \
         SELECT id, tid, NULLIF(dept, '00000000-0000-0000-0000-000000000000'::uuid), f, l, m, s, h, 'Staff' \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::date[]) \
         AS x(id, tid, dept, f, l, m, s, h)",
    )
    .bind(&e.id).bind(&e.tenant).bind(&e.department).bind(&e.first).bind(&e.last).bind(&e.email).bind(&e.salary).bind(&e.hired)
    .execute(&mut *tx).await?;
    let m = &rows.managers;
    sqlx::query(
        "UPDATE departments d SET manager_employee_id = x.emp \
         FROM UNNEST($1::uuid[], $2::uuid[]) AS x(dept, emp) WHERE d.id = x.dept",
    )
    .bind(&m.0)
    .bind(&m.1)
    .execute(&mut *tx)
    .await?;
    let u = &rows.users;
    sqlx::query(
        "INSERT INTO users (id, tenant_id, employee_id, email, role, password_hash) \
         SELECT id, tid, emp, m, r, $6 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) \
         AS x(id, tid, emp, m, r)",
    )
    .bind(&u.id).bind(&u.tenant).bind(&u.employee).bind(&u.email).bind(&u.role).bind(hash)
    .execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO leave_balances (tenant_id, employee_id, leave_type, year, entitled_days) \
         SELECT x.tid, x.emp, t.leave_type, $3, t.days FROM UNNEST($1::uuid[], $2::uuid[]) AS x(emp, tid) \
         CROSS JOIN (VALUES ('annual', 25), ('sick', 10), ('unpaid', 60)) AS t(leave_type, days)",
    )
    .bind(&e.id).bind(&e.tenant).bind(Utc::now().year())
    .execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(spec: &SeedSpec) -> (Vec<SeededTenant>, Rows) {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let mut rows = Rows::default();
        let t = (0..spec.tenants)
            .map(|i| generate_tenant(spec, i, &mut rng, &mut rows))
            .collect();
        (t, rows)
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let spec = SeedSpec::default();
        let (a, _) = generate(&spec);
        let (b, _) = generate(&spec);
        assert_eq!(a[1].id, b[1].id);
        assert_eq!(a[1].users, b[1].users);
        let (c, _) = generate(&SeedSpec { seed: 7, ..spec });
        assert_ne!(a[0].id, c[0].id);
    }

    #[test]
    fn roles_markers_and_tiers() {
        let spec = SeedSpec {
            tenants: 5,
            employees_per_tenant: 10,
            departments_per_tenant: 3,
            ..SeedSpec::default()
        };
        let (tenants, rows) = generate(&spec);
        assert_eq!(tenants[4].tier, Tier::Free, "tiers cycle");
        for t in &tenants {
            assert_eq!(t.users.len(), 10);
            assert_eq!(
                t.users.iter().filter(|u| u.role == Role::HrAdmin).count(),
                1
            );
            assert_eq!(
                t.users.iter().filter(|u| u.role == Role::Manager).count(),
                3
            );
            assert!(t.users.iter().all(|u| u.email.contains(&t.marker)));
        }
        let markers: std::collections::HashSet<_> = tenants.iter().map(|t| &t.marker).collect();
        assert_eq!(markers.len(), 5);
        assert_eq!(rows.employees.id.len(), 50);
    }
}
