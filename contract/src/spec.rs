//! Reading an OpenAPI 3.1 document as plain JSON: its operations and its local `$ref`s.
//!
//! Plain `serde_json::Value` rather than a typed OpenAPI model: the fuzzer needs a handful of
//! keywords (`parameters`, `requestBody`, `responses`, `security`, the JSON Schema keywords),
//! and must keep working on documents a typed model would refuse over a field it does not
//! care about.

use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold operations for, in a stable order.
pub const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// One operation of a document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The path template, e.g. `/employees/{id}`.
    pub path: String,
    /// Lower-case method, e.g. `get`.
    pub method: String,
    /// The operation object.
    pub spec: Value,
}

impl Operation {
    /// `GET /employees/{id}`.
    pub fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    /// The security scheme the operation requires first, if any (`bearer`, `operator`, …).
    pub fn security_scheme(&self) -> Option<&str> {
        self.spec["security"][0]
            .as_object()
            .and_then(|s| s.keys().next())
            .map(String::as_str)
    }
}

/// Every operation of `doc`, in path order and then [`METHODS`] order.
pub fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    // Sorted here, not by the map: with serde_json's `preserve_order` anywhere in a build the
    // document's own order would leak in, and a seed must replay the same requests.
    let mut paths: Vec<_> = doc["paths"].as_object().into_iter().flatten().collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push(Operation {
                    path: path.clone(),
                    method: method.to_owned(),
                    spec: op.clone(),
                });
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/schemas/X`) to what it points at; a dangling one,
/// or a chain of more than 16 (a document may point a schema at itself), resolves to `null`.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(pointer) => {
                current = pointer
                    .strip_prefix('#')
                    .and_then(|p| doc.pointer(p))
                    .unwrap_or(&Value::Null);
            }
            None => return current,
        }
    }
    &Value::Null
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_are_followed_and_loops_end() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "string"},
            "Loop": {"$ref": "#/components/schemas/Loop"},
        }}});
        let a = json!({"$ref": "#/components/schemas/A"});
        assert_eq!(resolve(&doc, &a), &json!({"type": "string"}));
        let missing = json!({"$ref": "#/components/schemas/Missing"});
        assert_eq!(resolve(&doc, &missing), &Value::Null);
        let looping = json!({"$ref": "#/components/schemas/Loop"});
        assert_eq!(resolve(&doc, &looping), &Value::Null);
    }

    #[test]
    fn operations_come_in_path_then_method_order_with_their_security() {
        let doc = json!({"paths": {
            "/b": {"post": {"security": [{"bearer": []}]}, "get": {}},
            "/a": {"delete": {}},
        }});
        let names: Vec<_> = operations(&doc).iter().map(Operation::name).collect();
        assert_eq!(names, ["DELETE /a", "GET /b", "POST /b"]);
        assert_eq!(operations(&doc)[2].security_scheme(), Some("bearer"));
        assert_eq!(operations(&doc)[1].security_scheme(), None);
    }
}
