//! Latency parity of single-object reads: `GET /employees/{id}` (the directory's hottest
//! read) against `GET /departments/{id}` (the same guard, one indexed row), interleaved so
//! a machine busy elsewhere slows both alike. An absolute budget would not see a read that
//! takes twice its few milliseconds; a ratio does, and it does not depend on the machine.

use std::time::{Duration, Instant};

use gauntlet_scenarios::hrms::Role;
use reqwest::Method;

use super::Context;
use super::support::{Finding, send};

/// Interleaved pairs measured (after [`WARMUP`] unmeasured ones).
const ROUNDS: usize = 40;
const WARMUP: usize = 5;
/// The employee read's median may be this many times the department read's.
/// Measured here: 0.9-1.5 clean (an employee row is wider), about twice that with a read
/// that waits its own time again.
const MAX_RATIO: f64 = 2.2;

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
    for round in 0..WARMUP + ROUNDS {
        let e = timed(ctx, &employee_path, &token).await;
        let d = timed(ctx, &department_path, &token).await;
        let (e, d) = match (e, d) {
            (Ok(e), Ok(d)) => (e, d),
            (Err(e), _) | (_, Err(e)) => return Finding::error(&e),
        };
        if round >= WARMUP {
            employees.push(e);
            departments.push(d);
        }
    }
    let e = median(&mut employees);
    let d = median(&mut departments);
    let ratio = e.as_secs_f64() / d.as_secs_f64().max(1e-6);
    let evidence = vec![
        format!("GET /employees/{{id}} median {:.2} ms over {ROUNDS}", ms(e)),
        format!(
            "GET /departments/{{id}} median {:.2} ms over {ROUNDS}",
            ms(d)
        ),
        format!("ratio {ratio:.2} (at most {MAX_RATIO})"),
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
