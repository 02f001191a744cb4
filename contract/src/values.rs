//! Values drawn from an OpenAPI schema by a seeded generator: mostly valid (so requests get
//! past the first check and reach the handlers), sometimes just outside a limit, sometimes
//! of the wrong type. Strings come from all of Unicode, control characters and U+0000
//! included, weighted towards the characters that break things.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::spec::resolve;

/// One character from all of Unicode (no surrogates: a Rust string cannot hold them),
/// a third of the time a control character or NUL.
pub fn any_char(rng: &mut StdRng) -> char {
    loop {
        let code = match rng.random_range(0..12) {
            0 => 0,
            1 | 2 => rng.random_range(0..0x20),
            3 => rng.random_range(0x7F..0xA0),
            4 => [0x200B, 0x202E, 0xFEFF, 0xFFFD, 0xFFFF, 0x1F600][rng.random_range(0..6)],
            5..=7 => rng.random_range(0x20..0x7F),
            8 => rng.random_range(0x10000..=0x10FFFF),
            _ => rng.random_range(0xA0..0x10000),
        };
        if let Some(c) = char::from_u32(code) {
            return c;
        }
    }
}

/// A string of `len` characters from [`any_char`].
pub fn any_string(rng: &mut StdRng, len: usize) -> String {
    (0..len).map(|_| any_char(rng)).collect()
}

/// A length near the schema's limits: inside mostly, one past sometimes.
fn length(rng: &mut StdRng, schema: &Value) -> usize {
    let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
    let max = schema["maxLength"].as_u64().unwrap_or(24) as usize;
    match rng.random_range(0..10) {
        0 => max + 1,
        1 => min.saturating_sub(1),
        2 => max,
        _ => rng.random_range(min..=max.min(min + 24)),
    }
}

fn string(rng: &mut StdRng, schema: &Value) -> Value {
    let format = schema["format"].as_str().unwrap_or_default();
    let valid = rng.random_bool(0.7);
    let text = match format {
        "uuid" if valid => uuid::Uuid::from_u128(rng.random()).to_string(),
        "date" if valid => format!(
            "20{:02}-{:02}-{:02}",
            rng.random_range(20..30),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        ),
        "date-time" if valid => "2026-05-01T10:00:00Z".to_owned(),
        "email" if valid => format!(
            "{}@fuzz.example.com",
            any_string(rng, 6).replace(['@', ' '], "")
        ),
        _ if valid && !schema["maxLength"].is_null() => {
            // Printable text within the limits, so the request gets past the validators.
            (0..length(rng, schema).max(1))
                .map(|_| char::from(rng.random_range(b'a'..=b'z')))
                .collect()
        }
        _ => {
            let len = length(rng, schema);
            any_string(rng, len)
        }
    };
    Value::String(text)
}

fn integer(rng: &mut StdRng, schema: &Value) -> Value {
    let min = schema["minimum"].as_i64().unwrap_or(-5);
    let max = schema["maximum"].as_i64().unwrap_or(1_000);
    json!(match rng.random_range(0..10) {
        0 => max.saturating_add(1),
        1 => min.saturating_sub(1),
        2 => [i64::MIN, i64::MAX, 0, -1][rng.random_range(0..4)],
        _ => rng.random_range(min..=max.min(min.saturating_add(50))),
    })
}

/// The types a schema admits (`type` may be a string or a list).
fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value for `schema` (resolved against `doc`), `depth` bounding recursion.
pub fn value(rng: &mut StdRng, doc: &Value, schema: &Value, depth: u32) -> Value {
    let schema = resolve(doc, schema);
    if depth > 4 {
        return Value::Null;
    }
    if rng.random_range(0..25) == 0 {
        // The wrong type altogether.
        return [json!(true), json!(17), json!("x"), json!([]), json!({})][rng.random_range(0..5)]
            .clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array().filter(|o| !o.is_empty()) {
            let choice = &options[rng.random_range(0..options.len())];
            return value(rng, doc, choice, depth + 1);
        }
    }
    if let Some(options) = schema["enum"].as_array().filter(|o| !o.is_empty()) {
        if rng.random_bool(0.85) {
            return options[rng.random_range(0..options.len())].clone();
        }
        return string(rng, &json!({}));
    }
    let kinds = types(schema);
    let kind = if kinds.is_empty() {
        "object".to_owned()
    } else {
        kinds[rng.random_range(0..kinds.len())].clone()
    };
    match kind.as_str() {
        "null" => Value::Null,
        "boolean" => json!(rng.random_bool(0.5)),
        "integer" => integer(rng, schema),
        "number" => json!(rng.random_range(-10.0..1_000.0)),
        "string" => string(rng, schema),
        "array" => {
            let n = rng.random_range(0..3);
            Value::Array(
                (0..n)
                    .map(|_| value(rng, doc, &schema["items"], depth + 1))
                    .collect(),
            )
        }
        _ => object(rng, doc, schema, depth),
    }
}

fn object(rng: &mut StdRng, doc: &Value, schema: &Value, depth: u32) -> Value {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let keep = if required.contains(&name.as_str()) {
                rng.random_bool(0.95)
            } else {
                rng.random_bool(0.5)
            };
            if keep {
                out.insert(name.clone(), value(rng, doc, property, depth + 1));
            }
        }
    }
    if rng.random_range(0..15) == 0 {
        let len = rng.random_range(1..6);
        out.insert(any_string(rng, len), json!(1));
    }
    Value::Object(out)
}

/// A query-string value for a parameter schema: scalars as text.
pub fn query_value(rng: &mut StdRng, doc: &Value, schema: &Value) -> String {
    match value(rng, doc, schema, 0) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Picks one of `items` (which must not be empty).
pub fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
