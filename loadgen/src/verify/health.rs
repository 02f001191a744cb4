//! Liveness and readiness, and readiness with a dependency taken away (local: through the
//! provisioner's controls, Postgres stopped and Redis paused, then restored).

use std::time::{Duration, Instant};

use reqwest::Method;

use super::Context;
use super::support::{Finding, Seen, send};

/// How long readiness may take to notice a dependency gone: the service's probe waits 1 s.
const NOTICE_DEADLINE: Duration = Duration::from_secs(10);
/// How long it may take to be ready again once the dependency is back.
const RECOVER_DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

pub async fn live(ctx: &Context<'_>) -> Finding {
    match send(ctx.request(Method::GET, "/health/live")).await {
        Ok(seen) => {
            let ok = seen.status.is_success() && seen.json().is_some_and(|v| v["status"] == "ok");
            let line = format!("GET /health/live {}", seen.brief());
            if ok {
                Finding::pass("200, status ok", vec![line])
            } else {
                Finding::fail("liveness did not answer 200 with status ok", vec![line])
            }
        }
        Err(e) => Finding::error(&e),
    }
}

pub async fn ready(ctx: &Context<'_>) -> Finding {
    match send(ctx.request(Method::GET, "/health/ready")).await {
        Ok(seen) => {
            let line = format!("GET /health/ready {}", seen.brief());
            if is_ready(&seen) {
                Finding::pass("200, postgres and redis answer", vec![line])
            } else {
                Finding::fail("readiness is not 200 with both dependencies up", vec![line])
            }
        }
        Err(e) => Finding::error(&e),
    }
}

fn is_ready(seen: &Seen) -> bool {
    seen.status.is_success()
        && seen
            .json()
            .is_some_and(|v| v["postgres"] == true && v["redis"] == true)
}

/// Which dependency to take away.
#[derive(Debug, Clone, Copy)]
pub enum Dependency {
    Postgres,
    Redis,
}

impl Dependency {
    fn away(self) -> &'static str {
        match self {
            Dependency::Postgres => "stopped",
            Dependency::Redis => "paused",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Dependency::Postgres => "postgres",
            Dependency::Redis => "redis",
        }
    }
}

pub async fn without(ctx: &Context<'_>, dependency: Dependency) -> Finding {
    let Some(stack) = ctx.local.as_ref().and_then(|l| l.stack()) else {
        return Finding::skip(format!(
            "local only: pausing {} needs the stack verify started",
            dependency.key()
        ));
    };
    let server = match dependency {
        Dependency::Postgres => &stack.postgres,
        Dependency::Redis => &stack.redis,
    };
    // Postgres is stopped (a frozen native Postgres kept answering the pool's `SELECT 1`
    // here, measured); Redis is paused, its whole server frozen.
    let away = match dependency {
        Dependency::Postgres => server.stop().await,
        Dependency::Redis => server.pause().await,
    };
    if let Err(e) = away {
        return Finding::skip(format!(
            "this backend cannot take {} away: {e}",
            dependency.key()
        ));
    }
    let paused = Instant::now();
    let noticed = poll(ctx, NOTICE_DEADLINE, |s| {
        s.status.as_u16() == 503 && s.json().is_some_and(|v| v[dependency.key()] == false)
    })
    .await;
    // Always restored, whatever was seen: the checks after this one need the stack whole.
    let restored = match dependency {
        Dependency::Postgres => server.start().await,
        Dependency::Redis => server.unpause().await,
    };
    let unpaused = Instant::now();
    let recovered = poll(ctx, RECOVER_DEADLINE, is_ready).await;
    let mut evidence = vec![format!("{} {}", dependency.key(), dependency.away())];
    let mut problems = Vec::new();
    match &noticed {
        Ok(seen) => evidence.push(format!(
            "GET /health/ready {} after {} ms",
            seen.brief(),
            paused.elapsed().as_millis().min(u128::from(u32::MAX))
        )),
        Err(last) => problems.push(format!(
            "readiness still said ready {} s after {} was taken away (last: {last})",
            NOTICE_DEADLINE.as_secs(),
            dependency.key()
        )),
    }
    if let Err(e) = restored {
        problems.push(format!("unpausing {} failed: {e}", dependency.key()));
    }
    match &recovered {
        Ok(seen) => evidence.push(format!(
            "restored; GET /health/ready {} after {} ms",
            seen.brief(),
            unpaused.elapsed().as_millis()
        )),
        Err(last) => problems.push(format!(
            "not ready {} s after {} came back (last: {last})",
            RECOVER_DEADLINE.as_secs(),
            dependency.key()
        )),
    }
    Finding::judge(
        format!(
            "503 while {} was {}, 200 once back",
            dependency.key(),
            dependency.away()
        ),
        problems,
        evidence,
    )
}

/// Polls `/health/ready` until `wanted` or `deadline`; the last answer either way.
async fn poll(
    ctx: &Context<'_>,
    deadline: Duration,
    wanted: impl Fn(&Seen) -> bool,
) -> Result<Seen, String> {
    let until = Instant::now() + deadline;
    loop {
        let request = ctx
            .request(Method::GET, "/health/ready")
            .timeout(Duration::from_secs(3));
        let last = match send(request).await {
            Ok(seen) if wanted(&seen) => return Ok(seen),
            Ok(seen) => seen.brief(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= until {
            return Err(last);
        }
        tokio::time::sleep(POLL).await;
    }
}
