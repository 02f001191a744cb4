//! `prober`: cross-tenant security probes, as a persona during the load and as a sweep over
//! every pair of tenants before and after it.
//!
//! The catalogue (`kind` / what it asks):
//! - `cross_tenant_read`: read another tenant's employee by id — must be refused (404/403);
//! - `cross_tenant_list`: the own directory must not contain another tenant's marker;
//! - `cross_tenant_payslips`: list another tenant's payroll run's payslips — must be refused;
//! - `cache_bleed` (under load): the department list as another tenant, then at once as the
//!   own one — the own answer must hold none of the other tenant's data;
//! - `payroll_isolation` (after the load): each tenant's payroll run started before the load
//!   has completed (a job that trips over the tenant walls fails forever instead).
//!
//! A probe that gets no clear answer (transport error, 5xx) is inconclusive, never a pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::goose::{GooseUser, Transaction, TransactionResult};
use serde_json::json;

use super::call::{self, Call, Reply, SetupUser};
use super::hr_admin::start_payroll;
use super::session;
use super::{Ctx, Persona, ProbeVerdict, transaction_with};
use crate::hrms::{Endpoint, JsonBody, Role, UserCredential};
use crate::probes::contains;

/// Tenants covered by a sweep: every ordered pair of the first few is probed, which is
/// quadratic, so larger profiles sweep a prefix (prober users cycle through all the others).
const SWEEP_TENANTS: usize = 4;

const READ: (&str, &str) = ("cross_tenant_read", "read another tenant's employee by id");
const LIST: (&str, &str) = (
    "cross_tenant_list",
    "own directory shows no other tenant's marker",
);
const PAYSLIPS: (&str, &str) = (
    "cross_tenant_payslips",
    "list another tenant's payslips by run id",
);
const CACHE: (&str, &str) = (
    "cache_bleed",
    "department list right after another tenant's, under load",
);
const COMPLETION: (&str, &str) = (
    "payroll_isolation",
    "a payroll run started before the load has completed after it",
);
/// A probe the tenant's rate limit answered proves nothing either way, and is the tier doing
/// its job (a free-tier tenant under load is limited often): no verdict, rather than an
/// inconclusive one that would fail a healthy run on `probes.failures`.
const RATE_LIMITED: u16 = 429;
/// How long after the load a run started before it may still take to complete.
const COMPLETION_DEADLINE: Duration = Duration::from_secs(10);
const COMPLETION_POLL: Duration = Duration::from_millis(200);

pub(super) fn transactions(ctx: &Arc<Ctx>) -> Vec<Transaction> {
    vec![
        transaction_with!(@ungated ctx, login, "login").set_on_start(),
        transaction_with!(ctx, probe, "probe"),
    ]
}

async fn login(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    session::ensure(user, &ctx, Persona::Prober).await;
    Ok(())
}

/// One round of the catalogue against a tenant other than the user's own.
async fn probe(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    let tenants = ctx.fixture.tenants.len();
    if tenants < 2 {
        return Ok(());
    }
    let Some(mut s) = session::ensure(user, &ctx, Persona::Prober).await else {
        return Ok(());
    };
    let other = (s.tenant + 1 + s.tick() as usize % (tenants - 1)) % tenants;
    let (token, own) = (s.token.clone(), s.tenant);
    session::save(user, s);
    probe_pair(user, &ctx, &token, own, other, ctx.payroll_run(other)).await;
    cache_bleed(user, &ctx, &token, own, other).await;
    Ok(())
}

/// The department list as tenant `other`, then at once as `own`: with a response cache keyed
/// without the tenant, `own` is served `other`'s answer. A page size of its own per probe, so
/// each starts from an entry nobody has filled yet.
async fn cache_bleed(user: &mut GooseUser, ctx: &Ctx, token: &str, own: usize, other: usize) {
    let (other_token, per_page) = {
        let mut state = ctx.probe_state();
        state.sent += 1;
        let token = state.tokens.get(other).cloned().flatten();
        (token, 1 + state.sent % 100)
    };
    let Some(other_token) = other_token else {
        return;
    };
    let path = format!("/departments?per_page={per_page}");
    let list = |token| Call {
        endpoint: Endpoint::ListDepartments,
        path: &path,
        token: Some(token),
        body: None,
        expected: &[200],
    };
    let _ = call::send(user, ctx, list(&other_token)).await;
    let verdict = match call::send(user, ctx, list(token)).await {
        Some(r) if r.status == 200 => match foreign_in(ctx, &r.body, own) {
            Some((t, found)) => ProbeVerdict::Leak(format!(
                "GET {path} as tenant #{own} right after tenant #{other} → 200 with tenant #{t}'s {found}"
            )),
            None => ProbeVerdict::Held,
        },
        Some(r) if r.status == RATE_LIMITED => return,
        Some(r) => ProbeVerdict::Inconclusive(format!("GET {path} → {}", r.status)),
        None => ProbeVerdict::Inconclusive(format!("GET {path}: no response")),
    };
    ctx.sink.probe(CACHE.0, CACHE.1, verdict);
}

