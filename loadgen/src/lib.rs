//! The runner and the `gauntlet` CLI.
//!
//! Map: [`cli`] declares the command line (clap); [`commands`] holds one module per subcommand;
//! [`exit`] is the contract between outcomes and exit codes that CI scripts rely on; [`run`]
//! is the main job — provision, start the service, seed, attack with goose, record every
//! request, judge and write the report.
//!
//! This is the only crate that depends on the other workspace crates: provisioning
//! (`gauntlet-testcontainers`) and, as the harness grows, the service, scenarios, chaos and
//! reports. Nothing depends on it.

pub mod cli;
pub mod commands;
pub mod distribute;
pub mod exit;
pub mod logging;
pub mod run;
pub mod verify;
