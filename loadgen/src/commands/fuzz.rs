//! `gauntlet fuzz`: the contract fuzzer (`gauntlet_contract`) against the local service
//! (started like `gauntlet probe` does, optionally with seeded defects) or a `--target`.
//! Prints what it sent and every broken promise, writes the summary as JSON with `--out`;
//! exit 1 when any response broke the document's promises or an operation was not covered.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use gauntlet_contract::{Login, Settings, Summary, Tokens};
use gauntlet_reports::model::Wiring;
use gauntlet_scenarios::hrms::{Fixture, Role, TenantFixture};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::cli::FuzzArgs;
use crate::exit::{Exit, Failure};
use crate::run::local;

/// Failures printed in full; the rest are counted (all of them are in `--out`).
const SHOWN: usize = 25;

pub async fn run(args: FuzzArgs) -> Result<Exit, Failure> {
    let defects = super::probe::defects_from(&args.defect).map_err(Failure::bad_input)?;
    let settings = Settings {
        seed: args.seed,
        per_operation: args.per_operation as usize,
        budget: args.budget,
        only: args.operation.clone(),
    };
    let summary = match (&args.target, &args.credentials) {
        (Some(url), Some(path)) => {
            let fixture = super::probe::read_fixture(path).map_err(Failure::bad_input)?;
            let base_url = url.as_str().trim_end_matches('/');
            fuzz(base_url, &fixture, args.operator_token.clone(), &settings).await?
        }
        _ => {
            let config = super::provision_config(&args.backend)?;
            // A fresh token per run: the local service's admin routes are open to it only.
            let operator = uuid::Uuid::new_v4().to_string();
            let options = local::Options {
                seed: Some(super::probe::seed_spec(args.seed)),
                wiring: Wiring::Direct,
                placement: local::Placement::InProcess,
                defects,
                operator_token: Some(operator.clone()),
            };
            let service = local::start(local::Dependencies::Provision(&config), options)
                .await
                .map_err(Failure::infrastructure)?;
            let summary = fuzz(
                &service.base_url,
                &service.fixture,
                Some(operator),
                &settings,
            )
            .await;
            service.stop().await;
            summary?
        }
    };
    print(&summary);
    if let Some(out) = &args.out {
        write(out, &summary).map_err(Failure::infrastructure)?;
        println!("  {}", out.display());
    }
    Ok(if summary.passed() {
        Exit::Success
    } else {
        Exit::VerdictFail
    })
}

/// Logs in as the first tenant that has both an HR admin and an employee, finds ids, fuzzes.
async fn fuzz(
    base_url: &str,
    fixture: &Fixture,
    operator: Option<String>,
    settings: &Settings,
) -> Result<Summary, Failure> {
    let (home, hr_admin, employee) = accounts(fixture).map_err(Failure::bad_input)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
        .map_err(Failure::infrastructure)?;
    let hr = gauntlet_contract::login(&client, base_url, &hr_admin)
        .await
        .map_err(Failure::infrastructure)?;
    let staff = gauntlet_contract::login(&client, base_url, &employee)
        .await
        .map_err(Failure::infrastructure)?;
    let other_tenants = fixture
        .tenants
        .iter()
        .filter(|t| t.id != home.id)
        .filter_map(|t| t.id.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let known =
        gauntlet_contract::discover(&client, base_url, &hr, &staff, other_tenants, &mut rng)
            .await
            .map_err(Failure::infrastructure)?;
    let doc = gauntlet_contract::fetch_document(&client, &format!("{base_url}/openapi.json"))
        .await
        .map_err(Failure::infrastructure)?;
    let tokens = Tokens {
        hr_admin: hr.token,
        employee: staff.token,
        operator,
    };
    gauntlet_contract::fuzz(&client, base_url, &doc, &known, &tokens, settings)
        .await
        .map_err(|e| match e {
            gauntlet_contract::FuzzError::UnknownOperation(..) => Failure::bad_input(e),
            e => Failure::infrastructure(e),
        })
}

/// The first tenant with an HR admin and an employee, and their logins.
fn accounts(fixture: &Fixture) -> anyhow::Result<(&TenantFixture, Login, Login)> {
    let login = |t: &TenantFixture, role| {
        t.users.iter().find(|u| u.role == role).map(|u| Login {
            email: u.email.clone(),
            password: u.password.clone(),
        })
    };
    fixture
        .tenants
        .iter()
        .find_map(|t| Some((t, login(t, Role::HrAdmin)?, login(t, Role::Employee)?)))
        .context("the credentials name no tenant with both an hr_admin and an employee user")
}

fn print(summary: &Summary) {
    println!("{}", summary.headline());
    for why in &summary.not_covered {
        println!("  not covered: {why}");
    }
    for f in summary.failures.iter().take(SHOWN) {
        println!("  {}: {}\n    → {}", f.operation, f.request, f.problem);
    }
    if summary.failures.len() > SHOWN {
        println!("  … and {} more", summary.failures.len() - SHOWN);
    }
    if !summary.failures.is_empty() {
        println!(
            "  replay: the same --seed {} against the same data sends the same requests",
            summary.seed
        );
    }
}

fn write(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(summary).context("serialising the summary")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
