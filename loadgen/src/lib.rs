//! The runner and the `gauntlet` CLI.
//!
//! Map: [`cli`] declares the command line (clap); [`commands`] holds one module per subcommand;
//! [`exit`] is the contract between outcomes and exit codes that CI scripts rely on.
//!
//! This is the only crate that depends on the other workspace crates: provisioning
//! (`gauntlet-testcontainers`) and, as the harness grows, the service, scenarios, chaos and
//! reports. Nothing depends on it.

pub mod cli;
pub mod commands;
pub mod exit;
pub mod logging;
