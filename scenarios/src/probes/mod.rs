//! The probe catalogue of issue 6: with real tokens of one tenant, try to read, change or
//! infer another tenant's data, and record what came back.
//!
//! One module per probe family (`access`, `listing`, `tokens`, `spoofing`, `mass`, `cache`,
//! `payroll`, `injection`, `accounts`, `roles`, `noisy`). Every probe sends plain HTTP through a [`Prober`] and
//! reports a [`ProbeVerdict`] to the run's [`RequestSink`]; a leak's text is the exact
//! request (method, path, notable headers, body, who sent it), the expected outcome, the
//! observed status and what foreign data appeared. Foreign data is found by content: another
//! tenant's marker string (in every email of its people) or one of its ids, not by status
//! codes alone.
//!
//! The catalogue runs standalone (`gauntlet probe`). A load run carries the prober persona
//! instead (`personas/prober.rs`: three of these kinds, during the load and in sweeps before
//! and after it), which keeps its requests inside goose's counts. Every loop is bounded: tenant pairs by [`MAX_TENANTS`], pages, polls and floods by count and
//! time, and every request by the client timeout.

mod access;
mod accounts;
mod cache;
mod foreign;
pub use foreign::ForeignStrings;
pub(crate) use foreign::contains;
mod injection;
mod listing;
mod mass;
mod noisy;
mod payroll;
mod request;
mod roles;
mod spoofing;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::hrms::{Fixture, JsonBody, Role};
use crate::personas::{ProbeVerdict, RequestSink};

pub use request::{Reply, Req};

/// Tenants covered: every ordered pair of the first few is probed, which is quadratic.
pub const MAX_TENANTS: usize = 4;

/// Why the catalogue cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(reqwest::Error),
    /// A probing account could not log in (wrong credentials, or the service is down).
    #[error("tenant #{tenant}: login of {email} failed (wrong credentials or service down)")]
    Login {
        /// Index in the fixture.
        tenant: usize,
        /// The account.
        email: String,
    },
}

/// Which families run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalogue {
    /// The noisy-neighbour flood (never during a load: it would be the load).
    pub noisy_neighbour: bool,
    /// Payroll runs started by the probes (a tenant's heaviest rate-limit class: a free-tier
    /// tenant may start two, then one per 5 s). Without them, the probes that need a run
    /// skip it rather than fail.
    pub payroll: bool,
}

impl Catalogue {
    /// Every family.
    pub const ALL: Catalogue = Catalogue {
        noisy_neighbour: true,
        payroll: true,
    };
}

/// Logged-in tokens of one tenant, by role (None when that login failed or the role is absent).
#[derive(Debug, Clone, Default)]
pub struct TenantTokens {
    /// A plain employee.
    pub employee: Option<String>,
    /// An HR admin.
    pub hr_admin: Option<String>,
    /// The employee record of the plain employee.
    pub employee_id: Option<String>,
}

/// The catalogue's client and what it knows: the fixture, tokens per tenant, payroll runs.
pub struct Prober {
    http: reqwest::Client,
    base: String,
    sink: Arc<dyn RequestSink>,
    fixture: Fixture,
    tokens: Vec<TenantTokens>,
    /// Each tenant's strings, whose presence in a response to anybody else is a leak.
    foreign: Vec<foreign::ForeignStrings>,
    runs: std::sync::Mutex<Vec<Option<String>>>,
    /// Makes names of probe-created rows unique across probes and runs.
    nonce: AtomicU64,
}

