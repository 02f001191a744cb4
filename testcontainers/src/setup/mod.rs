//! Getting a machine ready to provision: which prerequisites a backend lacks, and fetching them
//! (pulling images, building the local image, installing Debian packages) when the user allows
//! changes to the system.
//!
//! A newcomer's first `gauntlet run smoke` should end in a report, not in a to-do list, so
//! `auto` fetches what its chosen path lacks. Every step is announced (what, why, how long it
//! took) through a [`SetupObserver`], and `--no-install` ([`SystemChanges::Refused`]) turns each
//! step into the exact command the user can run instead.
//!
//! - [`decide`] is pure: from the [`Facts`] found on the machine it picks the backend and the
//!   steps that get it ready. `gauntlet env` prints the same decision without acting on it.
//! - [`apt`] installs Debian packages (root on a Debian-family system only).
//! - [`lock`] makes concurrent processes (tests run in parallel) wait for one another instead
//!   of building the same image or running apt twice.

pub mod apt;
mod decide;
pub(crate) mod lock;

use std::{fmt, sync::Arc};

pub use decide::{Decision, Facts, ImageFacts, NativeFacts, PlannedStep, Refusal, Step, decide};

/// Whether provisioning may change the machine: pull or build images, install packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemChanges {
    /// Fetch what the chosen backend lacks, announcing each step.
    #[default]
    Allowed,
    /// Change nothing; print the commands that would (`--no-install`, `GAUNTLET_NO_INSTALL=1`).
    Refused,
}

/// Hears about set-up steps. Steps are rare, full lines; progress lines can come many times a
/// second while an image builds, so a terminal front end may show them on one live line.
pub trait SetupObserver: Send + Sync {
    /// A step starts or ends: "what, why" or "done in N s".
    fn step(&self, line: &str);
    /// A line of progress inside the current step.
    fn progress(&self, line: &str) {
        self.step(line);
    }
}

/// Writes every line to stderr: the default for libraries and tests, where no terminal front
/// end exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrObserver;

impl SetupObserver for StderrObserver {
    fn step(&self, line: &str) {
        eprintln!("gauntlet setup: {line}");
    }
}

/// A shared [`SetupObserver`], cheap to clone into the provisioning config.
#[derive(Clone)]
pub struct Observer(pub Arc<dyn SetupObserver>);

impl Observer {
    /// Announces a step.
    pub fn step(&self, line: &str) {
        self.0.step(line);
    }

    /// Reports progress inside a step.
    pub fn progress(&self, line: &str) {
        self.0.progress(line);
    }
}

impl Default for Observer {
    fn default() -> Self {
        Self(Arc::new(StderrObserver))
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// `sudo ` when this process is not root: the commands we print must work when pasted.
pub(crate) fn sudo_prefix() -> &'static str {
    if nix::unistd::geteuid().is_root() {
        ""
    } else {
        "sudo "
    }
}

/// Seconds with one decimal, for "done in 12.3 s" lines.
pub(crate) fn seconds(elapsed: std::time::Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}
