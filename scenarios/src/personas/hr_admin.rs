//! `hr_admin`: browse the directory, create and update employees, start payroll runs and
//! follow them, list departments.

use std::sync::Arc;
use std::time::Instant;

use goose::goose::{GooseUser, Transaction, TransactionResult};
use serde_json::json;

use super::call::{self, Call};
use super::employee::get;
use super::manager::ids;
use super::session;
use super::{Ctx, Persona, transaction_with};
use crate::hrms::{Endpoint, JsonBody};

pub(super) fn transactions(ctx: &Arc<Ctx>) -> Vec<Transaction> {
    vec![
        transaction_with!(@ungated ctx, login, "login").set_on_start(),
        transaction_with!(ctx, directory, "directory"),
        transaction_with!(ctx, create, "create employee"),
        transaction_with!(ctx, update, "update employee"),
        transaction_with!(ctx, payroll, "start payroll"),
        transaction_with!(ctx, payroll_status, "payroll status"),
        transaction_with!(ctx, departments, "departments"),
    ]
}

async fn login(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    session::ensure(user, &ctx, Persona::HrAdmin).await;
    Ok(())
}

async fn directory(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::HrAdmin).await else {
        return Ok(());
    };
    // Walk the first few pages: deeper pages are what makes OFFSET pagination expensive.
    let page = s.tick() % 3 + 1;
    let path = format!("/employees?page={page}&per_page=20");
    if let Some(reply) = get(user, &ctx, &s, Endpoint::ListEmployees, &path).await
        && s.known_ids.is_empty()
    {
        s.known_ids = ids(&reply.items());
    }
    session::save(user, s);
    Ok(())
}

async fn create(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::HrAdmin).await else {
        return Ok(());
    };
    let n = s.tick();
    let marker = &ctx.fixture.tenants[s.tenant].marker;
    // The user index is part of `n`, so emails are unique across users; the marker keeps the
    // seeder's promise that every row of a tenant carries it.
    let body = json!({
        "first_name": "Load",
        "last_name": format!("Tester {n}"),
        "email": format!("load.{n}@{marker}x.example.com"),
        "job_title": "Engineer",
        "salary_cents": 5_000_000,
    });
    let token = s.token.clone();
    let reply = call::send(
        user,
        &ctx,
        Call {
            endpoint: Endpoint::CreateEmployee,
            path: "/employees",
            token: Some(&token),
            body: Some(body),
            expected: &[201],
        },
    )
    .await;
    if let Some(id) = reply.filter(|r| r.expected).and_then(|r| r.field("id")) {
        s.known_ids.push(id);
    }
    session::save(user, s);
    Ok(())
}

async fn update(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::HrAdmin).await else {
        return Ok(());
    };
    if s.known_ids.is_empty() {
        return Ok(());
    }
    let n = s.tick();
    let id = s.known_ids[n as usize % s.known_ids.len()].clone();
    let path = format!("/employees/{id}");
    let token = s.token.clone();
    session::save(user, s);
    call::send(
        user,
        &ctx,
        Call {
            endpoint: Endpoint::UpdateEmployee,
            path: &path,
            token: Some(&token),
            body: Some(json!({"job_title": format!("Engineer {}", n % 5)})),
            expected: &[200],
        },
    )
    .await;
    Ok(())
}

async fn payroll(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::HrAdmin).await else {
        return Ok(());
    };
    if s.last_payroll
        .is_some_and(|at| at.elapsed() < ctx.payroll_interval)
    {
        return Ok(());
    }
    s.last_payroll = Some(Instant::now());
    let token = s.token.clone();
    let tenant = s.tenant;
    session::save(user, s);
    if let Some(id) = start_payroll(user, &ctx, &token).await {
        ctx.set_payroll_run(tenant, id);
    }
    Ok(())
}

/// Starts a payroll run for last month; the run id when the service accepted it.
pub(super) async fn start_payroll(user: &mut GooseUser, ctx: &Ctx, token: &str) -> Option<String> {
    let today = chrono::Utc::now().date_naive();
    let start = today - chrono::Days::new(30);
    let body = json!({"period_start": start, "period_end": today});
    let reply = call::send(
        user,
        ctx,
        Call {
            endpoint: Endpoint::StartPayroll,
            path: "/payroll/runs",
            token: Some(token),
            body: Some(body),
            expected: &[202],
        },
    )
    .await?;
    if reply.expected {
        reply.field("id")
    } else {
        None
    }
}

async fn payroll_status(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(s) = session::ensure(user, &ctx, Persona::HrAdmin).await else {
        return Ok(());
    };
    if let Some(run) = ctx.payroll_run(s.tenant) {
        let path = format!("/payroll/runs/{run}");
        get(user, &ctx, &s, Endpoint::GetPayrollRun, &path).await;
    }
    Ok(())
}

async fn departments(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    if let Some(s) = session::ensure(user, &ctx, Persona::HrAdmin).await {
        get(user, &ctx, &s, Endpoint::ListDepartments, "/departments").await;
    }
    Ok(())
}