/// The first marker or department id of a tenant other than `own` found in `body`.
fn foreign_in<'a>(ctx: &'a Ctx, body: &[u8], own: usize) -> Option<(usize, &'a str)> {
    ctx.fixture
        .tenants
        .iter()
        .enumerate()
        .filter(|(t, _)| *t != own)
        .find_map(|(t, tenant)| {
            std::iter::once(&tenant.marker)
                .chain(&tenant.department_ids)
                .find(|s| contains(body, s))
                .map(|s| (t, s.as_str()))
        })
}

/// Before any user starts: a payroll run per tenant, then a sweep.
pub(super) async fn setup_and_sweep(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    user.set_session_data(SetupUser { probing: false });
    for t in 0..ctx.fixture.tenants.len() {
        let Some(admin) = first_with(&ctx, t, Role::HrAdmin) else {
            continue;
        };
        if let Some(token) = login_as(user, &ctx, &admin).await
            && let Some(run) = start_payroll(user, &ctx, &token).await
        {
            ctx.set_payroll_run(t, run.clone());
            let mut state = ctx.probe_state();
            state.setup_runs.resize(ctx.fixture.tenants.len(), None);
            state.setup_runs[t] = Some(run);
        }
    }
    if ctx.sweeps {
        sweep(&ctx, user).await;
    }
    Ok(())
}

/// After every user stopped: the sweep again, and the payroll runs of the setup completed.
pub(super) async fn final_sweep(ctx: Arc<Ctx>, user: &mut GooseUser) -> TransactionResult {
    if ctx.sweeps {
        sweep(&ctx, user).await;
        payroll_completion(&ctx, user).await;
    }
    Ok(())
}

/// Each tenant's payroll run started before the load must have completed by now (within
/// [`COMPLETION_DEADLINE`] more): a run still queued or running has failed and been retried
/// all along, which is how a job that ignores the tenant shows when the schema's walls stop
/// its writes.
async fn payroll_completion(ctx: &Ctx, user: &mut GooseUser) {
    let runs = ctx.probe_state().setup_runs.clone();
    let deadline = Instant::now() + COMPLETION_DEADLINE;
    for (t, run) in runs.iter().enumerate() {
        let Some(run) = run else { continue };
        let Some(admin) = first_with(ctx, t, Role::HrAdmin) else {
            continue;
        };
        let Some(token) = login_as(user, ctx, &admin).await else {
            let why = format!("tenant #{t}: hr_admin login failed");
            ctx.sink
                .probe(COMPLETION.0, COMPLETION.1, ProbeVerdict::Inconclusive(why));
            continue;
        };
        let path = format!("/payroll/runs/{run}");
        let (status, http) = loop {
            let call = Call {
                endpoint: Endpoint::GetPayrollRun,
                path: &path,
                token: Some(&token),
                body: None,
                expected: &[200],
            };
            let reply = call::send(user, ctx, call).await;
            let http = reply.as_ref().map(|r| r.status);
            let status = reply.and_then(|r| r.field("status")).unwrap_or_default();
            if status == "completed" || status == "failed" || Instant::now() >= deadline {
                break (status, http);
            }
            tokio::time::sleep(COMPLETION_POLL).await;
        };
        let verdict = if status == "completed" {
            ProbeVerdict::Held
        } else if http == Some(RATE_LIMITED) {
            continue;
        } else {
            ProbeVerdict::Inconclusive(format!(
                "GET {path} → status {status:?}: tenant #{t}'s run started before the load has \
                 not completed after it (+{COMPLETION_DEADLINE:?}): the job is failing"
            ))
        };
        ctx.sink.probe(COMPLETION.0, COMPLETION.1, verdict);
    }
}

