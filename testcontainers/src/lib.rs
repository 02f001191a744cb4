//! Postgres and Redis on demand, with the lifecycle controls chaos experiments need.
//!
//! Map of the crate:
//! - [`Stack::provision`] hands out a running Postgres and Redis ([`Server`]s), each with a URL
//!   that stays the same across `stop`/`start`/`kill`/`restart`, and removes them on drop.
//! - Backends: [`docker`] (the `testcontainers` crate, images inspected before use),
//!   [`native`] (child processes from a copied `initdb` template), and external URLs.
//!   `auto` picks docker, then native ([`detect`], which `gauntlet env` prints); [`setup`]
//!   fetches what the chosen one lacks (pull, local image build, apt) unless told not to, and
//!   otherwise prints the commands that would.
//! - [`local_image`] builds one image holding both servers from Debian packages, for Docker
//!   engines that cannot reach a registry.
//! - [`process`] is the supervisor of child processes that must die with the harness: the
//!   native servers, and (through `gauntlet-loadgen`) the service child of `--service-process`.
//!
//! This crate depends on no other workspace crate: the service's tests and the harness both
//! use it.

pub mod backup;
pub mod config;
pub mod detect;
pub mod disk;
pub mod docker;
pub mod error;
pub mod local_image;
pub mod native;
mod ports;
pub mod process;
pub mod readiness;
mod server;
pub mod setup;
mod stack;

pub use config::{BackendChoice, ProvisionConfig};
pub use detect::{EnvironmentReport, inspect_environment};
pub use error::{ControlError, ProvisionError};
pub use server::{Backend, Role, Server};
pub use setup::{Observer, SetupObserver, SystemChanges};
pub use stack::Stack;

/// The URL with its password replaced, for logs and error messages.
pub fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// First 12 hex digits of a SHA-256 over `parts` (length-prefixed so ["ab","c"] ≠ ["a","bc"]).
pub(crate) fn short_hash(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())[..12].to_owned()
}
