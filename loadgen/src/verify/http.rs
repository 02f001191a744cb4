//! The HTTP contract every answer keeps: errors in the JSON shape, bounded parameters refused
//! past their bounds (never a 5xx), the body size limit, security headers, and idempotent
//! retries of a write.

use gauntlet_scenarios::hrms::Role;
use reqwest::Method;
use serde_json::{Value, json};

use super::Context;
use super::support::{Finding, TENANT_SCHEME, operations, send};

/// The reference service's default body limit (`server.body_limit_bytes`): a 413 for one
/// byte more proves a limit at or below it.
const BODY_LIMIT_BYTES: usize = 64 * 1024;

pub async fn error_shape(ctx: &Context<'_>) -> Finding {
    let token = match ctx.home() {
        Ok(home) => ctx.token(home, Role::Employee).await.ok(),
        Err(_) => None,
    };
    let mut cases = vec![
        ("unknown route", ctx.request(Method::GET, "/no-such-route")),
        ("wrong method", ctx.request(Method::DELETE, "/health/live")),
        (
            "malformed JSON",
            ctx.request(Method::POST, "/auth/login")
                .header("content-type", "application/json")
                .body("{\"email\": "),
        ),
        (
            "wrong credentials",
            ctx.request(Method::POST, "/auth/login")
                .json(&json!({"email": "nobody@verify.invalid", "password": "wrong"})),
        ),
    ];
    if let Some(token) = token {
        cases.push((
            "malformed id",
            ctx.request(Method::GET, "/employees/not-a-uuid")
                .bearer_auth(token),
        ));
    }
    let mut problems = Vec::new();
    let mut seen_lines = Vec::new();
    for (what, request) in cases {
        match send(request).await {
            Ok(seen) => {
                let line = format!("{what} {}", seen.brief());
                if !(seen.status.is_client_error() && seen.is_json_error()) {
                    problems.push(format!("{what}: not a 4xx JSON error {}", seen.brief()));
                }
                seen_lines.push(line);
            }
            Err(e) => problems.push(format!("{what}: {e}")),
        }
    }
    Finding::judge(
        format!(
            "{} error answers, all 4xx in the JSON shape",
            seen_lines.len()
        ),
        problems,
        seen_lines,
    )
}

pub async fn parameter_bounds(ctx: &Context<'_>) -> Finding {
    let found = async {
        let doc = ctx.document().await?;
        let token = ctx.token(ctx.home()?, Role::HrAdmin).await?;
        anyhow::Ok((doc, token))
    }
    .await;
    let (doc, token) = match found {
        Ok(found) => found,
        Err(e) => return Finding::error(&e),
    };
    let mut problems = Vec::new();
    let mut sent = Vec::new();
    for op in operations(&doc, TENANT_SCHEME) {
        for (name, value) in out_of_bounds(&op.operation) {
            let path = format!("{}?{name}={value}", op.concrete_path());
            let request = ctx.request(op.method.clone(), &path).bearer_auth(&token);
            let line = format!("{} {}?{name}={value}", op.method, op.path);
            match send(request).await {
                Ok(seen) if seen.status.is_client_error() && seen.is_json_error() => {
                    sent.push(format!("{line} {}", seen.brief()));
                }
                Ok(seen) => problems.push(format!("{line} {}", seen.brief())),
                Err(e) => problems.push(format!("{line}: {e}")),
            }
        }
    }
    if sent.is_empty() && problems.is_empty() {
        return Finding::skip("the document declares no bounded query parameter");
    }
    Finding::judge(
        format!("{} out-of-bound values, all refused 4xx JSON", sent.len()),
        problems,
        sent,
    )
}

/// `(parameter, value)` one past each declared `minimum` and `maximum` of the operation's
/// integer query parameters.
fn out_of_bounds(operation: &Value) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for p in operation["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "query" {
            continue;
        }
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        let schema = &p["schema"];
        if let Some(min) = schema["minimum"].as_i64() {
            out.push((name.to_owned(), min - 1));
        }
        if let Some(max) = schema["maximum"].as_i64() {
            out.push((name.to_owned(), max.saturating_add(1)));
        }
    }
    out
}

