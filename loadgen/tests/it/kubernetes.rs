//! `gauntlet distribute --engine kubernetes --emit`: the manifests checked field by field and
//! against the Kubernetes API's schemas; and `report merge --wait`, which the merge Job runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{bad_input, explain, gauntlet};

/// A credentials file of one tenant with one account: enough to be accepted.
const ONE_ACCOUNT: &str =
    r#"{"tenants": [{"users": [{"email": "e@t.example", "password": "pw", "role": "employee"}]}]}"#;

/// `distribute --engine kubernetes --emit`, into `dir/k8s.yaml`; the file's documents.
fn emit_manifests(dir: &Path) -> (PathBuf, Vec<serde_yaml::Value>) {
    let creds = dir.join("credentials.json");
    std::fs::write(&creds, ONE_ACCOUNT).unwrap();
    let file = dir.join("k8s.yaml");
    let output = gauntlet()
        .args([
            "distribute",
            "smoke",
            "--engine",
            "kubernetes",
            "--workers",
            "3",
        ])
        .args(["--target", "http://hrms.loadtest.svc:8080", "--raw-samples"])
        .args([
            "--duration-scale",
            "0.5",
            "--image",
            "registry.test/gauntlet:1",
        ])
        .args(["--namespace", "loadtest", "--credentials"])
        .arg(&creds)
        .arg("--emit")
        .arg(&file)
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let text = std::fs::read_to_string(&file).expect("manifests written");
    let docs = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("a YAML document"))
        .collect();
    (file, docs)
}

fn strings(v: &serde_yaml::Value) -> Vec<String> {
    v.as_sequence()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn kubernetes_manifests_are_an_indexed_job_of_the_parts_and_a_merge_job() {
    let dir = crate::support::out_dir("distribute-k8s");
    let (_, docs) = emit_manifests(dir.path());
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Secret", "PersistentVolumeClaim", "Job", "Job"]
    );
    let [scenario, secret, claim, parts, merge] = &docs[..] else {
        unreachable!()
    };
    for d in &docs {
        assert_eq!(d["metadata"]["namespace"].as_str(), Some("loadtest"));
    }
    let name = |d: &serde_yaml::Value| d["metadata"]["name"].as_str().unwrap().to_owned();
    // The spec travels as its own text: the parts' digest is a local run's.
    let spec = gauntlet_scenarios::ScenarioSpec::load("smoke").unwrap();
    assert_eq!(scenario["data"]["smoke.toml"].as_str(), Some(spec.source()));
    assert_eq!(
        secret["stringData"]["credentials.json"].as_str(),
        Some(ONE_ACCOUNT)
    );
    assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteMany"]);

    let spec = &parts["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(spec["completions"].as_u64(), Some(3));
    assert_eq!(spec["parallelism"].as_u64(), Some(3));
    assert_eq!(spec["backoffLimit"].as_u64(), Some(0));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"].as_str(),
        Some("registry.test/gauntlet:1")
    );
    let args = strings(&container["args"]);
    let after = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} in {args:?}"));
        args[i + 1].clone()
    };
    assert_eq!(args[..2], ["run", "/etc/gauntlet/scenario/smoke.toml"]);
    assert_eq!(after("--shard"), "$(JOB_COMPLETION_INDEX)/3");
    assert_eq!(after("--out"), "/reports/part-$(JOB_COMPLETION_INDEX)");
    assert_eq!(after("--target"), "http://hrms.loadtest.svc:8080/");
    assert_eq!(after("--duration-scale"), "0.5");
    assert_eq!(
        after("--credentials"),
        "/etc/gauntlet/credentials/credentials.json"
    );
    let start: f64 = after("--start-at").parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        start > now && start < now + 60.0,
        "start {start}, now {now}"
    );
    // Each volume is the object made beside it.
    let volumes = pod["volumes"].as_sequence().unwrap();
    let by_name = |n: &str| {
        volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(n))
            .unwrap()
    };
    assert_eq!(
        by_name("scenario")["configMap"]["name"].as_str(),
        Some(&*name(scenario))
    );
    assert_eq!(
        by_name("credentials")["secret"]["secretName"].as_str(),
        Some(&*name(secret))
    );
    assert_eq!(
        by_name("reports")["persistentVolumeClaim"]["claimName"].as_str(),
        Some(&*name(claim))
    );

    let merge_args = strings(&merge["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert_eq!(
        merge_args[..5],
        [
            "report",
            "merge",
            "/reports/part-0/report.json",
            "/reports/part-1/report.json",
            "/reports/part-2/report.json"
        ]
    );
    assert!(merge_args.contains(&"--wait".to_owned()), "{merge_args:?}");
}

/// Tests that need `kubernetes-validate` (PyPI), which `cargo xtask test` installs with pip
/// when it can and otherwise skips, saying why.
mod needs_kubernetes_validate {
    use super::*;

    #[test]
    fn the_kubernetes_manifests_pass_the_api_schemas_strictly() {
        let dir = crate::support::out_dir("distribute-k8s-schema");
        let (file, _) = emit_manifests(dir.path());
        let output = std::process::Command::new("kubernetes-validate")
            .args(["--strict", "--kubernetes-version", "1.33.0"])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "this test needs `kubernetes-validate` ({e}): `pip install \
                     kubernetes-validate`, or skip it with `cargo test -- --skip \
                     needs_kubernetes_validate`, which `cargo xtask test` does when pip cannot \
                     install it"
                )
            });
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        let said = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert_eq!(said.matches(" passed for resource ").count(), 5, "{said}");
    }
}

#[test]
fn a_merge_that_waits_for_parts_names_the_ones_that_never_reported() {
    let dir = crate::support::out_dir("merge-wait");
    let (a, b) = (
        dir.path().join("part-0.json"),
        dir.path().join("part-1.json"),
    );
    // A report half written is not a report: the merge keeps waiting for it.
    std::fs::write(&a, "{\"schema_version\": 1, \"run\": {").unwrap();
    let started = std::time::Instant::now();
    let stderr = bad_input(
        gauntlet()
            .args(["report", "merge"])
            .args([&a, &b])
            .arg("-o")
            .arg(dir.path().join("merged.json"))
            .args(["--wait", "1s"]),
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert!(stderr.contains("no complete report at"), "{stderr}");
    assert!(
        stderr.contains("part-0.json") && stderr.contains("part-1.json"),
        "{stderr}"
    );
}
