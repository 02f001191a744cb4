//! The data a local service is seeded with, and the scenarios' view of it: the profile's
//! data set as a [`SeedSpec`], and what the seeder wrote as the scenarios' [`Fixture`] (the
//! very type `run --target --credentials` parses, so `gauntlet serve` writes it too).

use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::hrms::{Fixture, Role, TenantFixture, UserCredential};
use hrms::config::Argon2Settings;
use hrms::ratelimit::{EndpointClass, Tier, TierTable};
use hrms::seed::{SeedSpec, SeededData};

/// Tiers in the order seeded tenants get them: largest first, so that a small data set is not
/// all throttled by the free tier, while four tenants or more cover every tier.
pub(crate) const TIERS_LARGEST_FIRST: [Tier; 4] = [
    Tier::Enterprise,
    Tier::Professional,
    Tier::Starter,
    Tier::Free,
];

/// The profile's data set. Tiers are assigned largest first so that the small profile's two
/// tenants are not both throttled by the free tier, while medium and larger cover every tier.
///
/// A plan with a noisy neighbour gets one tenant more, last and on the free plan: the flood's
/// own (it carries no virtual users), so the profile's tenants all stay the measured others,
/// and the smallest plan's limit is the cheapest flood for two cores to send.
pub fn seed_spec(plan: &LoadPlan, seed: u64) -> SeedSpec {
    let employees = plan.size.employees_per_tenant as usize;
    let tenants = plan.size.tenants as usize;
    let mut tiers: Vec<Tier> = (0..tenants)
        .map(|i| TIERS_LARGEST_FIRST[i % TIERS_LARGEST_FIRST.len()])
        .collect();
    if plan.noisy_neighbour.is_some() {
        tiers.push(Tier::Free);
    }
    SeedSpec {
        tenants: tiers.len(),
        employees_per_tenant: employees,
        // One department (and manager) per ~12 employees, at least one, at most eight.
        departments_per_tenant: (employees / 12).clamp(1, 8),
        seed,
        tiers,
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    }
}

/// The seeder's layout (documented in `hrms::seed`): employee 0 is the HR admin, employees
/// 1..=D manage departments 0..D, and employee `e` belongs to department `e % D`.
fn group(role: Role, e: usize, departments: usize) -> Option<u32> {
    if departments == 0 {
        return None;
    }
    let g = match role {
        Role::Manager => e.checked_sub(1)?,
        _ => e % departments,
    };
    u32::try_from(g).ok()
}

/// The scenarios' fixture of what the seeder wrote; `limits` is the service's rate-limit
/// table, for each tenant's sustained read limit.
pub fn fixture(seeded: &SeededData, limits: &TierTable) -> Fixture {
    let role = |r: hrms::auth::Role| match r {
        hrms::auth::Role::Employee => Role::Employee,
        hrms::auth::Role::Manager => Role::Manager,
        hrms::auth::Role::HrAdmin => Role::HrAdmin,
    };
    Fixture {
        tenants: seeded
            .tenants
            .iter()
            .map(|t| TenantFixture {
                id: Some(t.id.to_string()),
                marker: t.marker.clone(),
                users: t
                    .users
                    .iter()
                    .enumerate()
                    .map(|(e, u)| UserCredential {
                        email: u.email.clone(),
                        password: u.password.clone(),
                        role: role(u.role),
                        employee_id: Some(u.employee_id.to_string()),
                        group: group(role(u.role), e, t.department_ids.len()),
                    })
                    .collect(),
                employee_ids: t.employee_ids.iter().map(|id| id.to_string()).collect(),
                department_ids: t.department_ids.iter().map(|id| id.to_string()).collect(),
                share: share_of(t.tier),
                label: None,
                name: Some(t.name.clone()),
                tier: Some(t.tier.as_str().to_owned()),
                read_limit_per_sec: Some(limits.get(t.tier, EndpointClass::Read).refill_per_sec),
                reserved: false,
            })
            .collect(),
    }
}

/// Virtual users per tier, relative: bigger plans have more people logging in. Their ratios
/// follow the tiers' rate budgets, so every tenant sees load its plan can carry.
fn share_of(tier: Tier) -> u32 {
    match tier {
        Tier::Enterprise => 8,
        Tier::Professional => 4,
        Tier::Starter => 2,
        Tier::Free => 1,
    }
}
