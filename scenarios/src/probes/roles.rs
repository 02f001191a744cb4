//! Role boundaries on leave decisions, acted out on real objects: a colleague of the probing
//! employee requests a day of unpaid leave, the employee tries to approve it (and, on a
//! second request, to reject it), and the request is read back by its requester afterwards.
//!
//! Held only when the attempt was refused *and* the request is still `pending`. A 404 for a
//! request that demonstrably exists and stays undecided is a refusal that hides it; a refusal
//! whose object cannot be read back proves nothing and is inconclusive. (Aiming at an id that
//! never existed would pass every service, including one that lets anybody decide.)

use chrono::Datelike;
use serde_json::json;

use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const KIND: &str = "role_boundaries";
const APPROVE: &str = "employee approves a colleague's pending leave request";
const REJECT: &str = "employee rejects a colleague's pending leave request";

/// Who owns a leave request: the token that made it (and reads it back) and how the report
/// names them.
pub(super) struct Requester {
    pub token: String,
    pub who: String,
}

pub(super) async fn run(p: &Prober) {
    for own in 0..p.tenants() {
        let Some(requester) = colleague(p, own).await else {
            for name in [APPROVE, REJECT] {
                p.report(
                    KIND,
                    name,
                    ProbeVerdict::Inconclusive(format!(
                        "tenant #{own}: no colleague of the probing employee could log in to \
                         request leave"
                    )),
                );
            }
            continue;
        };
        let who = format!("tenant #{own} employee");
        for (name, verb) in [(APPROVE, "approve"), (REJECT, "reject")] {
            let id = match request_leave(p, &requester, "probe: a colleague decides").await {
                Ok(id) => id,
                Err(why) => {
                    p.report(KIND, name, ProbeVerdict::Inconclusive(why));
                    continue;
                }
            };
            let req = Req::post(format!("/leave/requests/{id}/{verb}"), who.clone())
                .token(p.token(own, Role::Employee))
                .note(format!("a pending request of {}", requester.who));
            let verdict = decide_then_read_back(p, &req, &id, &requester, "403").await;
            p.report(KIND, name, verdict);
        }
    }
}

/// Another plain employee of tenant `own` than the probing one (logged in now); the HR admin
/// when the fixture holds no second employee (also a colleague, with an employee record).
async fn colleague(p: &Prober, own: usize) -> Option<Requester> {
    let mine = p.tokens[own].employee_id.as_deref();
    let users = &p.fixture.tenants[own].users;
    let other = users
        .iter()
        .find(|u| u.role == Role::Employee && u.employee_id.as_deref() != mine);
    if let Some(u) = other
        && let Some(token) = p.login_as(&u.email, &u.password).await
    {
        return Some(Requester {
            token,
            who: format!("tenant #{own} colleague employee"),
        });
    }
    p.token(own, Role::HrAdmin).map(|token| Requester {
        token: token.to_owned(),
        who: format!("tenant #{own} hr_admin"),
    })
}

/// Makes one pending day of unpaid leave for `requester`; `Err` is the inconclusive text.
///
/// Unpaid leave has the largest balance and a pending request deducts nothing, so repeated
/// runs do not run out. Dates in the current year, where the balances are.
pub(super) async fn request_leave(
    p: &Prober,
    requester: &Requester,
    reason: &str,
) -> Result<String, String> {
    let year = chrono::Utc::now().year();
    let day = 1 + p.unique() % 28;
    let req = Req::post("/leave/requests", requester.who.clone())
        .token(Some(&requester.token))
        .body(json!({
            "leave_type": "unpaid",
            "start_date": format!("{year}-02-{day:02}"),
            "end_date": format!("{year}-02-{day:02}"),
            "reason": reason,
        }));
    match p.send(&req).await {
        Some(r) if r.status == 201 => r
            .field("id")
            .ok_or_else(|| format!("setup {req} → 201 without an id")),
        Some(r) => Err(format!("setup {req} → {} (expected 201)", r.status)),
        None => Err(format!("setup {req}: no response")),
    }
}

/// Sends a decision that must be refused, then reads the request back as its requester.
pub(super) async fn decide_then_read_back(
    p: &Prober,
    req: &Req,
    id: &str,
    requester: &Requester,
    expected: &str,
) -> ProbeVerdict {
    let reply = p.send(req).await;
    let after = status_of(p, id, requester).await;
    match (reply, after) {
        (None, _) => ProbeVerdict::Inconclusive(format!("{req}: no response")),
        (Some(r), after) if (200..300).contains(&r.status) => ProbeVerdict::Leak(format!(
            "{req} → {} (expected {expected}); the request was decided (now {})",
            r.status,
            after.unwrap_or_else(|why| why)
        )),
        (Some(r), _) if r.status >= 500 => {
            ProbeVerdict::Inconclusive(format!("{req} → {} (expected {expected})", r.status))
        }
        (Some(r), Ok(status)) if status != "pending" => ProbeVerdict::Leak(format!(
            "{req} → {} (expected {expected}) but the request is now {status}",
            r.status
        )),
        (Some(r), Ok(_)) if (400..500).contains(&r.status) => ProbeVerdict::Held,
        (Some(r), Ok(_)) => {
            ProbeVerdict::Inconclusive(format!("{req} → {} (expected {expected})", r.status))
        }
        (Some(r), Err(why)) => ProbeVerdict::Inconclusive(format!(
            "{req} → {}; {why}: a refusal of a request not shown to exist proves nothing",
            r.status
        )),
    }
}

/// The request's status as its requester sees it in their own list (newest first, so a
/// request just made is on the first page).
async fn status_of(p: &Prober, id: &str, requester: &Requester) -> Result<String, String> {
    let req = Req::get("/leave/requests?per_page=100", requester.who.clone())
        .token(Some(&requester.token));
    let reply = match p.send(&req).await {
        Some(r) if r.status == 200 => r,
        Some(r) => return Err(format!("read-back {req} → {}", r.status)),
        None => return Err(format!("read-back {req}: no response")),
    };
    reply
        .items()
        .iter()
        .find(|item| item["id"].as_str() == Some(id))
        .and_then(|item| item["status"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("read-back {req}: request {id} not listed"))
}
