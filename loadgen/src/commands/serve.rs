//! `gauntlet serve`: dependencies up until Ctrl-C, for poking at by hand.

use gauntlet_testcontainers::{Stack, redact};

use crate::{
    cli::ServeArgs,
    exit::{Exit, Failure},
};

pub async fn run(args: ServeArgs) -> Result<Exit, Failure> {
    let config = super::provision_config(&args.backend)?;
    let stack = Stack::provision(&config)
        .await
        .map_err(Failure::infrastructure)?;
    println!("backend:  {}", stack.backend());
    println!("postgres: {}", stack.postgres.url());
    println!("redis:    {}", stack.redis.url());
    println!(
        "ready in {} ms; Ctrl-C to stop and clean up",
        stack.time_to_ready.as_millis()
    );
    tracing::debug!(postgres = %redact(stack.postgres.url()), "serving");
    let interrupted = wait_for_shutdown_signal().await;
    stack.shutdown().await;
    eprintln!("stopped; everything provisioned was removed");
    Ok(if interrupted {
        Exit::Success
    } else {
        Exit::Infrastructure
    })
}

/// Ctrl-C (SIGINT) or SIGTERM. Returns false only if no signal handler could be installed.
async fn wait_for_shutdown_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return tokio::signal::ctrl_c().await.is_ok();
    };
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.is_ok(),
        _ = term.recv() => true,
    }
}
