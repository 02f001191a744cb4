//! Diagnostics go to stderr through `tracing`; stdout is reserved for what the user asked for
//! (URLs, reports), so it can be piped.
//!
//! During a local run the reference service's own events go to a file in the run's directory
//! instead ([`service_log`]), and the terminal gets one line per episode of a dependency being
//! unavailable ([`episodes`]): under a fault the service logs every request it fails.

pub mod episodes;
pub mod service_log;

use std::io::IsTerminal;

use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the subscriber. `RUST_LOG` wins over `-v`, and `-v` over `quiet` (warnings and
/// errors only).
pub fn init(verbosity: u8, quiet: bool) {
    let default = match verbosity {
        // goose logs a WARN per failed request: thousands per second under chaos.
        0 if quiet => "warn,goose=error",
        0 => "warn,goose=error,gauntlet_loadgen=info,gauntlet_testcontainers=info",
        1 => "info,goose=warn",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Escape codes only for a person at a terminal who has not asked for plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .with_filter(filter.and(filter_fn(|m| !service_log::diverts(m))));
    let _ = tracing_subscriber::registry()
        .with(terminal)
        .with(service_log::layer())
        .try_init();
}
