//! `gauntlet serve`: the reference service on its dependencies, with demo tenants, until Ctrl-C.

use hrms::{config::Argon2Settings, ratelimit::Tier, seed::SeedSpec};
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
    let demo = SeedSpec {
        // One tenant per tier, small enough to read in a terminal.
        tenants: 4,
        employees_per_tenant: 12,
        departments_per_tenant: 2,
        tiers: vec![
            Tier::Free,
            Tier::Starter,
            Tier::Professional,
            Tier::Enterprise,
        ],
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    };
    let starting = local::start_seeded(&config, &demo);
    let (service, seeded) = tokio::select! {
        started = starting => started.map_err(Failure::infrastructure)?,
        _ = interrupt.recv() => return Ok(Exit::Interrupted),
        _ = terminate.recv() => return Ok(Exit::Interrupted),
    };
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
    println!("ready; Ctrl-C to stop and clean up");
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    service.stop().await;
    eprintln!("stopped; everything provisioned was removed");
    Ok(Exit::Success)
}

fn shutdown_signals() -> std::io::Result<(Signal, Signal)> {
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    ))
}
