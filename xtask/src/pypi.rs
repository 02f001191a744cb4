//! `kubernetes-validate` from PyPI: the Kubernetes API's schemas, shipped in the package, so
//! `distribute --engine kubernetes`'s manifests are validated offline. Optional: when it
//! cannot be installed, the tests that need it are skipped, saying why, and the rest run.

use std::process::Command;

use gauntlet_testcontainers::{Observer, SystemChanges, native::binaries::find_on_path};

use crate::skips::{NEEDS_KUBERNETES_VALIDATE, Skip};

const PACKAGE: &str = "kubernetes-validate";

/// Installs `kubernetes-validate` with pip when it is missing; the skip when it stays missing.
pub fn kubernetes_validate(changes: SystemChanges, observer: &Observer) -> Option<Skip> {
    if find_on_path(PACKAGE).is_some() {
        return None;
    }
    let skip = |reason: String| {
        observer.step(&format!("the Kubernetes schema test is skipped: {reason}"));
        Some(Skip {
            filter: NEEDS_KUBERNETES_VALIDATE,
            reason,
        })
    };
    if changes == SystemChanges::Refused {
        return skip(format!(
            "{PACKAGE} is missing and installing is refused (--no-install); run: python3 -m pip install {PACKAGE}"
        ));
    }
    observer.step(&format!(
        "the Kubernetes manifests' schema test needs {PACKAGE} (PyPI): python3 -m pip install {PACKAGE}"
    ));
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", PACKAGE])
        .output();
    match installed {
        Err(e) => skip(format!(
            "{PACKAGE} is missing and python3 could not run: {e}"
        )),
        Ok(out) if !out.status.success() => {
            let said = String::from_utf8_lossy(&out.stderr);
            let last = said.lines().rev().find(|l| !l.trim().is_empty());
            skip(format!(
                "{PACKAGE} is missing and pip could not install it: {}",
                last.unwrap_or("no message")
            ))
        }
        Ok(_) if find_on_path(PACKAGE).is_none() => skip(format!(
            "pip installed {PACKAGE}, but its command is not on PATH"
        )),
        Ok(_) => None,
    }
}
