//! `manager`: team list, pending leave, approve, a team member's attendance report.

use std::sync::Arc;

use goose::goose::{GooseUser, Transaction, TransactionResult};

use super::call::{self, Call};
use super::employee::get;
use super::session::{self, Session};
use super::{Ctx, Persona, transaction_with};
use crate::hrms::{Endpoint, JsonBody};

pub(super) fn transactions(ctx: &Arc<Ctx>) -> Vec<Transaction> {
    vec![
        transaction_with!(@ungated ctx, login, "login").set_on_start(),
        transaction_with!(ctx, team, "team list"),
        transaction_with!(ctx, pending, "pending leave"),
        transaction_with!(ctx, approve, "approve leave"),
        transaction_with!(ctx, attendance, "attendance report"),
    ]
}

/// Logs in and learns the department from the own employee record.
async fn login(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Manager).await else {
        return Ok(());
    };
    if let Some(id) = s.employee_id.clone() {
        let path = format!("/employees/{id}");
        if let Some(reply) = get(user, &ctx, &s, Endpoint::GetEmployee, &path).await {
            s.department_id = reply.field("department_id");
            session::save(user, s);
        }
    }
    Ok(())
}

async fn team(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Manager).await else {
        return Ok(());
    };
    let path = match &s.department_id {
        Some(d) => format!("/employees?department_id={d}&per_page=50"),
        None => "/employees?per_page=50".to_owned(),
    };
    if let Some(reply) = get(user, &ctx, &s, Endpoint::ListEmployees, &path).await {
        s.known_ids = ids(&reply.items());
        session::save(user, s);
    }
    Ok(())
}

async fn pending(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Manager).await else {
        return Ok(());
    };
    let path = "/leave/requests?status=pending&per_page=20";
    if let Some(reply) = get(user, &ctx, &s, Endpoint::ListLeave, path).await {
        // Never the manager's own request: deciding it is forbidden by design.
        s.pending_leave = reply
            .items()
            .iter()
            .filter(|r| r.get("employee_id").and_then(|v| v.as_str()) != s.employee_id.as_deref())
            .find_map(|r| r.get("id").and_then(|v| v.as_str()).map(str::to_owned));
        session::save(user, s);
    }
    Ok(())
}

async fn approve(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Manager).await else {
        return Ok(());
    };
    let Some(id) = s.pending_leave.take() else {
        return Ok(());
    };
    let token = s.token.clone();
    session::save(user, s);
    let path = format!("/leave/requests/{id}/approve");
    // 409: another user decided it first; 422: the employee's balance ran out meanwhile.
    // Both are the service's documented answers to a race the load itself creates.
    call::send(
        user,
        &ctx,
        Call {
            endpoint: Endpoint::ApproveLeave,
            path: &path,
            token: Some(&token),
            body: None,
            expected: &[200, 409, 422],
        },
    )
    .await;
    Ok(())
}

async fn attendance(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let Some(mut s) = session::ensure(user, &ctx, Persona::Manager).await else {
        return Ok(());
    };
    let Some(id) = pick(&mut s) else {
        return Ok(());
    };
    let path = format!("/employees/{id}/attendance");
    get(user, &ctx, &s, Endpoint::AttendanceHistory, &path).await;
    session::save(user, s);
    Ok(())
}

/// The next known id, round-robin; the user's own record when nothing is known yet.
fn pick(s: &mut Session) -> Option<String> {
    if s.known_ids.is_empty() {
        return s.employee_id.clone();
    }
    let i = s.tick() as usize % s.known_ids.len();
    Some(s.known_ids[i].clone())
}

/// The `id` of every item of a page.
pub(super) fn ids(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.get("id").and_then(|v| v.as_str()).map(str::to_owned))
        .collect()
}
