use std::time::Duration;

use gauntlet_scenarios::spec::{ProfileName, ScenarioSpec, StageKind, UserTarget};

use crate::VALID;

fn spec() -> ScenarioSpec {
    ScenarioSpec::from_toml_str(VALID, "plan.toml").unwrap()
}

#[test]
fn fractions_resolve_against_the_profile_peak_and_absolutes_stay() {
    let spec = spec();
    assert_eq!(spec.stages()[0].users, UserTarget::PeakFraction(1.0));
    assert_eq!(spec.stages()[1].users, UserTarget::Absolute(5));
    let plan = spec.plan(ProfileName::Medium, 1.0).unwrap();
    assert_eq!(plan.size, ProfileName::Medium.default_size());
    assert_eq!(plan.stages[0].users, plan.size.peak_users);
    assert_eq!(plan.stages[0].from_users, 0);
    assert_eq!(plan.stages[1].users, 5);
    assert_eq!(plan.stages[1].from_users, plan.size.peak_users);
    assert_eq!(plan.peak_users, plan.size.peak_users);
}

#[test]
fn stages_are_back_to_back_and_scaled_with_a_one_second_floor() {
    let plan = spec().plan(ProfileName::Small, 0.05).unwrap();
    // 10 s × 0.05 = 0.5 s → raised to 1 s; 20 s × 0.05 = 1 s.
    assert_eq!(plan.stages[0].start, Duration::ZERO);
    assert_eq!(plan.stages[0].duration, Duration::from_secs(1));
    assert_eq!(plan.stages[1].start, plan.stages[0].end());
    assert_eq!(plan.stages[1].duration, Duration::from_secs(1));
    assert_eq!(plan.total_duration, Duration::from_secs(2));

    let plan = spec().plan(ProfileName::Small, 0.5).unwrap();
    assert_eq!(plan.stages[0].duration, Duration::from_secs(5));
    assert_eq!(plan.total_duration, Duration::from_secs(15));
    assert_eq!(
        plan.think_time,
        spec().think_time(),
        "think time is never scaled"
    );
}

#[test]
fn persona_weights_are_normalised() {
    let plan = spec().plan(ProfileName::Small, 1.0).unwrap();
    assert!((plan.personas.employee - 0.6).abs() < 1e-12);
    assert!((plan.personas.manager - 0.2).abs() < 1e-12);
    assert!((plan.personas.hr_admin - 0.2).abs() < 1e-12);
    assert_eq!(plan.personas.prober, 0.0);
}

#[test]
fn profile_overrides_replace_only_the_fields_given() {
    let text = format!("{VALID}\n[profiles.enterprise]\npeak_users = 1500\n");
    let spec = ScenarioSpec::from_toml_str(&text, "o.toml").unwrap();
    let size = spec.profile(ProfileName::Enterprise);
    assert_eq!(size.peak_users, 1500);
    assert_eq!(size.tenants, ProfileName::Enterprise.default_size().tenants);
    assert_eq!(
        spec.profile(ProfileName::Small),
        ProfileName::Small.default_size()
    );
    let plan = spec.plan(ProfileName::Enterprise, 1.0).unwrap();
    assert_eq!(plan.peak_users, 1500);
}

#[test]
fn small_fractions_never_plan_zero_users() {
    let text = VALID.replacen("users = \"100%\"", "users = \"1%\"", 1);
    let spec = ScenarioSpec::from_toml_str(&text, "f.toml").unwrap();
    let plan = spec.plan(ProfileName::Small, 1.0).unwrap();
    assert_eq!(plan.stages[0].users, 1);
}

