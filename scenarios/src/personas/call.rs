//! One timed API call: build it on the virtual user's goose client, send it through goose
//! (so goose's own metrics still count it, for a cross-check), read the body, classify the
//! outcome and hand one [`Sample`] to the sink.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use goose::goose::{GooseMethod, GooseRequest, GooseUser};

use super::session::Session;
use super::{CallOutcome, Ctx, Sample, Write};
use crate::hrms::{Endpoint, JsonBody, Method};

/// A response the persona may look at.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Whether the status was one the call declared expected.
    pub expected: bool,
    /// The body (empty when it could not be read).
    pub body: Vec<u8>,
}

impl JsonBody for Reply {
    fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What to send.
pub struct Call<'a> {
    /// Which endpoint (names the sample).
    pub endpoint: Endpoint,
    /// Concrete path with query, e.g. `/employees/123?x=1`.
    pub path: &'a str,
    /// Bearer token, if the route needs one.
    pub token: Option<&'a str>,
    /// JSON body, if any.
    pub body: Option<serde_json::Value>,
    /// Statuses that count as success; anything else is an error of its class.
    pub expected: &'a [u16],
}

fn now_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Sends `call`, records it, and returns the reply (None when no HTTP response came back).
pub async fn send(user: &mut GooseUser, ctx: &Ctx, call: Call<'_>) -> Option<Reply> {
    let method = match call.endpoint.method() {
        Method::Get => GooseMethod::Get,
        Method::Post => GooseMethod::Post,
        Method::Patch => GooseMethod::Patch,
    };
    let mut builder = match user.get_request_builder(&method, call.path) {
        Ok(b) => b,
        Err(_) => {
            let timing = Timing {
                latency_us: 0,
                service_us: 0,
            };
            record(user, ctx, call.endpoint, timing, None, CallOutcome::Other);
            return None;
        }
    };
    if let Some(token) = call.token {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = &call.body {
        builder = builder.json(body);
    }
    // Creates carry a fresh Idempotency-Key so the ledger can tell, after the run, whether
    // an acknowledged write is still there and whether an unanswered one committed anyway.
    let key = ledgered(call.endpoint).then(idempotency_key);
    if let Some(key) = &key {
        builder = builder.header("Idempotency-Key", key.as_str());
    }
    let request = GooseRequest::builder()
        .name(call.endpoint.name())
        .set_request_builder(builder)
        .build();
    let started = tokio::time::Instant::now();
    // Open model: the iteration's first request waits from when it was scheduled to start.
    let waited_from =
        super::arrivals::take_intended_start().map_or(started, |intended| intended.min(started));
    let sent = user.request(request).await;
    let (status, body, outcome) = match sent {
        Ok(goose) => match goose.response {
            Ok(response) => {
                let status = response.status().as_u16();
                // The whole body is part of the latency a client sees.
                match response.bytes().await {
                    Ok(bytes) => (
                        Some(status),
                        bytes.to_vec(),
                        classify(status, call.expected),
                    ),
                    Err(e) => (Some(status), Vec::new(), transport(&e)),
                }
            }
            Err(e) => (None, Vec::new(), transport(&e)),
        },
        Err(_) => (None, Vec::new(), CallOutcome::Other),
    };
    let micros = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let timing = Timing {
        latency_us: micros(waited_from.elapsed()),
        service_us: micros(started.elapsed()),
    };
    record(user, ctx, call.endpoint, timing, status, outcome);
    let reply = status.map(|status| Reply {
        status,
        expected: outcome == CallOutcome::Ok,
        body,
    });
    if let Some(key) = key {
        ledger(user, ctx, call.endpoint, key, reply.as_ref());
    }
    reply
}

/// The creates the ledger follows: attendance and leave rows written by employees.
fn ledgered(endpoint: Endpoint) -> bool {
    matches!(endpoint, Endpoint::ClockIn | Endpoint::RequestLeave)
}

/// A key unique across runs and processes: start time of the process, pid, a counter.
fn idempotency_key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static NONCE: OnceLock<u64> = OnceLock::new();
    let nonce = NONCE.get_or_init(|| now_unix_us() ^ (u64::from(std::process::id()) << 40));
    format!(
        "gauntlet-{nonce:x}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn ledger(user: &GooseUser, ctx: &Ctx, endpoint: Endpoint, key: String, reply: Option<&Reply>) {
    let acked = reply.is_some_and(|r| (200..300).contains(&r.status));
    // A 4xx is a refusal: nothing was written, nothing to follow.
    if !acked && reply.is_some_and(|r| r.status < 500) {
        return;
    }
    let json = reply.filter(|_| acked).and_then(Reply::json);
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name)?.as_str().map(str::to_owned))
    };
    ctx.sink.write(&Write {
        endpoint,
        tenant: user.get_session_data::<Session>().map(|s| s.tenant),
        idempotency_key: key,
        id: field("id"),
        employee_id: field("employee_id"),
        acked,
    });
}

/// Session marker of the goose user that runs the setup and the sweeps.
#[derive(Debug, Clone, Copy)]
pub struct SetupUser {
    /// Sending a probe sweep: its requests are probe attempts, never endpoint samples.
    pub probing: bool,
}

/// A request's two latencies (see [`Sample`]).
#[derive(Clone, Copy)]
struct Timing {
    latency_us: u64,
    service_us: u64,
}

fn record(
    user: &GooseUser,
    ctx: &Ctx,
    endpoint: Endpoint,
    timing: Timing,
    status: Option<u16>,
    outcome: CallOutcome,
) {
    ctx.sink.request(&Sample {
        endpoint,
        at_unix_us: now_unix_us(),
        latency_us: timing.latency_us,
        service_us: timing.service_us,
        status,
        outcome,
        tenant: user.get_session_data::<super::Session>().map(|s| s.tenant),
        setup: user.get_session_data::<SetupUser>().is_some(),
        probe: user
            .get_session_data::<super::Session>()
            .is_some_and(|s| s.prober)
            || user
                .get_session_data::<SetupUser>()
                .is_some_and(|s| s.probing),
    });
}

fn classify(status: u16, expected: &[u16]) -> CallOutcome {
    if expected.contains(&status) {
        CallOutcome::Ok
    } else {
        CallOutcome::Unexpected
    }
}

fn transport(e: &reqwest::Error) -> CallOutcome {
    if e.is_timeout() {
        CallOutcome::Timeout
    } else if e.is_connect() || e.is_request() {
        CallOutcome::Connection
    } else {
        CallOutcome::Other
    }
}
