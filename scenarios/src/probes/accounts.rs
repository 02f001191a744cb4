//! Access that must end or never begin, within one tenant: a deactivated account (its old
//! token and a new login both refused) and an HR admin deciding their own leave request
//! (segregation of duties).
//!
//! Both need state the fixture does not hold, so they make it: a throwaway employee with a
//! login (the API lets HR admins create one) and a leave request. When that setup fails the
//! verdict is *inconclusive*, never "held": a refusal of something that never existed
//! proves nothing.

use std::time::{Duration, Instant};

use serde_json::json;

use super::roles::{Requester, decide_then_read_back, request_leave};
use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const DEACTIVATED: &str = "deactivated_account";
const SELF_APPROVAL: &str = "self_approval";

/// How long a deactivated account's old token may keep working. The reference service
/// refuses it on the next request (2 s on another process); a deployment with a longer
/// bound than this fails the probe on purpose: minutes of access after a dismissal is a
/// finding.
pub const REVOCATION_DEADLINE: Duration = Duration::from_secs(5);

pub(super) async fn run(p: &Prober) {
    for own in 0..p.tenants() {
        // Both need an HR admin of the tenant; without one (a `--target` credentials file
        // may hold none) there is nothing to try, which is not the same as "held".
        if p.token(own, Role::HrAdmin).is_none() {
            continue;
        }
        deactivated_account(p, own).await;
        self_approval(p, own).await;
    }
}

/// A setup step that must succeed; `Err` is the inconclusive verdict's text.
async fn step(p: &Prober, req: Req, want: u16) -> Result<crate::probes::Reply, String> {
    match p.send(&req).await {
        Some(r) if r.status == want => Ok(r),
        Some(r) => Err(format!("setup {req} → {} (expected {want})", r.status)),
        None => Err(format!("setup {req}: no response")),
    }
}

async fn deactivated_account(p: &Prober, own: usize) {
    const OLD_TOKEN: &str = "old token after deactivation";
    const NEW_LOGIN: &str = "login after deactivation";
    let who = format!("tenant #{own} hr_admin");
    let n = p.unique();
    // Logins are unique across tenants and outlive the run: the nonce alone repeats between
    // catalogue runs started within a minute, so the clock's nanoseconds join it.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let email = format!("leaver{n}x{nanos}@probe.invalid.example.com");
    let password = format!("probe-password-{n}");
    let setup = async {
        let create = Req::post("/employees", who.clone())
            .token(p.token(own, Role::HrAdmin))
            .body(
                json!({"first_name": format!("Leaver{n}"), "last_name": "Probe",
                         "email": email, "password": password}),
            );
        let id = step(p, create, 201)
            .await?
            .field("id")
            .ok_or("the created employee has no id")?;
        let token = login(p, &email, &password)
            .await?
            .ok_or("the new account could not log in")?;
        let me = format!("tenant #{own} throwaway employee");
        let read = Req::get("/employees?per_page=1", me.clone()).token(Some(&token));
        step(p, read, 200).await?;
        let deactivate = Req::post(format!("/employees/{id}/deactivate"), who.clone())
            .token(p.token(own, Role::HrAdmin));
        step(p, deactivate, 200).await?;
        Ok::<_, String>((token, me))
    };
    let (token, me) = match setup.await {
        Ok(ready) => ready,
        Err(why) => return p.inconclusive(DEACTIVATED, &[OLD_TOKEN, NEW_LOGIN], &why),
    };
    // Polled: a deployment may take a bounded while to hear of the deactivation.
    let started = Instant::now();
    let verdict = loop {
        let req = Req::get("/employees?per_page=1", me.clone())
            .token(Some(&token))
            .note("token issued before the account was deactivated");
        match p.send(&req).await {
            None => break ProbeVerdict::Inconclusive(format!("{req}: no response")),
            Some(r) if (400..500).contains(&r.status) => break ProbeVerdict::Held,
            Some(r) if r.status >= 500 => {
                break ProbeVerdict::Inconclusive(format!("{req} → {}", r.status));
            }
            Some(r) if started.elapsed() >= REVOCATION_DEADLINE => {
                break ProbeVerdict::Leak(format!(
                    "{req} → {} (expected 401 within {REVOCATION_DEADLINE:?} of the deactivation); \
                     the deactivated account's token still works",
                    r.status
                ));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    p.report(DEACTIVATED, OLD_TOKEN, verdict);
    let req = Req::post("/auth/login", me)
        .body(json!({"email": email, "password": password}))
        .note("the account was deactivated");
    p.expect_refused(
        DEACTIVATED,
        NEW_LOGIN,
        req,
        "401",
        "a deactivated account logged in",
    )
    .await;
}

/// Logs in; `Ok(None)` when refused.
async fn login(p: &Prober, email: &str, password: &str) -> Result<Option<String>, String> {
    let req =
        Req::post("/auth/login", "throwaway").body(json!({"email": email, "password": password}));
    let reply = p.send(&req).await.ok_or(format!("{req}: no response"))?;
    Ok((reply.status == 200)
        .then(|| reply.field("access_token"))
        .flatten())
}

async fn self_approval(p: &Prober, own: usize) {
    const NAME: &str = "an HR admin approves their own leave request";
    let Some(admin) = p.token(own, Role::HrAdmin) else {
        return;
    };
    let requester = Requester {
        token: admin.to_owned(),
        who: format!("tenant #{own} hr_admin"),
    };
    let id = match request_leave(p, &requester, "probe: self approval").await {
        Ok(id) => id,
        Err(why) => return p.inconclusive(SELF_APPROVAL, &[NAME], &why),
    };
    let req = Req::post(
        format!("/leave/requests/{id}/approve"),
        requester.who.clone(),
    )
    .token(Some(admin))
    .note("their own pending request");
    let verdict = decide_then_read_back(p, &req, &id, &requester, "403").await;
    p.report(SELF_APPROVAL, NAME, verdict);
}
