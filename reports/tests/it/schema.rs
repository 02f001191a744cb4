//! report.json is guarded by the committed JSON Schema (oha-style): the committed file equals
//! the schema generated from the types, and real reports validate against the committed file.

use std::path::PathBuf;

use gauntlet_reports::SCHEMA_VERSION;
use gauntlet_reports::model::Report;
use gauntlet_reports::render;
use gauntlet_reports::schema::json_schema_string;

use crate::support::{realistic_report, run_info};

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json")
}

fn committed_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path()).expect("committed schema is readable");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("committed schema is JSON");
    jsonschema::validator_for(&schema).expect("committed schema is a valid JSON Schema")
}

fn errors_of(v: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = json_schema_string();
    if std::env::var_os("GAUNTLET_UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).expect("schema written");
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "reports/schema/report.schema.json is stale; regenerate with GAUNTLET_UPDATE_SCHEMA=1 cargo test -p gauntlet-reports"
    );
}

#[test]
fn realistic_report_validates_against_committed_schema() {
    let json = render::json(&realistic_report()).unwrap();
    let instance: serde_json::Value = serde_json::from_str(&json).unwrap();
    let errors = errors_of(&committed_validator(), &instance);
    assert!(errors.is_empty(), "schema errors: {errors:#?}");
    assert_eq!(instance["schema_version"], SCHEMA_VERSION);
    assert_eq!(instance["histogram_format"]["significant_digits"], 3);
}

#[test]
fn empty_report_has_every_section_and_validates() {
    let instance = serde_json::to_value(Report::empty(run_info("smoke"))).unwrap();
    for key in [
        "verdict",
        "stages",
        "phases",
        "thresholds",
        "endpoints",
        "series",
        "probes",
        "chaos",
        "ledger",
        "alerts",
        "resources",
        "scenario_results",
    ] {
        assert!(instance.get(key).is_some(), "section {key} missing");
    }
    assert!(errors_of(&committed_validator(), &instance).is_empty());
}

#[test]
fn schema_rejects_a_report_without_verdict_or_with_a_bad_verdict() {
    let v = committed_validator();
    let mut missing = serde_json::to_value(realistic_report()).unwrap();
    missing.as_object_mut().unwrap().remove("verdict");
    assert!(!errors_of(&v, &missing).is_empty());
    let mut bad = serde_json::to_value(realistic_report()).unwrap();
    bad["verdict"] = serde_json::json!("maybe");
    assert!(!errors_of(&v, &bad).is_empty());
}

#[test]
fn json_round_trips_and_refuses_other_versions() {
    let report = realistic_report();
    let text = render::json(&report).unwrap();
    assert_eq!(render::from_json(&text).unwrap(), report);
    let current = format!("\"schema_version\": {SCHEMA_VERSION}");
    assert!(text.contains(&current), "{text}");
    let other = text.replacen(&current, "\"schema_version\": 99", 1);
    assert!(matches!(
        render::from_json(&other),
        Err(render::ReportParseError::UnsupportedVersion { found: 99, .. })
    ));
}

fn verify_schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/verify.schema.json")
}

/// `gauntlet verify`'s report.json is guarded the same way: the committed schema equals the
/// generated one, and a report with every outcome validates against it.
#[test]
fn committed_verify_schema_matches_the_types_and_a_report_validates() {
    use gauntlet_reports::verify::{
        CheckOutcome, CheckResult, VERIFY_SCHEMA_VERSION, VerifyMode, VerifyReport,
        json_schema_string as verify_schema,
    };
    let generated = verify_schema();
    if std::env::var_os("GAUNTLET_UPDATE_SCHEMA").is_some() {
        std::fs::write(verify_schema_path(), &generated).expect("schema written");
    }
    let committed = std::fs::read_to_string(verify_schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "reports/schema/verify.schema.json is stale; regenerate with GAUNTLET_UPDATE_SCHEMA=1 cargo test -p gauntlet-reports"
    );
    let check = |name: &str, outcome| CheckResult {
        name: name.into(),
        proves: "something".into(),
        outcome,
        summary: "why".into(),
        evidence: vec!["GET /health/live → 200".into()],
        duration_us: 1_000,
    };
    let checks = vec![
        check("health.live", CheckOutcome::Pass),
        check("http.body_limit", CheckOutcome::Fail),
        check("backup.recent", CheckOutcome::Skipped),
    ];
    let report = VerifyReport {
        schema_version: VERIFY_SCHEMA_VERSION,
        verdict: VerifyReport::judge(&checks),
        target: "http://127.0.0.1:1".into(),
        mode: VerifyMode::Local,
        backend: None,
        defects: vec![],
        command_line: vec!["gauntlet".into(), "verify".into()],
        started_at_unix_us: 1,
        duration_us: 2,
        checks,
    };
    assert_eq!(report.verdict, gauntlet_reports::Verdict::Fail);
    let schema: serde_json::Value = serde_json::from_str(&committed).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let instance: serde_json::Value =
        serde_json::from_str(&render::verify::json(&report).unwrap()).unwrap();
    let errors = errors_of(&validator, &instance);
    assert!(errors.is_empty(), "schema errors: {errors:#?}");
    // Every format names every check; JUnit marks the skipped one skipped.
    let md = render::verify::markdown(&report);
    let html = render::verify::html(&report);
    let junit = render::verify::junit(&report).unwrap();
    for name in ["health.live", "http.body_limit", "backup.recent"] {
        assert!(
            md.contains(&name.replace('_', "\\_")),
            "{name} in md:\n{md}"
        );
        assert!(html.contains(name) && junit.contains(name), "{name}");
    }
    assert!(junit.contains("<skipped"), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
}