/// Every ordered pair of the first tenants, as the setup user; its requests (the logins
/// too) are probe requests, counted in the probe column and never as endpoint samples.
async fn sweep(ctx: &Ctx, user: &mut GooseUser) {
    user.set_session_data(SetupUser { probing: true });
    let n = ctx.fixture.tenants.len().min(SWEEP_TENANTS);
    let mut tokens = Vec::with_capacity(n);
    for t in 0..n {
        let credential = first_with(ctx, t, Role::Employee);
        tokens.push(match credential {
            Some(c) => login_as(user, ctx, &c).await,
            None => None,
        });
    }
    ctx.probe_state().tokens.clone_from(&tokens);
    for (own, token) in tokens.iter().enumerate() {
        for other in (0..n).filter(|o| *o != own) {
            match token {
                Some(token) => {
                    probe_pair(user, ctx, token, own, other, ctx.payroll_run(other)).await;
                }
                None => ctx.sink.probe(
                    READ.0,
                    READ.1,
                    ProbeVerdict::Inconclusive(format!("tenant #{own}: login failed")),
                ),
            }
        }
    }
}

fn first_with(ctx: &Ctx, tenant: usize, role: Role) -> Option<UserCredential> {
    let users = &ctx.fixture.tenants[tenant].users;
    users.iter().find(|u| u.role == role).cloned()
}

async fn login_as(user: &mut GooseUser, ctx: &Ctx, c: &UserCredential) -> Option<String> {
    let reply = call::send(
        user,
        ctx,
        Call {
            endpoint: Endpoint::Login,
            path: "/auth/login",
            token: None,
            body: Some(json!({"email": c.email, "password": c.password})),
            expected: &[200],
        },
    )
    .await?;
    reply.field("access_token").filter(|_| reply.expected)
}

/// The whole catalogue with `token` of tenant `own` against tenant `other`.
async fn probe_pair(
    user: &mut GooseUser,
    ctx: &Ctx,
    token: &str,
    own: usize,
    other: usize,
    other_run: Option<String>,
) {
    let target = &ctx.fixture.tenants[other];
    if let Some(id) = target.employee_ids.first() {
        let path = format!("/employees/{id}");
        let reply = refused(user, ctx, Endpoint::GetEmployee, &path, token).await;
        let what = format!("tenant #{own} read employee {id} of tenant #{other}");
        if let Some(verdict) = refusal_verdict(reply, what) {
            ctx.sink.probe(READ.0, READ.1, verdict);
        }
    }
    let reply = call::send(
        user,
        ctx,
        Call {
            endpoint: Endpoint::ListEmployees,
            path: "/employees?per_page=100",
            token: Some(token),
            body: None,
            expected: &[200],
        },
    )
    .await;
    let marker = target.marker.as_str();
    let verdict = match reply {
        _ if marker.is_empty() => None,
        Some(r) if r.status == 200 => Some(if contains(&r.body, marker) {
            ProbeVerdict::Leak(format!(
                "tenant #{own}'s directory contains tenant #{other}'s marker {marker}"
            ))
        } else {
            ProbeVerdict::Held
        }),
        Some(r) if r.status == RATE_LIMITED => None,
        Some(r) => Some(ProbeVerdict::Inconclusive(format!("status {}", r.status))),
        None => Some(ProbeVerdict::Inconclusive("no response".into())),
    };
    if let Some(verdict) = verdict {
        ctx.sink.probe(LIST.0, LIST.1, verdict);
    }
    if let Some(run) = other_run {
        let path = format!("/payroll/runs/{run}/payslips");
        let reply = refused(user, ctx, Endpoint::ListPayslips, &path, token).await;
        let what = format!("tenant #{own} listed payslips of run {run} of tenant #{other}");
        if let Some(verdict) = refusal_verdict(reply, what) {
            ctx.sink.probe(PAYSLIPS.0, PAYSLIPS.1, verdict);
        }
    }
}

/// A GET that the service must refuse: 404 (hidden) and 403 are the expected answers.
async fn refused(
    user: &mut GooseUser,
    ctx: &Ctx,
    endpoint: Endpoint,
    path: &str,
    token: &str,
) -> Option<Reply> {
    call::send(
        user,
        ctx,
        Call {
            endpoint,
            path,
            token: Some(token),
            body: None,
            expected: &[404, 403],
        },
    )
    .await
}

/// `None` for a 429 (see [`RATE_LIMITED`]).
fn refusal_verdict(reply: Option<Reply>, what: String) -> Option<ProbeVerdict> {
    Some(match reply {
        Some(r) if r.expected => ProbeVerdict::Held,
        Some(r) if (200..300).contains(&r.status) => ProbeVerdict::Leak(what),
        Some(r) if r.status == RATE_LIMITED => return None,
        Some(r) => ProbeVerdict::Inconclusive(format!("status {}", r.status)),
        None => ProbeVerdict::Inconclusive("no response".into()),
    })
}