impl Prober {
    /// A prober for the service at `base` (e.g. `http://127.0.0.1:8080`) logging in with the
    /// fixture's first employee and HR admin of each of the first [`MAX_TENANTS`] tenants.
    pub async fn login(
        base: &str,
        fixture: Fixture,
        sink: Arc<dyn RequestSink>,
    ) -> Result<Prober, ProbeError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(ProbeError::Client)?;
        let tenants = fixture.tenants.len().min(MAX_TENANTS);
        let foreign = fixture
            .tenants
            .iter()
            .map(foreign::ForeignStrings::of)
            .collect();
        let mut prober = Prober {
            http,
            base: base.trim_end_matches('/').to_owned(),
            sink,
            fixture,
            tokens: Vec::new(),
            foreign,
            runs: std::sync::Mutex::new(vec![None; tenants]),
            nonce: AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            ),
        };
        for t in 0..tenants {
            let employee = prober.first(t, Role::Employee);
            let admin = prober.first(t, Role::HrAdmin);
            let mut tokens = TenantTokens {
                employee_id: employee.as_ref().and_then(|u| u.employee_id.clone()),
                ..TenantTokens::default()
            };
            if let Some(u) = employee {
                tokens.employee = prober.login_as(&u.email, &u.password).await;
                // Without it every probe of this tenant would be an anonymous 401: a false
                // "held" all along the line.
                if tokens.employee.is_none() {
                    return Err(ProbeError::Login {
                        tenant: t,
                        email: u.email,
                    });
                }
            }
            if let Some(u) = admin {
                tokens.hr_admin = prober.login_as(&u.email, &u.password).await;
            }
            prober.tokens.push(tokens);
        }
        Ok(prober)
    }

    fn first(&self, t: usize, role: Role) -> Option<crate::hrms::UserCredential> {
        self.fixture.tenants[t]
            .users
            .iter()
            .find(|u| u.role == role)
            .cloned()
    }

    async fn login_as(&self, email: &str, password: &str) -> Option<String> {
        let req = Req::post("/auth/login", "login").body(serde_json::json!({
            "email": email, "password": password
        }));
        let reply = self.send(&req).await?;
        (reply.status == 200)
            .then(|| reply.field("access_token"))
            .flatten()
    }

    /// Runs the catalogue once.
    pub async fn run(&self, catalogue: Catalogue) {
        // Payroll first: it creates the runs the access probes then try across tenants.
        if catalogue.payroll {
            payroll::run(self).await;
        }
        access::run(self).await;
        listing::run(self).await;
        cache::run(self).await;
        tokens::run(self).await;
        spoofing::run(self).await;
        mass::run(self).await;
        injection::run(self).await;
        accounts::run(self).await;
        roles::run(self).await;
        if catalogue.noisy_neighbour {
            noisy::run(self).await;
        }
    }

    /// Tenants probed.
    fn tenants(&self) -> usize {
        self.tokens.len()
    }

    /// Ordered pairs `(own, other)` of distinct probed tenants.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.tenants();
        (0..n)
            .flat_map(|a| (0..n).filter(move |b| *b != a).map(move |b| (a, b)))
            .collect()
    }

    fn token(&self, t: usize, role: Role) -> Option<&str> {
        let tokens = &self.tokens[t];
        match role {
            Role::HrAdmin => tokens.hr_admin.as_deref(),
            _ => tokens.employee.as_deref(),
        }
    }

    fn tenant_id(&self, t: usize) -> Option<&str> {
        self.fixture.tenants[t].id.as_deref()
    }

    fn run_of(&self, t: usize) -> Option<String> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.get(t).cloned().flatten()
    }

    fn set_run(&self, t: usize, id: String) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = runs.get_mut(t) {
            *slot = Some(id);
        }
    }

    fn unique(&self) -> u64 {
        self.nonce.fetch_add(1, Ordering::Relaxed)
    }

    /// The first string of tenant `other` (its marker, an employee or department id) found
    /// in `body`.
    fn foreign_in(&self, body: &[u8], other: usize) -> Option<&str> {
        self.foreign.get(other)?.find(body)
    }

    /// Records a verdict.
    fn report(&self, kind: &'static str, name: &'static str, verdict: ProbeVerdict) {
        self.sink.probe(kind, name, verdict);
    }

    /// A request tenant `own` must not get tenant `other`'s data from: held when refused
    /// (`expected`) or answered without any of `other`'s strings; a leak when a 2xx carries
    /// them; inconclusive on 5xx or no answer.
    async fn expect_no_foreign(
        &self,
        kind: &'static str,
        name: &'static str,
        req: Req,
        expected: &str,
        other: usize,
    ) -> Option<Reply> {
        let reply = self.send(&req).await;
        let verdict = self.judge_no_foreign(&req, reply.as_ref(), expected, other);
        self.report(kind, name, verdict);
        reply
    }

    /// [`Prober::expect_no_foreign`]'s verdict, for probes that check more before reporting.
    fn judge_no_foreign(
        &self,
        req: &Req,
        reply: Option<&Reply>,
        expected: &str,
        other: usize,
    ) -> ProbeVerdict {
        match reply {
            None => ProbeVerdict::Inconclusive(format!("{req}: no response")),
            Some(r) if r.status >= 500 => {
                ProbeVerdict::Inconclusive(format!("{req} → {} (expected {expected})", r.status))
            }
            Some(r) if (200..300).contains(&r.status) => match self.foreign_in(&r.body, other) {
                Some(found) => ProbeVerdict::Leak(format!(
                    "{req} → {} (expected {expected}); tenant #{other}'s data in the body: {found}",
                    r.status
                )),
                None => ProbeVerdict::Held,
            },
            Some(_) => ProbeVerdict::Held,
        }
    }

    /// Tenant `t` itself reads `path` (as its HR admin, else its employee) with a 200: the
    /// object a cross-tenant probe aims at exists, so another tenant's 404 for it is a
    /// refusal and not "no such thing". `Err` is the inconclusive verdict's text.
    async fn owner_reads(&self, t: usize, path: &str) -> Result<Reply, String> {
        let (role, token) = match self.token(t, Role::HrAdmin) {
            Some(token) => ("hr_admin", Some(token)),
            None => ("employee", self.token(t, Role::Employee)),
        };
        let req = Req::get(path, format!("tenant #{t} {role}")).token(token);
        match self.send(&req).await {
            Some(r) if r.status == 200 => Ok(r),
            Some(r) => Err(format!(
                "precondition {req} → {} (expected 200): the target is not shown to exist, \
                 so a refusal would prove nothing",
                r.status
            )),
            None => Err(format!("precondition {req}: no response")),
        }
    }

    /// Reports the same inconclusive verdict for every probe in `names`.
    fn inconclusive(&self, kind: &'static str, names: &[&'static str], why: &str) {
        for name in names {
            self.report(kind, name, ProbeVerdict::Inconclusive(why.to_owned()));
        }
    }

    /// A request that must be refused with a 4xx: any 2xx is a leak (the service accepted
    /// what it must not), 5xx or no answer inconclusive.
    async fn expect_refused(
        &self,
        kind: &'static str,
        name: &'static str,
        req: Req,
        expected: &str,
        finding: &str,
    ) -> Option<Reply> {
        let reply = self.send(&req).await;
        let verdict = match &reply {
            None => ProbeVerdict::Inconclusive(format!("{req}: no response")),
            Some(r) if (400..500).contains(&r.status) => ProbeVerdict::Held,
            Some(r) if (200..300).contains(&r.status) => ProbeVerdict::Leak(format!(
                "{req} → {} (expected {expected}); {finding}",
                r.status
            )),
            Some(r) => {
                ProbeVerdict::Inconclusive(format!("{req} → {} (expected {expected})", r.status))
            }
        };
        self.report(kind, name, verdict);
        reply
    }
}
