//! Integration tests for gauntlet-scenarios: one binary, one module per area.

mod arrival;
mod builtins;
mod errors;
mod plan;
mod user_file;

/// A small valid spec the error tests start from; line numbers in the tests refer to it after
/// their edits, so keep it stable.
pub const VALID: &str = r#"version = 1
description = "test spec"
default_profile = "small"
thresholds = ["http.p95 < 300ms", "during fault: http.error_rate < 20%"]

[personas]
employee = 3
manager = 1
hr_admin = 1
prober = 0

[think_time]
min = "100ms"
max = "1s"

[[stages]]
name = "up"
kind = "ramp"
duration = "10s"
users = "100%"

[[stages]]
name = "hold"
kind = "hold"
duration = "20s"
users = 5
"#;
