//! Tests this machine cannot run, skipped so that the run says so.
//!
//! A test that needs something a machine may lack lives in a module named after it
//! (`mod needs_docker`, `mod needs_chromium`), so it can be filtered out by name: libtest's
//! `--skip` counts it as "filtered out" rather than as a pass, and after the run this task
//! lists each one with the reason. The tests themselves never consult the environment: run
//! directly without what they need, they fail saying how to provide it or skip them.

use std::process::{Command, Stdio};

/// The module of tests that need a Docker engine.
pub const NEEDS_DOCKER: &str = "needs_docker::";
/// The module of tests that need a headless chromium.
pub const NEEDS_CHROMIUM: &str = "needs_chromium::";
/// The module of tests that need `kubernetes-validate` (the Kubernetes API's schemas).
pub const NEEDS_KUBERNETES_VALIDATE: &str = "needs_kubernetes_validate::";

/// Tests whose path contains `filter` are not run, because of `reason`.
pub struct Skip {
    pub filter: &'static str,
    pub reason: String,
}

/// `GAUNTLET_SKIP_DOCKER_TESTS=1` / `GAUNTLET_SKIP_BROWSER_TESTS=1`: the user's way of saying
/// the machine lacks Docker or chromium.
pub fn asked(variable: &str) -> bool {
    std::env::var_os(variable).is_some_and(|v| v == "1")
}

/// The user's arguments after `--`, split into cargo's and the test binaries' (after a second
/// `--`), with a `--skip` for every skip appended to the latter.
pub fn test_args(passthrough: &[String], skips: &[Skip]) -> (Vec<String>, Vec<String>) {
    let (cargo, mut tests) = split(passthrough);
    for skip in skips {
        tests.extend(["--skip".to_owned(), skip.filter.to_owned()]);
    }
    (cargo, tests)
}

fn split(passthrough: &[String]) -> (Vec<String>, Vec<String>) {
    match passthrough.iter().position(|a| a == "--") {
        Some(i) => (passthrough[..i].to_vec(), passthrough[i + 1..].to_vec()),
        None => (passthrough.to_vec(), Vec::new()),
    }
}

/// Prints every test the skips left out, with why: the names come from the test binaries'
/// own `--list`, under the user's filters, so the list is what this run would have run.
pub fn report(cargo: &std::ffi::OsStr, passthrough: &[String], skips: &[Skip]) {
    if skips.is_empty() {
        return;
    }
    let (cargo_args, test_args) = split(passthrough);
    let listed = Command::new(cargo)
        .args(["test", "--workspace", "--quiet"])
        .args(&cargo_args)
        .arg("--")
        .args(&test_args)
        .arg("--list")
        .stderr(Stdio::null())
        .output();
    let names = match listed {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.strip_suffix(": test"))
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        _ => {
            for skip in skips {
                eprintln!(
                    "xtask: skipped: tests under {} — {} (could not list them)",
                    skip.filter, skip.reason
                );
            }
            return;
        }
    };
    for skip in skips {
        let skipped: Vec<&String> = names.iter().filter(|n| n.contains(skip.filter)).collect();
        eprintln!(
            "xtask: {} test{} skipped (libtest counts them as filtered out): {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            skip.reason
        );
        for name in skipped {
            eprintln!("  skipped: {name} — {}", skip.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn skips_go_to_the_test_binaries_after_the_users_own_arguments() {
        let skips = [Skip {
            filter: NEEDS_DOCKER,
            reason: "no Docker engine answers".to_owned(),
        }];
        let (cargo, tests) = test_args(&args(&["-p", "hrms", "--", "payroll"]), &skips);
        assert_eq!(cargo, args(&["-p", "hrms"]));
        assert_eq!(tests, args(&["payroll", "--skip", NEEDS_DOCKER]));

        let (cargo, tests) = test_args(&args(&["-p", "hrms"]), &skips);
        assert_eq!(cargo, args(&["-p", "hrms"]));
        assert_eq!(tests, args(&["--skip", NEEDS_DOCKER]));

        let (cargo, tests) = test_args(&[], &[]);
        assert!(cargo.is_empty() && tests.is_empty());
    }
}