pub async fn body_limit(ctx: &Context<'_>) -> Finding {
    let padding = "x".repeat(BODY_LIMIT_BYTES);
    let body = json!({"email": padding, "password": "x"}).to_string();
    let size = body.len();
    let request = ctx
        .request(Method::POST, "/auth/login")
        .header("content-type", "application/json")
        .body(body);
    match send(request).await {
        Ok(seen) => {
            let line = format!("POST /auth/login with a {size}-byte body {}", seen.brief());
            if seen.status.as_u16() == 413 && seen.is_json_error() {
                Finding::pass(format!("{size} bytes refused 413 JSON"), vec![line])
            } else {
                Finding::fail(
                    format!("a {size}-byte body was not refused 413 JSON"),
                    vec![line],
                )
            }
        }
        Err(e) => Finding::error(&e),
    }
}

/// Header, and a test of its value.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("x-frame-options", "deny"),
    ("referrer-policy", "no-referrer"),
];

pub async fn security_headers(ctx: &Context<'_>) -> Finding {
    let token = match ctx.home() {
        Ok(home) => ctx.token(home, Role::Employee).await,
        Err(e) => Err(e),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return Finding::error(&e),
    };
    let cases = [
        (
            "GET /departments",
            ctx.request(Method::GET, "/departments").bearer_auth(&token),
        ),
        (
            "GET /no-such-route",
            ctx.request(Method::GET, "/no-such-route"),
        ),
    ];
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for (what, request) in cases {
        let seen = match send(request).await {
            Ok(seen) => seen,
            Err(e) => return Finding::error(&e),
        };
        let mut found = Vec::new();
        for (name, wanted) in SECURITY_HEADERS {
            match seen.header(name) {
                Some(v) if v.to_ascii_lowercase().contains(wanted) => {
                    found.push(format!("{name}: {v}"));
                }
                Some(v) => problems.push(format!("{what}: {name}: {v} (wanted {wanted})")),
                None => problems.push(format!("{what}: no {name}")),
            }
        }
        evidence.push(format!(
            "{what} → {} [{}]",
            seen.status.as_u16(),
            found.join("; ")
        ));
    }
    Finding::judge("present on a success and on an error", problems, evidence)
}

pub async fn idempotency(ctx: &Context<'_>) -> Finding {
    let token = match ctx.home() {
        Ok(home) => ctx.token(home, Role::Employee).await,
        Err(e) => Err(e),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return Finding::error(&e),
    };
    let clock = |path: &str, key: Option<&str>| {
        let mut r = ctx.request(Method::POST, path).bearer_auth(&token);
        if let Some(key) = key {
            r = r.header("idempotency-key", key);
        }
        send(r)
    };
    // A shift left open (by a persona, an earlier verify) would make the first clock-in a 409.
    let _ = clock("/attendance/clock-out", None).await;
    let key = format!("verify-{}", uuid::Uuid::new_v4());
    let outcome = async {
        let first = clock("/attendance/clock-in", Some(&key)).await?;
        let retry = clock("/attendance/clock-in", Some(&key)).await?;
        let other = clock("/attendance/clock-in", Some(&format!("{key}-2"))).await?;
        anyhow::Ok((first, retry, other))
    }
    .await;
    let _ = clock("/attendance/clock-out", None).await;
    let (first, retry, other) = match outcome {
        Ok(seen) => seen,
        Err(e) => return Finding::error(&e),
    };
    let evidence = vec![
        format!(
            "POST /attendance/clock-in (Idempotency-Key {key}) {}",
            first.brief()
        ),
        format!(
            "the same again {} (idempotent-replayed: {})",
            retry.brief(),
            retry.header("idempotent-replayed").unwrap_or("absent")
        ),
        format!("a new key while the shift is open {}", other.brief()),
    ];
    let mut problems = Vec::new();
    if first.status.as_u16() != 201 {
        problems.push(format!("the first clock-in was not 201 {}", first.brief()));
    }
    if retry.status != first.status || retry.json() != first.json() {
        problems.push("the retry with the same key did not replay the first answer".into());
    }
    if retry.header("idempotent-replayed").is_none() {
        problems.push("the retry is not marked Idempotent-Replayed".into());
    }
    if other.status.as_u16() != 409 {
        problems.push(format!(
            "a second shift opened beside the first: the write is not single {}",
            other.brief()
        ));
    }
    Finding::judge(
        "the retry replayed the first answer; one shift written",
        problems,
        evidence,
    )
}
