//! Diagnostics go to stderr through `tracing`; stdout is reserved for what the user asked for
//! (URLs, reports), so it can be piped.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `RUST_LOG` wins over `-v`.
pub fn init(verbosity: u8) {
    let default = match verbosity {
        // goose logs a WARN per failed request: thousands per second under chaos.
        0 => "warn,goose=error,gauntlet_loadgen=info,gauntlet_testcontainers=info",
        1 => "info,goose=warn",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Escape codes only for a person at a terminal who has not asked for plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}
