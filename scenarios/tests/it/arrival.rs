//! Arrival-rate (open-model) stages: what they plan to, and errors that name line and field.

use std::time::Duration;

use gauntlet_scenarios::spec::{Problem, ProfileName, ScenarioSpec, SpecError};

const OPEN: &str = r#"version = 1
description = "open"

[[stages]]
name = "warm"
kind = "ramp"
duration = "10s"
to = "50/s"
max_users = 40

[[stages]]
name = "steady"
kind = "hold"
duration = "20s"
rate = "50/s"

[[stages]]
name = "jump"
kind = "spike"
duration = "5s"
rate = "3000/m"
max_users = "300%"
"#;

/// The (line, column, path, problem) of the error `text` must produce.
fn invalid(text: &str) -> (usize, usize, String, Problem) {
    match ScenarioSpec::from_toml_str(text, "o.toml").expect_err("must be rejected") {
        SpecError::Invalid {
            line,
            column,
            path,
            problem,
            ..
        } => (line, column, path, problem),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rate_stages_plan_to_a_schedule_of_plain_data() {
    let spec = ScenarioSpec::from_toml_str(OPEN, "o.toml").unwrap();
    let plan = spec.plan(ProfileName::Small, 1.0).unwrap();
    let open = plan.arrival_plan().expect("an open model");
    let shape: Vec<_> = open
        .stages
        .iter()
        .map(|s| (s.from_rps, s.to_rps, s.max_users, s.duration.as_secs()))
        .collect();
    // `from` defaults to where the previous stage ended (0 for the first); max_users to
    // 100% of the profile's peak (small: 20); "300%" is 60; 3000/m is 50/s.
    assert_eq!(
        shape,
        [
            (0.0, 50.0, 40, 10),
            (50.0, 50.0, 20, 20),
            (50.0, 50.0, 60, 5)
        ]
    );
    assert_eq!(open.pool(), 60);
    assert!(
        plan.stages.iter().all(|s| s.users == 60),
        "the pool is held"
    );
    assert_eq!(open.expected_iterations(), 250.0 + 1000.0 + 250.0);
    assert_eq!(open.end(), Duration::from_secs(35));
    // Scaled for CI like any other spec; a stage never under a second.
    let short = spec.plan(ProfileName::Small, 0.1).unwrap();
    let open = short.arrival_plan().unwrap();
    assert_eq!(open.end(), Duration::from_secs(1 + 2 + 1));
}

#[test]
fn a_stage_is_users_or_rate_and_a_scenario_is_one_model() {
    let (line, _, path, problem) = invalid(&OPEN.replace("rate = \"50/s\"", "rate = \"fast\""));
    assert_eq!((line, path.as_str()), (15, "stages[1].rate"));
    assert!(matches!(problem, Problem::InvalidRate { .. }), "{problem}");
    let (line, _, path, problem) =
        invalid(&OPEN.replace("rate = \"50/s\"", "rate = \"50/s\"\nusers = 3"));
    assert_eq!((line, path.as_str()), (16, "stages[1].users"));
    assert_eq!(problem, Problem::UsersAndRate);
    let (line, _, path, problem) =
        invalid(&OPEN.replace("rate = \"50/s\"", "rate = \"50/s\"\nto = \"9/s\""));
    assert_eq!((line, path.as_str()), (16, "stages[1].rate"));
    assert_eq!(problem, Problem::RateAndRamp);
    let (line, _, path, problem) = invalid(&OPEN.replace("to = \"50/s\"", "from = \"5/s\""));
    assert_eq!((line, path.as_str()), (8, "stages[0].to"));
    assert_eq!(problem, Problem::RampWithoutTo);
    let (line, _, path, problem) = invalid(&OPEN.replace("rate = \"50/s\"", "users = 5"));
    assert_eq!((line, path.as_str()), (12, "stages[1]"));
    assert!(
        problem.to_string().contains("either all users stages"),
        "{problem}"
    );
    let (line, _, path, problem) = invalid(&OPEN.replace("rate = \"50/s\"", ""));
    assert_eq!((line, path.as_str()), (12, "stages[1].users"));
    assert_eq!(problem, Problem::NoLoad);
    let (line, column, path, problem) = invalid(&OPEN.replace("max_users = 40", "max_users = 0"));
    assert_eq!(
        (line, column, path.as_str()),
        (9, 13, "stages[0].max_users")
    );
    assert!(matches!(problem, Problem::InvalidUsers { .. }), "{problem}");
}

#[test]
fn max_users_belongs_to_rate_stages_and_the_message_reads_well() {
    let users = "version = 1\ndescription = \"x\"\n\n[[stages]]\nname = \"a\"\nkind = \"hold\"\n\
                 duration = \"5s\"\nusers = 3\nmax_users = 9\n";
    let (line, _, path, problem) = invalid(users);
    assert_eq!((line, path.as_str()), (9, "stages[0].max_users"));
    assert_eq!(problem, Problem::MaxUsersWithoutRate);
    let err = ScenarioSpec::from_toml_str(&OPEN.replace("3000/m", "3000/h"), "o.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("o.toml:21:8: stages[2].rate: invalid rate \"3000/h\""),
        "{err}"
    );
}
