//! The `hrms` binary: configured from the environment, serves, and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use gauntlet_testcontainers::{ProvisionConfig, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_starts_from_env_and_stops_on_sigterm() {
    let stack = Stack::provision(&ProvisionConfig::from_env().unwrap())
        .await
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hrms"))
        .env("DATABASE_URL", stack.postgres.url().as_str())
        .env("REDIS_URL", stack.redis.url().as_str())
        .env("HRMS_BIND", "127.0.0.1:0")
        .env("HRMS_LOG_FORMAT", "json")
        .env("HRMS_ARGON2_M_COST", "8")
        .env("HRMS_ARGON2_T_COST", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hrms");
    let stdout = child.stdout.take().unwrap();
    // The JSON log line "hrms built" carries the bound port.
    let port = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines().take(200) {
            let line = line.ok()?;
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if value["fields"]["message"] == "hrms built" {
                return value["fields"]["port"].as_u64();
            }
        }
        None
    });
    let port = tokio::time::timeout(Duration::from_secs(60), port).await;
    let Ok(Ok(Some(port))) = port else {
        let _ = child.kill();
        panic!("the binary did not log its port in time");
    };
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("http://127.0.0.1:{port}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("exits within the drain deadline")
    .unwrap()
    .unwrap();
    assert!(exit.success(), "graceful exit, got {exit:?}");
    stack.shutdown().await;
}
