//! The noisy neighbour: one tenant (the fixture's last, reserved so no virtual user logs in
//! to it) floods a cheap read at a fixed rate past its plan's limit through one stage, while
//! the personas' requests are counted per tenant. Whether the others kept their error rate,
//! 429 rate and latency is for the `tenant.*` thresholds to judge; whether the flooder itself
//! was held to its plan is `noisy_neighbour.rate_limited`.
//!
//! Open model on purpose: requests start on the schedule whatever earlier ones are doing, so a
//! limiter (or a service) that slows the flooder down cannot turn the flood into a trickle.
//! Bounded: at most `rate × stage` requests, never more than [`MAX_IN_FLIGHT`] at once (a tick
//! with no room is skipped and counted, not queued), and nothing after the stage's end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gauntlet_reports::model::NoisyNeighbourSection;
use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::hrms::{Fixture, Role};
use tokio::sync::Semaphore;

use super::attack::REQUEST_TIMEOUT;
use super::recorder::Recorder;

/// Flood requests in flight at most; beyond this the service is already drowning and more
/// concurrency would only measure the generator.
const MAX_IN_FLIGHT: usize = 64;
/// The flood's request: a cheap tenant read. Not the employee list: the diagnosis averages a
/// route's costs over every request the service counted, and a flood of one-row pages
/// drowned the personas' 50-row pages (an N+1 list averaged 7 statements a request, not 54).
const FLOOD_PATH: &str = "/leave/requests?per_page=1";
/// Its endpoint name, for the cross-check's flood column.
pub const FLOOD_ENDPOINT: &str = "GET /leave/requests";

/// What the flood needs, decided before the attack.
#[derive(Debug, Clone)]
pub struct Flood {
    tenant: usize,
    label: String,
    tier: Option<String>,
    stage: String,
    start: Duration,
    duration: Duration,
    rps: f64,
    limit_rps: Option<f64>,
    email: String,
    password: String,
}

impl Flood {
    /// The plan's flood against `fixture`'s last tenant, or why it cannot run (bad input: the
    /// spec asks for something this fixture cannot give).
    pub fn plan(plan: &LoadPlan, fixture: &Fixture) -> anyhow::Result<Option<Flood>> {
        let Some(n) = &plan.noisy_neighbour else {
            return Ok(None);
        };
        if fixture.tenants.len() < 2 {
            anyhow::bail!(
                "[noisy_neighbour] needs two tenants or more (the last one floods, the others \
                 carry the virtual users); the fixture has {}",
                fixture.tenants.len()
            );
        }
        let index = fixture.tenants.len() - 1;
        let tenant = &fixture.tenants[index];
        let label = fixture.labels().swap_remove(index);
        let Some(user) = tenant.users.iter().find(|u| u.role == Role::Employee) else {
            anyhow::bail!(
                "the noisy neighbour, tenant {label} (the fixture's last), has no employee account to flood with"
            );
        };
        let Some(rps) = n.rate.per_second(tenant.read_limit_per_sec) else {
            anyhow::bail!(
                "[noisy_neighbour] rate is a share of tenant {label}'s plan limit, which the \
                 credentials file does not give: add \"read_limit_per_sec\" to that tenant, or \
                 write an absolute rate such as rate = \"20/s\""
            );
        };
        let stage = &plan.stages[n.stage];
        Ok(Some(Flood {
            tenant: index,
            label,
            tier: tenant.tier.clone(),
            stage: stage.name.clone(),
            start: stage.start,
            duration: stage.duration,
            rps,
            limit_rps: tenant.read_limit_per_sec,
            email: user.email.clone(),
            password: user.password.clone(),
        }))
    }

    /// The fixture tenant that floods (reserved: no virtual user logs in to it).
    pub fn tenant(&self) -> usize {
        self.tenant
    }
}

/// Shared counters of one flood.
#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    ok: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
    /// Answers before the first 429 (the burst draining), and whether one has come.
    burst: AtomicU64,
    refused_once: AtomicBool,
    /// `RateLimit-Limit` of the latest answer carrying it (0: none yet).
    plan_burst: AtomicU64,
}

/// What a flood leaves: the report's section, and its requests per endpoint for the
/// cross-check (the service counts them; goose and the endpoint statistics do not).
#[derive(Debug, Default)]
pub struct Flooded {
    /// The report's section.
    pub section: NoisyNeighbourSection,
    /// Requests sent per endpoint name, the login included.
    pub requests: BTreeMap<String, u64>,
}

/// Runs the flood through its stage (load starts when the recorder sees the first virtual
/// user's request) or until `stop`.
pub async fn run(
    flood: &Flood,
    base_url: &str,
    recorder: &Recorder,
    run_started_unix_us: u64,
    stop: &AtomicBool,
) -> Flooded {
    let mut requests = BTreeMap::new();
    let section = send(
        flood,
        base_url,
        recorder,
        run_started_unix_us,
        stop,
        &mut requests,
    )
    .await;
    if section.sent > 0 {
        requests.insert(FLOOD_ENDPOINT.to_owned(), section.sent);
    }
    Flooded { section, requests }
}

