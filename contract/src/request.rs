//! One generated request for one operation: path parameters (mostly ids that exist, so the
//! request reaches the handler's own checks), query parameters, the idempotency header, a
//! JSON body from the schema, and who sends it.

use rand::Rng;
use rand::rngs::StdRng;
use reqwest::Method;
use serde_json::Value;

use crate::known::Known;
use crate::spec::Operation;
use crate::values::{any_string, encode, pick, query_value, value};

/// Who the fuzzer can be.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Bearer token of a tenant's HR admin (who may do most).
    pub hr_admin: String,
    /// Bearer token of a plain employee of the same tenant (so role checks answer).
    pub employee: String,
    /// The platform operator's token, for operations with the `operator` scheme.
    pub operator: Option<String>,
}

/// One request, printable so a failure can be replayed by hand.
#[derive(Debug, Clone)]
pub struct Case {
    /// The method.
    pub method: Method,
    /// Path and query, percent-encoded.
    pub path: String,
    /// The JSON body, if the operation takes one.
    pub body: Option<Value>,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(body) = &self.body {
            write!(f, " body {body}")?;
        }
        if let Some(key) = &self.idempotency_key {
            write!(f, " [Idempotency-Key: {key:?}]")?;
        }
        if self.token.is_none() {
            write!(f, " (no token)")?;
        }
        Ok(())
    }
}

/// A request for `op`, drawn from `rng`.
pub fn generate(
    rng: &mut StdRng,
    doc: &Value,
    op: &Operation,
    known: &Known,
    tokens: &Tokens,
) -> Case {
    let mut concrete = op.path.clone();
    let mut query = Vec::new();
    let mut idempotency_key = None;
    for p in op.spec["parameters"].as_array().into_iter().flatten() {
        let p = crate::spec::resolve(doc, p);
        let name = p["name"].as_str().unwrap_or_default();
        match p["in"].as_str().unwrap_or_default() {
            "path" => {
                let ids = known.for_path(&op.path);
                let id = match rng.random_range(0..4) {
                    0 => encode(&any_string(rng, 8)),
                    1 => uuid::Uuid::from_u128(rng.random()).to_string(),
                    _ if !ids.is_empty() => pick(rng, ids).clone(),
                    _ => uuid::Uuid::from_u128(rng.random()).to_string(),
                };
                concrete = concrete.replace(&format!("{{{name}}}"), &id);
            }
            "query" if rng.random_bool(0.5) => {
                let v = query_value(rng, doc, &p["schema"]);
                query.push(format!("{}={}", encode(name), encode(&v)));
            }
            "header" if rng.random_bool(0.4) => {
                // Header values must be bytes an HTTP client can send: visible ASCII, or a space.
                let key: String = (0..rng.random_range(0..20))
                    .map(|_| char::from(rng.random_range(b' '..=b'~')))
                    .collect();
                idempotency_key = Some(key);
            }
            _ => {}
        }
    }
    if rng.random_range(0..12) == 0 {
        // A parameter the operation does not declare: lists must answer it the same way.
        query.push(format!("{}=1", encode(&any_string(rng, 4))));
    }
    if !query.is_empty() {
        concrete = format!("{concrete}?{}", query.join("&"));
    }
    let body = op
        .spec
        .get("requestBody")
        .map(|b| &crate::spec::resolve(doc, b)["content"]["application/json"]["schema"])
        .map(|schema| value(rng, doc, schema, 0));
    let token = match (op.security_scheme(), rng.random_range(0..20)) {
        (_, 0) => None,
        (Some("operator"), _) => tokens.operator.clone(),
        (_, 1..=4) => Some(tokens.employee.clone()),
        _ => Some(tokens.hr_admin.clone()),
    };
    Case {
        // A method name from METHODS is always a valid token.
        method: Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap_or(Method::GET),
        path: concrete,
        body,
        token,
        idempotency_key,
    }
}
