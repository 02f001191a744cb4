//! Diagnostics go to stderr through `tracing`; stdout is reserved for what the user asked for
//! (URLs, reports), so it can be piped.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `RUST_LOG` wins over `-v`.
pub fn init(verbosity: u8) {
    let default = match verbosity {
        0 => "warn,gauntlet_loadgen=info,gauntlet_testcontainers=info",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
