//! Each kind of malformed spec must name the file, the line, the column and the field.

use gauntlet_scenarios::spec::{Problem, ProfileName, ScenarioSpec, SpecError};

use crate::VALID;

const ORIGIN: &str = "scenarios/my.toml";

/// Replaces exactly one occurrence, so a typo in a test cannot silently test VALID itself.
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        VALID.matches(from).count(),
        1,
        "{from:?} must occur once in VALID"
    );
    VALID.replacen(from, to, 1)
}

struct Found {
    line: usize,
    column: usize,
    path: String,
    problem: Problem,
    display: String,
}

fn invalid(text: &str) -> Found {
    let err = ScenarioSpec::from_toml_str(text, ORIGIN).expect_err("spec must be rejected");
    let display = err.to_string();
    match err {
        SpecError::Invalid {
            origin,
            line,
            column,
            path,
            problem,
        } => {
            assert_eq!(origin, ORIGIN);
            assert!(
                display.starts_with(&format!("{ORIGIN}:{line}:{column}: ")),
                "{display}"
            );
            Found {
                line,
                column,
                path,
                problem,
                display,
            }
        }
        other => panic!("expected SpecError::Invalid, got {other:?}"),
    }
}

fn schema_detail(found: &Found) -> &str {
    match &found.problem {
        Problem::Schema { detail } => detail,
        other => panic!(
            "expected a schema problem, got {other:?} ({})",
            found.display
        ),
    }
}

#[test]
fn the_valid_base_spec_parses() {
    let spec = ScenarioSpec::from_toml_str(VALID, ORIGIN).unwrap();
    assert_eq!(spec.name(), "my");
    assert_eq!(spec.stages().len(), 2);
}

#[test]
fn syntax_error_names_line_and_enclosing_field() {
    let found = invalid(&edit("kind = \"ramp\"", "kind = = \"ramp\""));
    assert_eq!(found.line, 18, "{}", found.display);
    assert_eq!(found.column, 8, "{}", found.display);
    assert!(found.path.starts_with("stages"), "{}", found.display);
    assert!(
        matches!(found.problem, Problem::Syntax { .. }),
        "{}",
        found.display
    );
}

#[test]
fn unterminated_string_is_a_syntax_error_on_its_line() {
    let found = invalid(&edit("max = \"1s\"", "max = \"1s"));
    assert_eq!(found.line, 14, "{}", found.display);
    assert!(found.path.starts_with("think_time"), "{}", found.display);
    assert!(
        matches!(found.problem, Problem::Syntax { .. }),
        "{}",
        found.display
    );
}

#[test]
fn unknown_field_names_its_own_line_and_path() {
    let found = invalid(&edit("users = 5", "users = 5\ncolour = \"red\""));
    assert_eq!((found.line, found.column), (27, 1), "{}", found.display);
    assert_eq!(found.path, "stages[1].colour");
    assert!(
        schema_detail(&found).contains("unknown field `colour`"),
        "{}",
        found.display
    );
}

#[test]
fn unknown_top_level_field_is_rejected() {
    let found = invalid(&edit(
        "default_profile",
        "duration_scale = 2.0\ndefault_profile",
    ));
    assert_eq!((found.line, found.column), (3, 1), "{}", found.display);
    assert_eq!(found.path, "duration_scale");
    assert!(
        schema_detail(&found).contains("unknown field"),
        "{}",
        found.display
    );
}

#[test]
fn bad_duration_reads_like_the_documented_message() {
    let found = invalid(&edit("duration = \"20s\"", "duration = \"5 parsecs\""));
    assert_eq!((found.line, found.column), (25, 12), "{}", found.display);
    assert_eq!(found.path, "stages[1].duration");
    assert!(
        found.display.starts_with(
            "scenarios/my.toml:25:12: stages[1].duration: invalid duration \"5 parsecs\""
        ),
        "{}",
        found.display
    );
    assert!(matches!(found.problem, Problem::InvalidDuration { .. }));
}

#[test]
fn zero_duration_is_rejected() {
    let found = invalid(&edit("duration = \"10s\"", "duration = \"0s\""));
    assert_eq!(
        (found.line, found.path.as_str()),
        (19, "stages[0].duration")
    );
    assert_eq!(found.problem, Problem::ZeroDuration);
}

#[test]
fn all_zero_weights_point_at_the_personas_table() {
    let text = edit(
        "employee = 3\nmanager = 1\nhr_admin = 1",
        "employee = 0\nmanager = 0\nhr_admin = 0",
    );
    let found = invalid(&text);
    assert_eq!(found.line, 6, "{}", found.display);
    assert_eq!(found.path, "personas");
    assert_eq!(found.problem, Problem::ZeroWeights);
}

