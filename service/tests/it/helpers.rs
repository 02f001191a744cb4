//! `spawn_app()`: a real service on 127.0.0.1:0 over real Postgres and Redis (a fresh stack
//! per test), seeded with a small deterministic data set.

use std::time::Duration;

use gauntlet_testcontainers::{ProvisionConfig, Stack};
use hrms::auth::Role;
use hrms::config::{Argon2Settings, Secret, Settings};
use hrms::seed::{SeedSpec, SeededData, SeededTenant};
use hrms::{Application, RunningService};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

/// Operator token configured for every test app.
pub const OPERATOR_TOKEN: &str = "test-operator-token";
/// Generous bound for anything a test polls (the machine is small and shared).
pub const POLL_DEADLINE: Duration = Duration::from_secs(60);
/// How often [`poll`] asks: soon after the moment, without loading a 2-core machine.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Awaits `probe` every [`POLL_INTERVAL`] until it returns `Ok`, for at most `within`; the
/// last `Err` it returned when time ran out.
pub async fn poll<T, E, Fut>(within: Duration, mut probe: impl FnMut() -> Fut) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return Ok(value),
            Err(last) if tokio::time::Instant::now() >= deadline => return Err(last),
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// [`poll`], failing the test when time runs out: `what` is what was awaited, and the
/// probe's last `Err` says what was seen instead.
pub async fn poll_until<T, E: std::fmt::Display, Fut>(
    within: Duration,
    what: &str,
    probe: impl FnMut() -> Fut,
) -> T
where
    Fut: Future<Output = Result<T, E>>,
{
    match poll(within, probe).await {
        Ok(value) => value,
        Err(last) => panic!("{what}: not within {within:?}; last: {last}"),
    }
}

/// A running test application.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Client without cookies or retries.
    pub client: reqwest::Client,
    /// The provisioned Postgres and Redis.
    pub stack: Stack,
    /// Superuser pool on the service's database (bypasses RLS: for assertions).
    pub pool: PgPool,
    /// What was seeded.
    pub seeded: SeededData,
    /// The settings the app runs with.
    pub settings: Settings,
    /// `None` once stopped or crashed, until [`TestApp::start_again`].
    service: Option<RunningService>,
}

/// Settings for tests: cheap argon2, short timeouts, fast polling, the given stack.
pub fn test_settings(stack: &Stack) -> Settings {
    let mut s = Settings::default();
    s.server.bind = "127.0.0.1:0".parse().unwrap();
    s.server.shutdown_grace = Duration::from_secs(10);
    s.database.url = stack.postgres.url().clone();
    s.database.max_connections = 10;
    s.database.acquire_timeout = Duration::from_secs(2);
    s.redis.url = stack.redis.url().clone();
    s.auth.argon2 = Argon2Settings::CHEAP;
    s.auth.jwt_secret = Secret::new("test-secret");
    s.auth.operator_token = Some(Secret::new(OPERATOR_TOKEN));
    s.jobs.poll_interval = Duration::from_millis(50);
    // The limiter's 50 ms production bound would turn a busy 2-core test machine into
    // spurious "Redis is down" decisions, and those come from a separate local bucket.
    s.rate_limit.redis_timeout = Duration::from_secs(2);
    // Functional tests must not trip over the (small) free tier; rate-limit tests set tiny
    // tiers explicitly.
    let roomy = hrms::ratelimit::ClassLimits {
        capacity: 10_000,
        refill_per_sec: 1_000.0,
    };
    let t = &mut s.rate_limit.tiers;
    for tier in [
        &mut t.free,
        &mut t.starter,
        &mut t.professional,
        &mut t.enterprise,
    ] {
        tier.read = roomy;
        tier.write = roomy;
        tier.heavy = roomy;
    }
    s
}

/// The default seed for tests: 2 tenants × 12 employees, 3 departments each.
pub fn test_seed() -> SeedSpec {
    SeedSpec {
        tenants: 2,
        employees_per_tenant: 12,
        departments_per_tenant: 3,
        ..SeedSpec::default()
    }
}

/// Spawns with default test settings and seed.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_seed(), |_| {}).await
}

/// Spawns with a custom seed and settings tweak.
pub async fn spawn_app_with(seed: SeedSpec, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let config = ProvisionConfig::from_env().expect("provisioning config");
    let stack = Stack::provision(&config)
        .await
        .expect("provision postgres and redis");
    let mut settings = test_settings(&stack);
    tweak(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("build app");
    let pool = app.state().db.clone();
    let seeded = hrms::seed::seed(&pool, &seed).await.expect("seed");
    let service = app.spawn();
    TestApp {
        address: service.base_url().to_owned(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        stack,
        pool,
        seeded,
        settings,
        service: Some(service),
    }
}

impl TestApp {
    /// Asks for a graceful stop without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(service) = self.service.as_mut() {
            service.begin_stop();
        }
    }

    /// Graceful stop: waits for the drain to finish.
    pub async fn stop(&mut self) {
        if let Some(service) = self.service.take() {
            service.stop().await.expect("graceful stop");
        }
    }

    /// Simulated crash: the serving future is dropped mid-flight (workers aborted, nothing
    /// requeued).
    pub async fn crash(&mut self) {
        if let Some(service) = self.service.take() {
            service.crash().await;
        }
    }

    /// Builds and starts a fresh Application on the same stack and database.
    pub async fn start_again(&mut self) {
        let service = RunningService::start(self.settings.clone())
            .await
            .expect("rebuild app");
        self.address = service.base_url().to_owned();
        self.service = Some(service);
    }

    /// Tenant `i` of the seed.
    pub fn tenant(&self, i: usize) -> &SeededTenant {
        &self.seeded.tenants[i]
    }

    /// Logs in as the first user with `role` in tenant `i`; returns the token.
    pub async fn token(&self, i: usize, role: Role) -> String {
        let user = self.tenant(i).user(role).expect("seeded role").clone();
        self.login(&user.email, &user.password).await
    }

    /// Logs in and returns the token (panics unless 200).
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .post(
                "/auth/login",
                None,
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("GET")
    }

    /// POST a JSON body with an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, token, Some(body), None)
            .await
    }

    /// Any method, optional token, optional JSON body, optional Idempotency-Key.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("request")
    }

    /// Sends a raw body with a content type (for malformed-input tests).
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST raw")
    }

    /// Polls `GET path` until it answers `status` or the deadline passes; returns whether it did.
    pub async fn wait_for_status(
        &self,
        path: &str,
        token: Option<&str>,
        status: StatusCode,
        deadline: Duration,
    ) -> bool {
        poll(deadline, || async {
            let mut request = self
                .client
                .get(format!("{}{path}", self.address))
                .timeout(Duration::from_secs(5));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response) if response.status() == status => Ok(()),
                _ => Err(()),
            }
        })
        .await
        .is_ok()
    }
}

/// Asserts the `{"error":{"code","message"}}` shape and returns the code.
pub async fn error_code(response: Response) -> String {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{status}: body is not JSON: {e}"));
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{status}: no error.code in {body}"));
    assert!(
        body["error"]["message"].is_string(),
        "{status}: no error.message in {body}"
    );
    code.to_owned()
}

/// Reads a JSON body.
pub async fn json(response: Response) -> Value {
    let status = response.status();
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{status}: body is not JSON: {e}"))
}
