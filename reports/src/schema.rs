//! The JSON Schema of `report.json`, generated from the model types so it cannot drift from
//! them. The committed copy lives in `reports/schema/report.schema.json`; a test checks that it
//! equals [`json_schema_string`] and validates real reports against it.

use crate::model::Report;

/// The schema as a JSON value.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or(serde_json::Value::Null)
}

/// The schema as pretty-printed text with a trailing newline (the committed file's format).
pub fn json_schema_string() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