#[test]
fn negative_weight_is_a_typed_range_error() {
    let found = invalid(&edit("manager = 1", "manager = -1"));
    assert_eq!((found.line, found.column), (8, 11), "{}", found.display);
    assert_eq!(found.path, "personas.manager");
    schema_detail(&found);
}

#[test]
fn unknown_default_profile_is_rejected() {
    let found = invalid(&edit(
        "default_profile = \"small\"",
        "default_profile = \"huge\"",
    ));
    assert_eq!((found.line, found.column), (3, 19), "{}", found.display);
    assert_eq!(found.path, "default_profile");
    assert!(
        schema_detail(&found).contains("unknown variant `huge`"),
        "{}",
        found.display
    );
}

#[test]
fn unknown_profile_override_is_rejected() {
    let found = invalid(&format!("{VALID}\n[profiles.huge]\npeak_users = 5\n"));
    assert_eq!(found.line, 28, "{}", found.display);
    assert_eq!(found.path, "profiles.huge");
    assert!(
        schema_detail(&found).contains("unknown field `huge`"),
        "{}",
        found.display
    );
}

#[test]
fn unknown_profile_name_from_a_flag_is_rejected() {
    let err = "huge".parse::<ProfileName>().unwrap_err();
    assert!(matches!(err, SpecError::UnknownProfile { ref name } if name == "huge"));
    assert_eq!(
        "enterprise".parse::<ProfileName>().unwrap(),
        ProfileName::Enterprise
    );
}

#[test]
fn zero_peak_users_override_is_rejected() {
    let found = invalid(&format!("{VALID}\n[profiles.enterprise]\npeak_users = 0\n"));
    assert_eq!((found.line, found.column), (29, 14), "{}", found.display);
    assert_eq!(found.path, "profiles.enterprise.peak_users");
    schema_detail(&found);
}

#[test]
fn unknown_stage_kind_is_rejected() {
    let found = invalid(&edit("kind = \"ramp\"", "kind = \"teleport\""));
    assert_eq!((found.line, found.column), (18, 8), "{}", found.display);
    assert_eq!(found.path, "stages[0].kind");
    assert!(
        schema_detail(&found).contains("unknown variant `teleport`"),
        "{}",
        found.display
    );
}

#[test]
fn zero_negative_and_malformed_user_counts_are_rejected() {
    for bad in [
        "0",
        "-3",
        "\"0%\"",
        "\"lots\"",
        "\"NaN%\"",
        "2.5",
        "\"20000%\"",
    ] {
        let found = invalid(&edit("users = 5", &format!("users = {bad}")));
        assert_eq!(
            (found.line, found.column),
            (26, 9),
            "{bad}: {}",
            found.display
        );
        assert_eq!(found.path, "stages[1].users", "{bad}");
        assert!(
            matches!(found.problem, Problem::InvalidUsers { .. }),
            "{bad}: {}",
            found.display
        );
    }
}

#[test]
fn wrong_type_names_the_field() {
    let found = invalid(&edit("name = \"up\"", "name = 3"));
    assert_eq!((found.line, found.column), (17, 8), "{}", found.display);
    assert_eq!(found.path, "stages[0].name");
    assert!(
        schema_detail(&found).contains("invalid type"),
        "{}",
        found.display
    );
}

#[test]
fn missing_field_names_the_field_inside_its_table() {
    let found = invalid(&edit("kind = \"hold\"\n", ""));
    assert_eq!(found.line, 22, "{}", found.display);
    assert_eq!(found.path, "stages[1].kind");
    assert!(
        schema_detail(&found).contains("missing field"),
        "{}",
        found.display
    );
}

#[test]
fn unsupported_version_wins_over_unknown_fields() {
    let found = invalid(&edit("version = 1", "version = 2\nteleporters = true"));
    assert_eq!((found.line, found.column), (1, 11), "{}", found.display);
    assert_eq!(found.path, "version");
    assert_eq!(
        found.problem,
        Problem::UnsupportedVersion { found: "2".into() }
    );
    assert!(
        found.display.contains("understands version 1"),
        "{}",
        found.display
    );
}

#[test]
fn missing_version_is_explained() {
    let found = invalid(&edit("version = 1\n", ""));
    assert_eq!((found.line, found.column), (1, 1));
    assert_eq!(found.path, "version");
    assert_eq!(found.problem, Problem::MissingVersion);
}

#[test]
fn inverted_think_time_is_rejected() {
    let found = invalid(&edit("min = \"100ms\"", "min = \"5s\""));
    assert_eq!((found.line, found.path.as_str()), (13, "think_time.min"));
    assert!(matches!(found.problem, Problem::ThinkTimeInverted { .. }));
}

