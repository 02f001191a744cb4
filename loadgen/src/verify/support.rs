//! What every check family shares: the [`Finding`] it returns, one request seen whole
//! ([`Seen`]), logins, and the tenant operations read from the served OpenAPI document.

use anyhow::Context as _;
use gauntlet_reports::verify::CheckOutcome;
use gauntlet_scenarios::hrms::{Role, TenantFixture};
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::Value;

use super::Context;

/// A check's outcome, why, and what was sent and seen.
#[derive(Debug)]
pub struct Finding {
    /// Pass, fail or skipped.
    pub outcome: CheckOutcome,
    /// One line: why it failed or was skipped, or what passing looked like.
    pub summary: String,
    /// Requests, answers, figures.
    pub evidence: Vec<String>,
}

impl Finding {
    pub fn pass(summary: impl Into<String>, evidence: Vec<String>) -> Self {
        Self::new(CheckOutcome::Pass, summary, evidence)
    }
    pub fn fail(summary: impl Into<String>, evidence: Vec<String>) -> Self {
        Self::new(CheckOutcome::Fail, summary, evidence)
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::new(CheckOutcome::Skipped, reason, Vec::new())
    }
    /// Pass when `problems` is empty, else fail naming the first; the evidence is `seen`
    /// with the problems first.
    pub fn judge(passed: impl Into<String>, problems: Vec<String>, seen: Vec<String>) -> Self {
        match problems.first() {
            None => Self::pass(passed, seen),
            Some(first) => {
                let summary = if problems.len() > 1 {
                    format!("{first} (and {} more)", problems.len() - 1)
                } else {
                    first.clone()
                };
                Self::fail(summary, problems.into_iter().chain(seen).collect())
            }
        }
    }
    /// An error that kept the check from concluding: a fail, never a pass.
    pub fn error(e: &anyhow::Error) -> Self {
        Self::fail(format!("could not conclude: {e:#}"), Vec::new())
    }
    fn new(outcome: CheckOutcome, summary: impl Into<String>, evidence: Vec<String>) -> Self {
        Finding {
            outcome,
            summary: summary.into(),
            evidence,
        }
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Seen {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    /// The body parsed as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `application/json` with `{"error":{"code":"…","message":"…"}}`.
    pub fn is_json_error(&self) -> bool {
        let json_type = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let shaped = self
            .json()
            .is_some_and(|v| v["error"]["code"].is_string() && v["error"]["message"].is_string());
        json_type && shaped
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `→ 401 {"error":…}` with the body cut short: an evidence line's tail.
    pub fn brief(&self) -> String {
        let body: String = self.body.chars().take(160).collect();
        let cut = if self.body.chars().count() > 160 {
            "…"
        } else {
            ""
        };
        format!("→ {} {body}{cut}", self.status.as_u16())
    }
}

/// Sends and reads the answer whole.
pub async fn send(request: RequestBuilder) -> anyhow::Result<Seen> {
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Ok(Seen {
        status,
        headers,
        body,
    })
}

impl Context<'_> {
    /// A request to `path` (which starts with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The first tenant (the fixture's largest plan: the checks' own requests must not be
    /// what exhausts a budget).
    pub fn home(&self) -> anyhow::Result<&TenantFixture> {
        self.fixture
            .tenants
            .first()
            .context("the fixture has no tenant")
    }

    /// Logs in up to `at_most` users with `role` of `tenant`; their bearer tokens (none when
    /// the tenant has no such user).
    pub async fn tokens(
        &self,
        tenant: &TenantFixture,
        role: Role,
        at_most: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut tokens = Vec::new();
        for user in tenant.users.iter().filter(|u| u.role == role).take(at_most) {
            let who = gauntlet_contract::Login {
                email: user.email.clone(),
                password: user.password.clone(),
            };
            tokens.push(
                gauntlet_contract::login(&self.client, &self.base_url, &who)
                    .await?
                    .token,
            );
        }
        Ok(tokens)
    }

    /// Logs in the first user with `role` of `tenant`; the bearer token.
    pub async fn token(&self, tenant: &TenantFixture, role: Role) -> anyhow::Result<String> {
        let user = tenant
            .users
            .iter()
            .find(|u| u.role == role)
            .with_context(|| format!("the fixture's tenant has no {role:?} user"))?;
        let who = gauntlet_contract::Login {
            email: user.email.clone(),
            password: user.password.clone(),
        };
        Ok(gauntlet_contract::login(&self.client, &self.base_url, &who)
            .await?
            .token)
    }

    /// The served OpenAPI document.
    pub async fn document(&self) -> anyhow::Result<Value> {
        let seen = send(self.request(Method::GET, "/openapi.json")).await?;
        anyhow::ensure!(
            seen.status.is_success(),
            "GET /openapi.json {}",
            seen.brief()
        );
        seen.json().context("GET /openapi.json is not JSON")
    }
}

/// One operation of the document.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// As documented, `{id}` and all.
    pub path: String,
    pub operation: Value,
}

impl Operation {
    /// The path with every `{param}` filled by a well-formed id that names nothing.
    pub fn concrete_path(&self) -> String {
        let mut out = String::new();
        let mut rest = self.path.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            out.push_str("00000000-0000-4000-8000-000000000000");
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Every operation of `document`, sorted, with whether its security names `scheme`.
pub fn operations(document: &Value, scheme: &str) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = document["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|req| req.get(scheme).is_some()));
            if secured {
                out.push(Operation {
                    method,
                    path: path.clone(),
                    operation: operation.clone(),
                });
            }
        }
    }
    out.sort_by_key(Operation::label);
    out
}

/// The tenant scheme's name in the reference service's document.
pub const TENANT_SCHEME: &str = "bearer";