#[test]
fn chaos_entries_keep_attributes_and_scale_their_timing() {
    let chaos = r#"
[[chaos]]
fault = "latency"
target = "postgres"
start = "10s"
duration = "10s"
attributes = { latency = 200, jitter = 50, stream = "downstream" }
"#;
    let spec = ScenarioSpec::from_toml_str(&format!("{VALID}{chaos}"), "c.toml").unwrap();
    let fault = &spec.chaos()[0];
    assert_eq!(
        (fault.fault.type_name(), fault.target.as_str()),
        ("latency", "postgres")
    );
    assert_eq!(fault.attributes["latency"], "200");
    assert_eq!(fault.attributes["jitter"], "50");
    let plan = spec.plan(ProfileName::Small, 0.5).unwrap();
    assert_eq!(plan.chaos[0].start, Duration::from_secs(5));
    assert_eq!(plan.chaos[0].duration, Duration::from_secs(5));
    assert_eq!(plan.chaos[0].attributes, fault.attributes);
    assert!(plan.chaos[0].start < plan.total_duration);
}

#[test]
fn thresholds_keep_text_and_map_back_to_line_and_column() {
    let spec = spec();
    let texts: Vec<&str> = spec.thresholds().iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        ["http.p95 < 300ms", "during fault: http.error_rate < 20%"]
    );
    let second = &spec.thresholds()[1];
    // Line 4 is `thresholds = ["http.p95 < 300ms", "during fault: ..."]`; the literal opens
    // at column 35, so its text starts at column 36.
    assert_eq!(spec.line_column(second.span.start), (4, 35));
    let colon = second.text.find(':').unwrap();
    assert_eq!(
        spec.line_column(second.source_offset(colon)),
        (4, 36 + colon)
    );
    assert_eq!(spec.describe_position(second.span.start), "plan.toml:4:35");
}

#[test]
fn stage_kinds_parse_with_snake_case_names() {
    let text = VALID.replacen("kind = \"hold\"", "kind = \"ramp_down\"", 1);
    let spec = ScenarioSpec::from_toml_str(&text, "k.toml").unwrap();
    assert_eq!(spec.stages()[1].kind, StageKind::RampDown);
    assert!(spec.stages()[1].kind.is_gradual());
}

#[test]
fn chaos_attributes_may_be_written_as_a_sub_table() {
    let chaos = r#"
[[chaos]]
fault = "latency"
target = "redis"
start = "15s"
duration = "5s"

[chaos.attributes]
latency = 100
toxicity = 0.5

[[chaos]]
fault = "restart"
target = "postgres"
start = "20s"
duration = "1s"
"#;
    let spec = ScenarioSpec::from_toml_str(&format!("{VALID}{chaos}"), "c.toml").unwrap();
    assert_eq!(spec.chaos().len(), 2);
    assert_eq!(spec.chaos()[0].attributes["toxicity"], "0.5");
    assert!(spec.chaos()[1].attributes.is_empty());
    assert_eq!(spec.chaos()[1].start, Duration::from_secs(20));
}

#[test]
fn a_spec_declares_what_it_is_for_and_its_name_does_not() {
    use gauntlet_scenarios::spec::ScenarioKind;
    // VALID declares no kind: it is load, whatever it is called.
    let unnamed = ScenarioSpec::from_toml_str(VALID, "stress.toml").unwrap();
    assert_eq!(unnamed.kind(), ScenarioKind::Load);
    let text = VALID.replacen(
        "default_profile = \"small\"",
        "default_profile = \"small\"\nkind = \"stress\"",
        1,
    );
    let declared = ScenarioSpec::from_toml_str(&text, "steps.toml").unwrap();
    assert_eq!(declared.kind(), ScenarioKind::Stress);
    let plan = declared.plan(ProfileName::Small, 0.1).unwrap();
    assert_eq!(plan.kind, ScenarioKind::Stress);
    for (name, kind) in [
        ("smoke", ScenarioKind::Smoke),
        ("load", ScenarioKind::Load),
        ("stress", ScenarioKind::Stress),
        ("spike", ScenarioKind::Spike),
        ("endurance", ScenarioKind::Endurance),
        ("pg-kill", ScenarioKind::Load),
    ] {
        assert_eq!(ScenarioSpec::load(name).unwrap().kind(), kind, "{name}");
    }
    let soak = VALID.replacen(
        "default_profile = \"small\"",
        "default_profile = \"small\"\nkind = \"soak\"",
        1,
    );
    assert!(ScenarioSpec::from_toml_str(&soak, "soak.toml").is_err());
}