async fn send(
    flood: &Flood,
    base_url: &str,
    recorder: &Recorder,
    run_started_unix_us: u64,
    stop: &AtomicBool,
    requests: &mut BTreeMap<String, u64>,
) -> NoisyNeighbourSection {
    let mut section = NoisyNeighbourSection {
        enabled: true,
        tenant: flood.label.clone(),
        tier: flood.tier.clone(),
        stage: flood.stage.clone(),
        target_rps: flood.rps,
        limit_rps: flood.limit_rps,
        ..NoisyNeighbourSection::default()
    };
    let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            section.problem = Some(format!("no HTTP client: {e}"));
            return section;
        }
    };
    let plan_started = loop {
        if let Some(at) = recorder.plan_started_unix_us() {
            break at;
        }
        if stop.load(Ordering::Relaxed) {
            section.problem = Some("the load ended before it started".to_owned());
            return section;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let since_plan = Duration::from_micros(super::now_unix_us().saturating_sub(plan_started));
    let origin = Instant::now() - since_plan;
    let (begin, end) = (origin + flood.start, origin + flood.start + flood.duration);
    requests.insert("POST /auth/login".to_owned(), 1);
    let token = match login(&client, base_url, flood).await {
        Ok(t) => t,
        Err(why) => {
            section.problem = Some(why);
            return section;
        }
    };
    sleep_until(begin, stop).await;
    let offset = |at: Instant| {
        let since = at.saturating_duration_since(origin).as_micros();
        plan_started.saturating_sub(run_started_unix_us) + u64::try_from(since).unwrap_or(0)
    };
    section.start_offset_us = offset(Instant::now());
    recorder.set_flooding(true);
    let counts = Arc::new(Counts::default());
    let room = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let url = format!("{}{FLOOD_PATH}", base_url.trim_end_matches('/'));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / flood.rps));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let budget = (flood.rps * flood.duration.as_secs_f64()).ceil() as u64 + 1;
    for _ in 0..budget {
        ticks.tick().await;
        if Instant::now() >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(permit) = Arc::clone(&room).try_acquire_owned() else {
            section.skipped += 1;
            continue;
        };
        let request = client.get(&url).bearer_auth(&token);
        let counts = Arc::clone(&counts);
        tokio::spawn(async move {
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let answer = request.send().await;
            if let Some(limit) = answer.as_ref().ok().and_then(|r| {
                r.headers()
                    .get("ratelimit-limit")?
                    .to_str()
                    .ok()?
                    .parse::<u64>()
                    .ok()
            }) {
                counts.plan_burst.store(limit, Ordering::Relaxed);
            }
            let status = answer.map(|r| r.status().as_u16());
            if status.as_ref().is_ok_and(|s| *s == 429) {
                counts.refused_once.store(true, Ordering::Relaxed);
            } else if !counts.refused_once.load(Ordering::Relaxed) {
                counts.burst.fetch_add(1, Ordering::Relaxed);
            }
            let bucket = match status {
                Ok(200..=299) => &counts.ok,
                Ok(429) => &counts.limited,
                _ => &counts.other,
            };
            bucket.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    section.end_offset_us = offset(Instant::now());
    recorder.set_flooding(false);
    // Every request in flight answers or times out within REQUEST_TIMEOUT.
    let _ = tokio::time::timeout(
        REQUEST_TIMEOUT + Duration::from_secs(1),
        room.acquire_many(MAX_IN_FLIGHT as u32),
    )
    .await;
    section.sent = counts.sent.load(Ordering::Relaxed);
    section.ok = counts.ok.load(Ordering::Relaxed);
    section.rate_limited = counts.limited.load(Ordering::Relaxed);
    section.other = counts.other.load(Ordering::Relaxed);
    section.burst = counts.burst.load(Ordering::Relaxed);
    section.plan_burst = Some(counts.plan_burst.load(Ordering::Relaxed)).filter(|b| *b > 0);
    section
}

/// The flooder's token, or why there is none.
async fn login(client: &reqwest::Client, base_url: &str, flood: &Flood) -> Result<String, String> {
    let url = format!("{}/auth/login", base_url.trim_end_matches('/'));
    let body = serde_json::json!({"email": flood.email, "password": flood.password});
    let failed = |why: String| format!("tenant {}'s login failed: {why}", flood.label);
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    let json: serde_json::Value = response.json().await.map_err(|e| failed(e.to_string()))?;
    json.get("access_token")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .ok_or_else(|| failed("no access_token in the answer".to_owned()))
}

/// Sleeps until `at`, waking early when `stop` is set.
async fn sleep_until(at: Instant, stop: &AtomicBool) {
    while Instant::now() < at && !stop.load(Ordering::Relaxed) {
        let left = at.saturating_duration_since(Instant::now());
        tokio::time::sleep(left.min(Duration::from_millis(100))).await;
    }
}