#[test]
fn chaos_fault_after_the_last_stage_is_rejected() {
    let chaos = "\n[[chaos]]\nfault = \"latency\"\ntarget = \"postgres\"\nstart = \"31s\"\nduration = \"5s\"\n";
    let found = invalid(&format!("{VALID}{chaos}"));
    assert_eq!((found.line, found.column), (31, 9), "{}", found.display);
    assert_eq!(found.path, "chaos[0].start");
    assert!(matches!(found.problem, Problem::FaultAfterEnd { .. }));
}

#[test]
fn bad_duration_scale_is_rejected() {
    let spec = ScenarioSpec::from_toml_str(VALID, ORIGIN).unwrap();
    for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = spec.plan(ProfileName::Small, scale).unwrap_err();
        assert!(
            matches!(err, SpecError::InvalidScale { .. }),
            "{scale}: {err:?}"
        );
        assert!(err.to_string().starts_with(ORIGIN), "{err}");
        assert!(err.to_string().contains("duration_scale"), "{err}");
    }
}

#[test]
fn unknown_builtin_name_lists_the_known_ones() {
    let err = ScenarioSpec::load("soak").unwrap_err();
    assert!(matches!(err, SpecError::UnknownScenario { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("smoke, load, stress, spike, endurance"),
        "{err}"
    );
}

/// A spec of one 10 s stage and one `[[chaos]]` entry whose body (from line 9) is `chaos`.
fn one_fault(chaos: &str) -> Result<ScenarioSpec, SpecError> {
    let text = format!(
        "version = 1\ndescription = \"x\"\n[[stages]]\nname = \"a\"\nkind = \"hold\"\n\
         duration = \"10s\"\nusers = 1\n[[chaos]]\n{chaos}"
    );
    ScenarioSpec::from_toml_str(&text, "t.toml")
}

#[test]
fn unknown_fault_target_or_attribute_names_line_and_field() {
    let cases = [
        (
            "fault = \"lag\"\ntarget = \"redis\"\nstart = \"1s\"\nduration = \"1s\"\n",
            "t.toml:9:",
            "chaos[0].fault",
        ),
        (
            "fault = \"down\"\ntarget = \"mysql\"\nstart = \"1s\"\nduration = \"1s\"\n",
            "t.toml:9:",
            "chaos[0].target",
        ),
        (
            "fault = \"latency\"\ntarget = \"redis\"\nstart = \"1s\"\nduration = \"1s\"\n\
             attributes = { latency = -5 }\n",
            "t.toml:13:",
            "chaos[0].attributes.latency",
        ),
    ];
    for (chaos, position, field) in cases {
        let err = one_fault(chaos).expect_err(chaos).to_string();
        assert!(err.starts_with(position), "{err}");
        assert!(err.contains(field), "{err}");
    }
}

/// VALID (30 s of stages, 36 lines) with a `[drill]` table starting on line 37.
fn with_drill(drill: &str) -> Result<ScenarioSpec, SpecError> {
    ScenarioSpec::from_toml_str(&format!("{VALID}\n[drill]\n{drill}"), ORIGIN)
}

#[test]
fn a_drill_parses_and_its_mistakes_name_line_and_field() {
    let base = "strategy = \"basebackup+wal\"\nbackup_every = \"10s\"\n\
                archive_timeout = \"2s\"\ndisaster = \"bad_delete\"\ndisaster_at = \"20s\"\n";
    let spec = with_drill(base).expect("a valid drill");
    let drill = spec.drill().expect("the drill");
    assert_eq!(drill.archive_timeout, std::time::Duration::from_secs(2));
    assert_eq!(drill.disaster_at, std::time::Duration::from_secs(20));
    let cases = [
        (
            base.replace("\"20s\"", "\"40s\""),
            "drill.disaster_at",
            "before the stages end",
        ),
        (
            base.replace("\"2s\"", "\"1500ms\""),
            "drill.archive_timeout",
            "whole seconds",
        ),
        (
            base.replace("basebackup+wal", "pg_dump"),
            "drill.archive_timeout",
            "only applies to strategy",
        ),
        (
            base.replace("bad_delete", "meteor"),
            "drill",
            "unknown variant `meteor`",
        ),
        (
            base.replace("\"10s\"", "\"0s\""),
            "drill.backup_every",
            "zero",
        ),
    ];
    for (text, field, says) in cases {
        let err = with_drill(&text).expect_err(&text).to_string();
        assert!(err.starts_with(&format!("{ORIGIN}:")), "{err}");
        assert!(err.contains(field), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
