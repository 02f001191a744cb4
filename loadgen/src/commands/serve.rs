//! `gauntlet serve`: the reference service on its dependencies, with demo tenants, until Ctrl-C.
//! It writes the tenants' credentials file and prints the `gauntlet run --target` line that
//! uses it.

use std::path::Path;

use anyhow::Context;
use gauntlet_reports::model::Wiring;
use gauntlet_scenarios::hrms::Fixture;
use hrms::{config::Argon2Settings, seed::SeedSpec};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::{
    cli::ServeArgs,
    exit::{Exit, Failure},
    run::local,
};

pub async fn run(args: ServeArgs) -> Result<Exit, Failure> {
    // Listen before anything is started: a Ctrl-C that arrives during start-up must still
    // lead to clean-up, not to the default "die at once" with servers left running.
    let (mut interrupt, mut terminate) = shutdown_signals().map_err(Failure::infrastructure)?;
    let config = super::provision_config(&args.backend)?;
    // Checked before provisioning: an unusable path is the user's to fix (exit 2), and
    // finding out after a minute of start-up would waste it.
    if let Some(dir) = args
        .credentials_out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for --credentials-out", dir.display()))
            .map_err(Failure::bad_input)?;
    }
    let demo = SeedSpec {
        // One tenant per tier, small enough to read in a terminal; largest first, as every
        // local run seeds them, so the probes' noisy neighbour (the last tenant) is the free
        // tier and the tenant it must not disturb (the first) the enterprise one.
        tenants: 4,
        employees_per_tenant: 12,
        departments_per_tenant: 2,
        tiers: crate::run::local::fixture::TIERS_LARGEST_FIRST.to_vec(),
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    };
    let options = local::Options {
        seed: Some(demo),
        wiring: Wiring::Direct,
        placement: local::Placement::InProcess,
        defects: local::defects_from_env().map_err(Failure::infrastructure)?,
        operator_token: None,
    };
    let starting = local::start(local::Dependencies::Provision(&config), options);
    let service = tokio::select! {
        started = starting => started.map_err(Failure::infrastructure)?,
        _ = interrupt.recv() => return Ok(Exit::Interrupted),
        _ = terminate.recv() => return Ok(Exit::Interrupted),
    };
    let seeded = service
        .seeded()
        .context("the demo data set was not seeded")
        .map_err(Failure::infrastructure)?;
    println!("service:  {}  (OpenAPI at /openapi.json)", service.base_url);
    println!("backend:  {}", service.backend);
    if let Some(stack) = service.stack() {
        println!("postgres: {}", stack.postgres.url());
        println!("redis:    {}", stack.redis.url());
    }
    for tenant in &seeded.tenants {
        println!(
            "tenant {} [{}] marker {}",
            tenant.name, tenant.tier, tenant.marker
        );
        for role in [
            hrms::auth::Role::HrAdmin,
            hrms::auth::Role::Manager,
            hrms::auth::Role::Employee,
        ] {
            if let Some(user) = tenant.user(role) {
                println!("  {:<9} {} / {}", role.as_str(), user.email, user.password);
            }
        }
    }
    write_credentials(&args.credentials_out, &service.fixture).map_err(Failure::infrastructure)?;
    // Absolute: the printed command is pasted into other terminals, in other directories.
    let path = std::path::absolute(&args.credentials_out).unwrap_or(args.credentials_out);
    let file = shell_word(&path.display().to_string());
    println!("credentials: {file}");
    println!(
        "try:      gauntlet run smoke --target {} --credentials {file}",
        service.base_url
    );
    println!("ready; Ctrl-C to stop and clean up");
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    service.stop().await;
    eprintln!("stopped; everything provisioned was removed");
    Ok(Exit::Success)
}

/// The seeded tenants as the fixture `gauntlet run --target` reads: the same type, written
/// by the same serializer its parser reads, so the two cannot drift apart.
fn write_credentials(path: &Path, fixture: &Fixture) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(fixture).context("serializing the credentials")?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("writing the credentials to {}", path.display()))
}

/// `word` as one shell word, quoted only when it needs to be, so the printed command can be
/// pasted as it is.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn shutdown_signals() -> std::io::Result<(Signal, Signal)> {
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    ))
}
