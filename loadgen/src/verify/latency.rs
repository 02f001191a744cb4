//! Latency parity of single-object reads: `GET /employees/{id}` (the directory's hottest
//! read) against `GET /departments/{id}` (the same guard, one indexed row). An absolute
//! budget would not see a read that takes twice its few milliseconds; a ratio does, and it
//! does not depend on the machine.
//!
//! The ratio is taken pair by pair — each employee read divided by the department read sent
//! right beside it, the order alternating so neither always goes first on a warm connection —
//! and the median of those ratios is judged. A burst of load elsewhere slows both reads of a
//! pair alike and leaves their ratio; the ratio of two separate medians (this check's first
//! form) moved from 0.87 to 1.46 between clean runs on a loaded two-core machine.

use std::time::{Duration, Instant};

use gauntlet_scenarios::hrms::Role;
use reqwest::Method;

use super::Context;
use super::support::{Finding, send};

/// Pairs measured (after [`WARMUP`] unmeasured ones).
const ROUNDS: usize = 60;
const WARMUP: usize = 6;
/// The median pair ratio may be this much. A read that waits its own time again doubles
/// its pairs' ratios (2 and more); clean pairs sit near 1 (figures in docs/verify.md).
const MAX_RATIO: f64 = 1.6;

pub async fn read_parity(ctx: &Context<'_>) -> Finding {
    let found = async {
        let home = ctx.home()?;
        let employee = home
            .employee_ids
            .first()
            .ok_or_else(|| anyhow::anyhow!("the fixture names no employee id"))?
            .clone();
        let department = home
            .department_ids
            .first()
            .ok_or_else(|| anyhow::anyhow!("the fixture names no department id"))?
            .clone();
        let token = ctx.token(home, Role::HrAdmin).await?;
        anyhow::Ok((employee, department, token))
    }
    .await;
    let (employee, department, token) = match found {
        Ok(found) => found,
        Err(e) => {
            return Finding::skip(format!(
                "needs an employee id, a department id and an HR admin in the credentials: {e:#}"
            ));
        }
    };
    let employee_path = format!("/employees/{employee}");
    let department_path = format!("/departments/{department}");
    let mut employees = Vec::with_capacity(ROUNDS);
    let mut departments = Vec::with_capacity(ROUNDS);
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..WARMUP + ROUNDS {
        let pair = if round % 2 == 0 {
            let e = timed(ctx, &employee_path, &token).await;
            (e, timed(ctx, &department_path, &token).await)
        } else {
            let d = timed(ctx, &department_path, &token).await;
            (timed(ctx, &employee_path, &token).await, d)
        };
        let (e, d) = match pair {
            (Ok(e), Ok(d)) => (e, d),
            (Err(e), _) | (_, Err(e)) => return Finding::error(&e),
        };
        if round >= WARMUP {
            employees.push(e);
            departments.push(d);
            ratios.push(e.as_secs_f64() / d.as_secs_f64().max(1e-6));
        }
    }
    let e = median(&mut employees);
    let d = median(&mut departments);
    ratios.sort_unstable_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let evidence = vec![
        format!("GET /employees/{{id}} median {:.2} ms over {ROUNDS}", ms(e)),
        format!(
            "GET /departments/{{id}} median {:.2} ms over {ROUNDS}",
            ms(d)
        ),
        format!(
            "median ratio of the {ROUNDS} pairs {ratio:.2} (at most {MAX_RATIO}); quartiles {:.2}-{:.2}",
            ratios[ratios.len() / 4],
            ratios[ratios.len() * 3 / 4]
        ),
    ];
    if ratio <= MAX_RATIO {
        Finding::pass(format!("ratio {ratio:.2}"), evidence)
    } else {
        Finding::fail(
            format!("reading one employee takes {ratio:.2}x reading one department"),
            evidence,
        )
    }
}

async fn timed(ctx: &Context<'_>, path: &str, token: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let seen = send(ctx.request(Method::GET, path).bearer_auth(token)).await?;
    let took = started.elapsed();
    anyhow::ensure!(seen.status.is_success(), "GET {path} {}", seen.brief());
    Ok(took)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
