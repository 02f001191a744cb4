//! What the document promises about a response, checked.

use serde_json::Value;

use crate::spec::{Operation, resolve};

/// What is wrong with one response (status, content type, body), if anything: a 5xx; a
/// status the operation does not document; a 4xx body that is not
/// `{"error":{"code","message"}}`; a JSON body that does not match the documented schema.
pub fn check(
    doc: &Value,
    op: &Operation,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let documented = &op.spec["responses"][status.to_string()];
    let documented = resolve(doc, documented);
    if status >= 500 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    if documented.is_null() {
        return Err(format!(
            "{status} is not documented: {}",
            String::from_utf8_lossy(body)
        ));
    }
    if !content_type.starts_with("application/json") {
        return Ok(());
    }
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| format!("{status}: body is not JSON although labelled so: {e}"))?;
    if status >= 400 && !(body["error"]["code"].is_string() && body["error"]["message"].is_string())
    {
        return Err(format!("{status}: not the error shape: {body}"));
    }
    match &documented["content"]["application/json"]["schema"] {
        Value::Null => Ok(()),
        schema => conforms(doc, schema, &body).map_err(|e| format!("{status}: {e}: {body}")),
    }
}

/// Validates `body` against `schema` (JSON Schema 2020-12, as OpenAPI 3.1 uses), with the
/// document's components reachable for `$ref`s.
pub fn conforms(doc: &Value, schema: &Value, body: &Value) -> Result<(), String> {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), doc["components"].clone());
    }
    let validator = jsonschema::validator_for(&root).map_err(|e| format!("schema: {e}"))?;
    match validator.iter_errors(body).next() {
        Some(e) => Err(format!(
            "does not match its schema at {}: {e}",
            e.instance_path
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::operations;

    fn doc() -> Value {
        json!({
            "paths": {"/things": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "400": {"content": {"application/json": {"schema": {"type": "object"}}}},
            }}}},
            "components": {"schemas": {"Thing": {
                "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}
            }}}
        })
    }

    #[test]
    fn documented_answers_pass_and_each_kind_of_broken_promise_is_named() {
        let doc = doc();
        let op = &operations(&doc)[0];
        let json = "application/json";
        assert_eq!(check(&doc, op, 200, json, br#"{"id":"x"}"#), Ok(()));
        let error = br#"{"error":{"code":"bad","message":"no"}}"#;
        assert_eq!(check(&doc, op, 400, json, error), Ok(()));

        let wrong_schema = check(&doc, op, 200, json, br#"{"id":7}"#).unwrap_err();
        assert!(
            wrong_schema.contains("does not match its schema"),
            "{wrong_schema}"
        );
        let undocumented = check(&doc, op, 404, json, error).unwrap_err();
        assert!(
            undocumented.contains("404 is not documented"),
            "{undocumented}"
        );
        let five = check(&doc, op, 500, json, error).unwrap_err();
        assert!(five.starts_with("500"), "{five}");
        let shape = check(&doc, op, 400, json, br#"{"message":"no"}"#).unwrap_err();
        assert!(shape.contains("not the error shape"), "{shape}");
        let not_json = check(&doc, op, 200, json, b"<html>").unwrap_err();
        assert!(not_json.contains("not JSON"), "{not_json}");
    }
}
