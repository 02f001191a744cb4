//! The reference service in this process, as the tests that need one start it: on a native
//! stack they provision (or one they keep and share between services), seeded cheaply, with
//! seeded defects named as `hrms::defects::Defects` names them.

use std::path::{Path, PathBuf};

use gauntlet_loadgen::run::local;
use gauntlet_reports::model::Wiring;
use gauntlet_testcontainers::{BackendChoice, ProvisionConfig, Stack};
use hrms::config::Argon2Settings;
use hrms::defects::Defects;
use hrms::ratelimit::Tier;
use hrms::seed::SeedSpec;

/// Provisioning on the native backend, the rest as the environment says.
pub(crate) fn native() -> ProvisionConfig {
    ProvisionConfig {
        backend: BackendChoice::Native,
        ..ProvisionConfig::from_env().expect("provision config")
    }
}

/// A native stack a test keeps, so that one stack and one seed serve several services.
pub(crate) async fn native_stack() -> Stack {
    Stack::provision(&native()).await.expect("provision")
}

/// `tenants` on `tiers` (one each, in order), `employees` and `departments` each, with
/// passwords hashed cheaply.
pub(crate) fn seed(employees: usize, departments: usize, tiers: &[Tier]) -> SeedSpec {
    SeedSpec {
        tenants: tiers.len(),
        employees_per_tenant: employees,
        departments_per_tenant: departments,
        tiers: tiers.to_vec(),
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    }
}

/// The one seeded defect `name` switched on.
pub(crate) fn defect(name: &str) -> Defects {
    serde_json::from_value(serde_json::json!({ name: true })).expect("a defect's name")
}

/// In this process, straight to the dependencies, `/admin` closed.
pub(crate) fn options(seed: Option<SeedSpec>, defects: Defects) -> local::Options {
    local::Options {
        seed,
        wiring: Wiring::Direct,
        placement: local::Placement::InProcess,
        defects,
        operator_token: None,
    }
}

/// The service on a native stack of its own, seeded with `spec` (defects from the
/// environment, as `gauntlet serve` reads them), and its credentials file in `dir` — what a
/// `--target` run is given.
pub(crate) async fn serve(spec: SeedSpec, dir: &Path) -> (local::LocalService, PathBuf) {
    let defects = local::defects_from_env().expect("no malformed HRMS__DEFECTS__*");
    let service = local::start(
        local::Dependencies::Provision(&native()),
        options(Some(spec), defects),
    )
    .await
    .expect("service on Postgres and Redis");
    let creds = dir.join("credentials.json");
    let seeded = service.seeded().expect("seeded");
    std::fs::write(&creds, serde_json::to_string(seeded).unwrap()).unwrap();
    (service, creds)
}
