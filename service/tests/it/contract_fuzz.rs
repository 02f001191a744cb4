//! Contract fuzzing of the service in the suite: `gauntlet_contract` (the same fuzzer as
//! `gauntlet fuzz`) against a freshly seeded service, from its served document, with a fixed
//! seed (printed, and replayable with `GAUNTLET_FUZZ_SEED`).

use std::time::Duration;

use gauntlet_contract::{Login, Settings, Tokens, discover, fetch_document, fuzz, login};
use hrms::auth::Role;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::helpers::{OPERATOR_TOKEN, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_generated_from_the_spec_get_documented_answers_and_never_a_5xx() {
    let seed = std::env::var("GAUNTLET_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(gauntlet_contract::DEFAULT_SEED);
    let app = spawn_app().await;
    let as_login = |role| {
        let user = app.tenant(0).user(role).expect("seeded role");
        Login {
            email: user.email.clone(),
            password: user.password.clone(),
        }
    };
    let hr = login(&app.client, &app.address, &as_login(Role::HrAdmin))
        .await
        .unwrap();
    let staff = login(&app.client, &app.address, &as_login(Role::Employee))
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let other_tenants = vec![app.tenant(1).id.to_string()];
    let known = discover(
        &app.client,
        &app.address,
        &hr,
        &staff,
        other_tenants,
        &mut rng,
    )
    .await
    .unwrap();
    assert!(
        !known.employees.is_empty() && !known.leave.is_empty() && !known.payroll_runs.is_empty(),
        "the fuzzer found ids to aim at: {known:?}"
    );
    let doc = fetch_document(&app.client, &format!("{}/openapi.json", app.address))
        .await
        .unwrap();
    let tokens = Tokens {
        hr_admin: hr.token,
        employee: staff.token,
        operator: Some(OPERATOR_TOKEN.to_owned()),
    };
    let settings = Settings {
        seed,
        per_operation: 40,
        budget: Duration::from_secs(100),
        only: Vec::new(),
    };
    let summary = fuzz(&app.client, &app.address, &doc, &known, &tokens, &settings)
        .await
        .unwrap();
    println!("{}", summary.headline());
    assert!(
        summary.not_covered.is_empty(),
        "seed {seed:#x}: {:?}",
        summary.not_covered
    );
    assert_eq!(summary.sent, summary.operations * settings.per_operation);
    assert!(
        summary.failures.is_empty(),
        "seed {seed:#x} (replay with GAUNTLET_FUZZ_SEED={seed}): {} failures, first ones:\n{}",
        summary.failures.len(),
        summary
            .failures
            .iter()
            .take(25)
            .map(|f| format!("{}: {} → {}", f.operation, f.request, f.problem))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
