//! Per-tenant rate limiting, as the seed promises it: headers on every tenant answer, a 429
//! in the JSON shape with `Retry-After` once a tenant's budget is spent, and the budget is
//! the tenant's, not the address's — another tenant on the same address is served meanwhile.
//! The flooding tenant is the fixture's last (smallest plan), so its budget is spent in a
//! few dozen requests; every loop is bounded in count and time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gauntlet_scenarios::hrms::Role;
use reqwest::Method;

use super::Context;
use super::support::{Finding, Seen, send};

const HEADERS: [&str; 3] = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"];
/// A flood's bounds: requests per flooding task, and wall time.
const FLOOD_REQUESTS: usize = 2_000;
const FLOOD_TIME: Duration = Duration::from_secs(6);
const FLOODERS: usize = 4;
/// The other tenant's requests while the flood is refused, and their spacing.
const NEIGHBOUR_REQUESTS: usize = 10;
const NEIGHBOUR_SPACING: Duration = Duration::from_millis(100);
const READ: &str = "/departments";

pub async fn headers(ctx: &Context<'_>) -> Finding {
    let seen = async {
        let token = ctx.token(ctx.home()?, Role::Employee).await?;
        anyhow::Ok(send(ctx.request(Method::GET, READ).bearer_auth(token)).await?)
    }
    .await;
    let seen = match seen {
        Ok(seen) => seen,
        Err(e) => return Finding::error(&e),
    };
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for name in HEADERS {
        match seen.header(name).map(|v| (v, v.parse::<u64>())) {
            Some((v, Ok(_))) => found.push(format!("{name}: {v}")),
            Some((v, Err(_))) => problems.push(format!("{name}: {v} is not a whole number")),
            None => problems.push(format!("no {name} on GET {READ}")),
        }
    }
    let evidence = vec![format!(
        "GET {READ} → {} [{}]",
        seen.status.as_u16(),
        found.join("; ")
    )];
    Finding::judge(
        "RateLimit-Limit, -Remaining and -Reset present",
        problems,
        evidence,
    )
}

pub async fn refusal(ctx: &Context<'_>) -> Finding {
    let found = async {
        let flooder = ctx.fixture.tenants.last().ok_or_else(|| anyhow::anyhow!("no tenant"))?;
        let token = ctx.token(flooder, Role::Employee).await?;
        let started = Instant::now();
        for sent in 1..=FLOOD_REQUESTS {
            let seen = send(ctx.request(Method::GET, READ).bearer_auth(&token)).await?;
            if seen.status.as_u16() == 429 {
                return Ok((sent, seen));
            }
            if started.elapsed() > FLOOD_TIME {
                break;
            }
        }
        anyhow::bail!("no 429 after a flood of the smallest plan's tenant ({FLOOD_REQUESTS} requests or {FLOOD_TIME:?})")
    }
    .await;
    let (sent, seen) = match found {
        Ok(found) => found,
        Err(e) => return Finding::fail(format!("{e:#}"), Vec::new()),
    };
    let retry_after = seen.header("retry-after").map(str::to_owned);
    let evidence = vec![
        format!("request {sent} of the flood: GET {READ} {}", seen.brief()),
        format!(
            "retry-after: {}",
            retry_after.as_deref().unwrap_or("absent")
        ),
    ];
    let mut problems = Vec::new();
    if !seen.is_json_error() {
        problems.push("the 429 is not in the JSON error shape".to_owned());
    }
    match retry_after.as_deref().map(str::parse::<u64>) {
        Some(Ok(s)) if s >= 1 => {}
        Some(_) => problems.push("Retry-After is not a whole number of seconds ≥ 1".into()),
        None => problems.push("the 429 has no Retry-After".into()),
    }
    Finding::judge(
        format!("429 JSON with Retry-After after {sent} requests"),
        problems,
        evidence,
    )
}

pub async fn per_tenant(ctx: &Context<'_>) -> Finding {
    let n = ctx.fixture.tenants.len();
    if n < 2 {
        return Finding::skip("needs two tenants in the credentials");
    }
    let tokens = async {
        let flooder = ctx
            .token(&ctx.fixture.tenants[n - 1], Role::Employee)
            .await?;
        let neighbour = ctx
            .token(&ctx.fixture.tenants[n - 2], Role::Employee)
            .await?;
        anyhow::Ok((flooder, neighbour))
    }
    .await;
    let (flooder, neighbour) = match tokens {
        Ok(t) => t,
        Err(e) => return Finding::error(&e),
    };
    let refused = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let flood: Vec<_> = (0..FLOODERS)
        .map(|_| {
            let request = ctx.request(Method::GET, READ).bearer_auth(&flooder);
            let (refused, done) = (refused.clone(), done.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                for _ in 0..FLOOD_REQUESTS {
                    if done.load(Ordering::Relaxed) || started.elapsed() > FLOOD_TIME {
                        break;
                    }
                    let Some(r) = request.try_clone() else { break };
                    if let Ok(seen) = send(r).await
                        && seen.status.as_u16() == 429
                    {
                        refused.store(true, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let waited = Instant::now();
    while !refused.load(Ordering::Relaxed) && waited.elapsed() < FLOOD_TIME {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut answers: Vec<Seen> = Vec::new();
    let mut errors = Vec::new();
    if refused.load(Ordering::Relaxed) {
        for _ in 0..NEIGHBOUR_REQUESTS {
            match send(ctx.request(Method::GET, READ).bearer_auth(&neighbour)).await {
                Ok(seen) => answers.push(seen),
                Err(e) => errors.push(e.to_string()),
            }
            tokio::time::sleep(NEIGHBOUR_SPACING).await;
        }
    }
    done.store(true, Ordering::Relaxed);
    for task in flood {
        let _ = task.await;
    }
    if !refused.load(Ordering::Relaxed) {
        return Finding::fail("the flooding tenant was never refused 429", Vec::new());
    }
    let served = answers.iter().filter(|s| s.status.is_success()).count();
    let mut problems: Vec<String> = answers
        .iter()
        .filter(|s| !s.status.is_success())
        .map(|s| {
            format!(
                "the neighbour was refused while the flooder was: GET {READ} {}",
                s.brief()
            )
        })
        .collect();
    problems.extend(errors);
    let evidence = vec![
        format!("tenant {} flooded GET {READ} until refused 429", n),
        format!(
            "tenant {}: {served} of {NEIGHBOUR_REQUESTS} served meanwhile",
            n - 1
        ),
    ];
    Finding::judge(
        format!(
            "the neighbour was served {served}/{NEIGHBOUR_REQUESTS} while the flooder was refused"
        ),
        problems,
        evidence,
    )
}
