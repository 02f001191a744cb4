//! The dependency direction ARCHITECTURE.md promises, checked against `cargo metadata`.
//!
//! Leaf crates stay leaves so each can be understood, tested and reused alone; `loadgen` is the
//! only glue; the service never depends on the harness that tests it.

use std::{collections::BTreeMap, process::Command};

use serde_json::Value;

/// For each workspace package: the workspace crates it may depend on as a normal or build
/// dependency, and as a dev-dependency.
fn allowed() -> BTreeMap<&'static str, (&'static [&'static str], &'static [&'static str])> {
    const ANY: &[&str] = &[
        "hrms",
        "gauntlet-testcontainers",
        "gauntlet-scenarios",
        "gauntlet-chaos",
        "gauntlet-reports",
        "gauntlet-contract",
    ];
    const BENCHES: &[&str] = &[
        "hrms",
        "gauntlet-testcontainers",
        "gauntlet-scenarios",
        "gauntlet-chaos",
        "gauntlet-reports",
        "gauntlet-loadgen",
    ];
    BTreeMap::from([
        // The service's tests provision with our testcontainers and fuzz with our fuzzer: test
        // tools, never the harness.
        (
            "hrms",
            (
                &[][..],
                &["gauntlet-testcontainers", "gauntlet-contract"][..],
            ),
        ),
        ("gauntlet-contract", (&[][..], &[][..])),
        ("gauntlet-testcontainers", (&[][..], &[][..])),
        // A spec's `[[chaos]]` entries are parsed into the chaos crate's fault types, and its
        // stage kinds are the report's.
        (
            "gauntlet-scenarios",
            (&["gauntlet-chaos", "gauntlet-reports"][..], &[][..]),
        ),
        ("gauntlet-chaos", (&[][..], &[][..])),
        ("gauntlet-reports", (&[][..], &[][..])),
        ("gauntlet-loadgen", (ANY, ANY)),
        // Benches measure the harness too (its recorder's overhead), so they alone may use it.
        ("gauntlet-benches", (ANY, BENCHES)),
        // Project automation prepares a test machine with the same set-up steps a run takes.
        ("xtask", (&["gauntlet-testcontainers"][..], &[][..])),
    ])
}

fn metadata() -> Value {
    let workspace_root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn workspace_crates_depend_only_in_the_documented_direction() {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().expect("packages array");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let rules = allowed();
    let mut violations = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((normal, dev)) = rules.get(name) else {
            violations.push(format!(
                "{name}: not listed in ARCHITECTURE.md's map (add it there and here)"
            ));
            continue;
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if !names.contains(&dep_name) {
                continue;
            }
            let is_dev = dep["kind"].as_str() == Some("dev");
            let permitted = if is_dev { dev } else { normal };
            if !permitted.contains(&dep_name) {
                let kind = if is_dev {
                    "dev-dependency"
                } else {
                    "dependency"
                };
                violations.push(format!("{name} has a {kind} on {dep_name}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency direction violated:\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_folder_is_one_package_and_none_shadows_a_published_crate() {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().expect("packages array");
    let mut names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    names.sort();
    // Naming a package `testcontainers` would shadow the crate our provisioning wraps.
    assert!(
        !names.contains(&"testcontainers"),
        "a package is named testcontainers"
    );
    assert_eq!(
        names,
        [
            "gauntlet-benches",
            "gauntlet-chaos",
            "gauntlet-contract",
            "gauntlet-loadgen",
            "gauntlet-reports",
            "gauntlet-scenarios",
            "gauntlet-testcontainers",
            "hrms",
            "xtask"
        ]
    );
}
