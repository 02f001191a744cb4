//! Contract fuzzing: requests generated from a service's served OpenAPI document, for every
//! operation, checked against what the same document promises.
//!
//! A small seeded generator, not proptest: requests are async and share one deployment,
//! shrinking a failing HTTP request buys little when the request itself is printed, and a
//! fixed seed makes every run send the same requests (given the same ids). Bounded: at most
//! [`Settings::per_operation`] requests per operation and [`Settings::budget`] of wall-clock
//! time in all; operations the budget did not reach are reported, not silently dropped.
//!
//! Asserted for every response: no 5xx; a 4xx body is `{"error":{"code","message"}}`; the
//! status is one the operation documents; a documented JSON body validates against its
//! schema. Strings come from all of Unicode, control characters and U+0000 included.
//!
//! Used by the service's own test suite and by `gauntlet fuzz` (against the local service or
//! a `--target`).

pub mod check;
pub mod known;
pub mod request;
pub mod spec;
pub mod values;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::Client;
use serde::Serialize;
use serde_json::Value;

pub use known::{Known, Login, Session, discover, login};
pub use request::{Case, Tokens};
pub use spec::{Operation, operations};

/// The seed used when none is given (issue 15's).
pub const DEFAULT_SEED: u64 = 0x15_F0_22;

/// Why fuzzing could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The document could not be fetched or is not an OpenAPI document.
    #[error("the OpenAPI document: {0}")]
    Document(String),
    /// Logging in or finding ids failed.
    #[error("setting up: {0}")]
    Setup(String),
    /// An operation asked for is not in the document.
    #[error("no operation {0:?} in the document; it has: {1}")]
    UnknownOperation(String, String),
}

/// How much to send, and to which operations.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seeds every operation's generator (mixed with the operation's index).
    pub seed: u64,
    /// Requests per operation.
    pub per_operation: usize,
    /// Wall-clock bound of the whole loop.
    pub budget: Duration,
    /// Only these operations (`GET /employees`, as [`Operation::name`] writes them); all
    /// when empty.
    pub only: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: DEFAULT_SEED,
            per_operation: 40,
            budget: Duration::from_secs(100),
            only: Vec::new(),
        }
    }
}

/// One response that broke a promise of the document.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `GET /employees/{id}`.
    pub operation: String,
    /// The request as sent (replayable by hand).
    pub request: String,
    /// What was wrong.
    pub problem: String,
}

/// What a fuzzing run did and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The seed (replay with the same seed against the same data).
    pub seed: u64,
    /// Operations in the document.
    pub operations: usize,
    /// Operations that were sent their requests.
    pub covered: usize,
    /// Operations not covered, with why (budget exhausted, no operator token).
    pub not_covered: Vec<String>,
    /// Requests sent.
    pub sent: usize,
    /// Responses per status.
    pub statuses: BTreeMap<u16, usize>,
    /// Requests that could not be sent or whose answer could not be read.
    pub transport_errors: usize,
    /// Broken promises, in the order found.
    pub failures: Vec<Failure>,
    /// Wall-clock time of the loop, milliseconds.
    pub elapsed_ms: u64,
}

impl Summary {
    /// Responses with a 5xx status.
    pub fn server_errors(&self) -> usize {
        self.statuses.range(500..).map(|(_, n)| n).sum()
    }

    /// Every operation covered and no promise broken.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.not_covered.is_empty() && self.transport_errors == 0
    }

    /// One line: seed, coverage, counts.
    pub fn headline(&self) -> String {
        format!(
            "contract fuzz, seed {:#x}: {}/{} operations, {} requests in {:.1} s, {} 5xx, {} failures; statuses {:?}",
            self.seed,
            self.covered,
            self.operations,
            self.sent,
            self.elapsed_ms as f64 / 1000.0,
            self.server_errors(),
            self.failures.len(),
            self.statuses
        )
    }
}

/// `GET {base_url}/openapi.json` (or another `path`), as JSON.
pub async fn fetch_document(client: &Client, url: &str) -> Result<Value, FuzzError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| FuzzError::Document(format!("GET {url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FuzzError::Document(format!("GET {url}: {status}")));
    }
    let doc: Value = response
        .json()
        .await
        .map_err(|e| FuzzError::Document(format!("GET {url}: not JSON: {e}")))?;
    if !doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')) || !doc["paths"].is_object() {
        return Err(FuzzError::Document(format!(
            "{url} is not an OpenAPI 3.x document (no `openapi: 3.x` and `paths`)"
        )));
    }
    Ok(doc)
}

/// Sends every operation of `doc` (or those of [`Settings::only`]) its generated requests
/// and checks every answer. An `only` name the document does not have is an error naming
/// the ones it has.
pub async fn fuzz(
    client: &Client,
    base_url: &str,
    doc: &Value,
    known: &Known,
    tokens: &Tokens,
    settings: &Settings,
) -> Result<Summary, FuzzError> {
    let started = Instant::now();
    let ops = operations(doc);
    let names: Vec<String> = ops.iter().map(Operation::name).collect();
    if let Some(unknown) = settings.only.iter().find(|n| !names.contains(n)) {
        return Err(FuzzError::UnknownOperation(
            unknown.clone(),
            names.join(", "),
        ));
    }
    let selected = |op: &Operation| settings.only.is_empty() || settings.only.contains(&op.name());
    let mut summary = Summary {
        seed: settings.seed,
        operations: ops.iter().filter(|op| selected(op)).count(),
        covered: 0,
        not_covered: Vec::new(),
        sent: 0,
        statuses: BTreeMap::new(),
        transport_errors: 0,
        failures: Vec::new(),
        elapsed_ms: 0,
    };
    // Indexed in the whole document, so selecting operations does not change their requests.
    for (i, op) in ops.iter().enumerate().filter(|(_, op)| selected(op)) {
        if started.elapsed() > settings.budget {
            summary
                .not_covered
                .push(format!("{}: the time budget ran out", op.name()));
            continue;
        }
        if op.security_scheme() == Some("operator") && tokens.operator.is_none() {
            summary
                .not_covered
                .push(format!("{}: no operator token given", op.name()));
            continue;
        }
        summary.covered += 1;
        // Each operation its own stream, so adding an operation does not change the others'.
        let mut rng =
            StdRng::seed_from_u64(settings.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for _ in 0..settings.per_operation {
            let case = request::generate(&mut rng, doc, op, known, tokens);
            summary.sent += 1;
            match send(client, base_url, &case).await {
                Ok((status, content_type, body)) => {
                    *summary.statuses.entry(status).or_default() += 1;
                    if let Err(problem) = check::check(doc, op, status, &content_type, &body) {
                        summary.failures.push(Failure {
                            operation: op.name(),
                            request: case.to_string(),
                            problem,
                        });
                    }
                }
                Err(e) => {
                    summary.transport_errors += 1;
                    summary.failures.push(Failure {
                        operation: op.name(),
                        request: case.to_string(),
                        problem: format!("no answer: {e}"),
                    });
                }
            }
        }
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

async fn send(
    client: &Client,
    base_url: &str,
    case: &Case,
) -> Result<(u16, String, Vec<u8>), reqwest::Error> {
    let mut request = client.request(case.method.clone(), format!("{base_url}{}", case.path));
    if let Some(token) = &case.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &case.body {
        request = request.json(body);
    }
    if let Some(key) = &case.idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().await?.to_vec();
    Ok((status, content_type, body))
}
