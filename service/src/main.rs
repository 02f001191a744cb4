//! `hrms`: run the service (`hrms [--config FILE]`) or seed a database
//! (`hrms seed --tenants N --employees M [--seed S]`).

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hrms", about = "Gauntlet's reference HRMS service")]
struct Cli {
    /// Optional TOML config file (environment variables override it).
    #[arg(long, env = "HRMS_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate and seed the database, print the seeded data as JSON, exit.
    Seed {
        #[arg(long, default_value_t = 3)]
        tenants: usize,
        #[arg(long, default_value_t = 20)]
        employees: usize,
        #[arg(long, default_value_t = 4)]
        departments: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings =
        hrms::config::Settings::load(cli.config.as_deref()).context("loading configuration")?;
    hrms::telemetry::init(&settings.log);
    if let Some(Command::Seed {
        tenants,
        employees,
        departments,
        seed,
    }) = cli.command
    {
        let pool = hrms::db::pool(&settings.database).context("database settings")?;
        hrms::db::MIGRATOR.run(&pool).await.context("migrating")?;
        let spec = hrms::seed::SeedSpec {
            tenants,
            employees_per_tenant: employees,
            departments_per_tenant: departments,
            seed,
            ..Default::default()
        };
        let data = hrms::seed::seed(&pool, &spec).await.context("seeding")?;
        println!("{}", serde_json::to_string_pretty(&data)?);
        return Ok(());
    }
    let app = hrms::Application::build(settings)
        .await
        .context("starting hrms")?;
    app.run_until_stopped(shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}

/// Ctrl-C or SIGTERM (what container runtimes and the harness send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
