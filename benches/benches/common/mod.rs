//! What the benches that run the reference service in-process share: its settings and a login.

use std::time::Duration;

use gauntlet_testcontainers::Stack;
use hrms::config::{Argon2Settings, Secret, Settings};
use hrms::ratelimit::ClassLimits;
use reqwest::StatusCode;

/// Like the service's test settings, with limits no benchmark can reach: the benches measure
/// the service, not the limiter (whose decision is still made in Redis on every request).
/// `pool_size` is the service's Postgres pool.
pub fn settings(stack: &Stack, pool_size: u32) -> Settings {
    let mut s = Settings::default();
    s.server.bind = "127.0.0.1:0".parse().expect("static address");
    s.server.shutdown_grace = Duration::from_secs(5);
    s.database.url = stack.postgres.url().clone();
    s.database.max_connections = pool_size;
    s.redis.url = stack.redis.url().clone();
    s.auth.argon2 = Argon2Settings::CHEAP;
    s.auth.jwt_secret = Secret::new("bench-secret");
    // An API-only instance: payroll workers polling Redis would only add noise.
    s.jobs.workers = 0;
    // The 50 ms production bound turns a loaded 2-core box into spurious "Redis down"
    // decisions, which would take the cheaper local path and flatter the service.
    s.rate_limit.redis_timeout = Duration::from_secs(2);
    let unreachable = ClassLimits {
        capacity: 1_000_000_000,
        refill_per_sec: 1_000_000_000.0,
    };
    let t = &mut s.rate_limit.tiers;
    for tier in [
        &mut t.free,
        &mut t.starter,
        &mut t.professional,
        &mut t.enterprise,
    ] {
        tier.read = unreachable;
        tier.write = unreachable;
        tier.heavy = unreachable;
    }
    s
}

/// Logs in at `base` and returns the access token.
pub async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let response = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("POST /auth/login");
    assert_eq!(response.status(), StatusCode::OK, "login as {email}");
    let body: serde_json::Value = response.json().await.expect("login body is JSON");
    body["access_token"]
        .as_str()
        .expect("access_token in login body")
        .to_owned()
}

/// One authorised GET that must answer 200; the body is read in full so the keep-alive
/// connection is reused.
pub async fn get_ok(client: &reqwest::Client, url: &str, auth: &reqwest::header::HeaderValue) {
    let response = client
        .get(url)
        .header(reqwest::header::AUTHORIZATION, auth.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), StatusCode::OK, "GET {url} status");
    let body = response.bytes().await.expect("response body");
    std::hint::black_box(body.len());
}

/// Graceful stop of an in-process service, bounded: a bench that cannot stop it says so and
/// goes on to remove the stack.
pub async fn stop(service: hrms::RunningService) {
    match tokio::time::timeout(Duration::from_secs(30), service.stop()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let cause = std::error::Error::source(&e).map_or(String::new(), |s| format!(": {s}"));
            eprintln!("hrms did not stop cleanly: {e}{cause}");
        }
        Err(_) => eprintln!("hrms did not stop within 30 s"),
    }
}

/// Native Postgres and Redis on loopback: the benches compare costs on one box, and the
/// native backend keeps Docker's port forwarding out of them.
pub async fn native_stack() -> Stack {
    let config = gauntlet_testcontainers::ProvisionConfig::from_env()
        .expect("provisioning config from the environment")
        .with_backend(gauntlet_testcontainers::BackendChoice::Native);
    Stack::provision(&config)
        .await
        .expect("provision native postgres and redis")
}
