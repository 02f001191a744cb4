//! `employee`: own profile, clock in, request leave, leave balances, clock out, own payslips.
//!
//! Transactions run in this order, with think time between them, like a working day
//! compressed: the shift is opened early and closed late so attendance rows get both ends.

use std::sync::Arc;

use goose::goose::{GooseUser, Transaction, TransactionResult};
use serde_json::json;

use super::call::{self, Call};
use super::session::{self, Session};
use super::{Ctx, Persona, transaction_with};
use crate::hrms::Endpoint;

pub(super) fn transactions(ctx: &Arc<Ctx>) -> Vec<Transaction> {
    vec![
        transaction_with!(@ungated ctx, login, "login").set_on_start(),
        transaction_with!(ctx, profile, "own profile"),
        transaction_with!(ctx, clock_in, "clock in"),
        transaction_with!(ctx, request_leave, "request leave"),
        transaction_with!(ctx, balances, "leave balances"),
        transaction_with!(ctx, clock_out, "clock out"),
        transaction_with!(ctx, payslips, "own payslips"),
    ]
}

async fn login(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    session::ensure(user, &ctx, Persona::Employee).await;
    Ok(())
}

/// Session plus own employee id, or nothing to do this time.
async fn me(ctx: &Ctx, user: &mut GooseUser) -> Option<(Session, String)> {
    let s = session::ensure(user, ctx, Persona::Employee).await?;
    let id = s.employee_id.clone()?;
    Some((s, id))
}

async fn profile(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    if let Some((s, id)) = me(&ctx, user).await {
        let path = format!("/employees/{id}");
        get(user, &ctx, &s, Endpoint::GetEmployee, &path).await;
    }
    Ok(())
}

async fn balances(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    if let Some((s, id)) = me(&ctx, user).await {
        let path = format!("/employees/{id}/leave-balances");
        get(user, &ctx, &s, Endpoint::LeaveBalances, &path).await;
    }
    Ok(())
}

async fn clock_in(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    // 409 means a shift is still open (an earlier clock-out failed, or two virtual users
    // share an account in a run with more users than accounts): the service's documented
    // answer, not an error of the service.
    post(
        user,
        &ctx,
        Endpoint::ClockIn,
        "/attendance/clock-in",
        &[201, 409],
    )
    .await;
    Ok(())
}

async fn clock_out(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    post(
        user,
        &ctx,
        Endpoint::ClockOut,
        "/attendance/clock-out",
        &[200, 409],
    )
    .await;
    Ok(())
}

async fn request_leave(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Employee).await else {
        return Ok(());
    };
    let today = chrono::Utc::now().date_naive();
    let marker = &ctx.fixture.tenants[s.tenant].marker;
    // One unpaid day (the largest balance) today; the tenant marker in the reason lets
    // probes recognise this row if it ever shows up for another tenant.
    let body = json!({
        "leave_type": "unpaid",
        "start_date": today,
        "end_date": today,
        "reason": format!("gauntlet {marker} #{}", s.tick()),
    });
    let token = s.token.clone();
    session::save(user, s);
    // 422 is the documented answer once the balance is used up by approvals.
    call::send(
        user,
        &ctx,
        Call {
            endpoint: Endpoint::RequestLeave,
            path: "/leave/requests",
            token: Some(&token),
            body: Some(body),
            expected: &[201, 422],
        },
    )
    .await;
    Ok(())
}

async fn payslips(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(s) = session::ensure(user, &ctx, Persona::Employee).await else {
        return Ok(());
    };
    if let Some(run) = ctx.payroll_run(s.tenant) {
        let path = format!("/payroll/runs/{run}/payslips");
        get(user, &ctx, &s, Endpoint::ListPayslips, &path).await;
    }
    Ok(())
}

/// A GET with the session's token that expects 200.
pub(super) async fn get(
    user: &mut GooseUser,
    ctx: &Ctx,
    s: &Session,
    endpoint: Endpoint,
    path: &str,
) -> Option<call::Reply> {
    call::send(
        user,
        ctx,
        Call {
            endpoint,
            path,
            token: Some(&s.token),
            body: None,
            expected: &[200],
        },
    )
    .await
}

async fn post(user: &mut GooseUser, ctx: &Ctx, endpoint: Endpoint, path: &str, ok: &[u16]) {
    if let Some(s) = session::ensure(user, ctx, Persona::Employee).await {
        call::send(
            user,
            ctx,
            Call {
                endpoint,
                path,
                token: Some(&s.token),
                body: None,
                expected: ok,
            },
        )
        .await;
    }
}
