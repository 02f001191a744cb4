use gauntlet_scenarios::spec::{ProfileName, ScenarioSpec, SpecError};

use crate::VALID;

#[test]
fn a_user_file_loads_by_path_like_a_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkout.toml");
    std::fs::write(&path, VALID).unwrap();

    let from_path = ScenarioSpec::load(path.to_str().unwrap()).unwrap();
    let from_text = ScenarioSpec::from_toml_str(VALID, "checkout.toml").unwrap();
    assert_eq!(from_path.name(), "checkout");
    assert_eq!(from_path.origin(), path.display().to_string());
    assert_eq!(from_path.source(), VALID);
    assert_eq!(from_path.stages(), from_text.stages());
    assert_eq!(from_path.thresholds(), from_text.thresholds());
    assert_eq!(from_path.plan(ProfileName::Medium, 0.05).unwrap(), {
        let mut plan = from_text.plan(ProfileName::Medium, 0.05).unwrap();
        plan.scenario = "checkout".into();
        plan
    });
}

#[test]
fn a_builtin_copied_to_a_file_loads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.toml");
    let builtin = ScenarioSpec::load("load").unwrap();
    std::fs::write(&path, builtin.source()).unwrap();
    let copy = ScenarioSpec::load_path(&path).unwrap();
    assert_eq!(copy.stages(), builtin.stages());
    assert_eq!(
        copy.plan(ProfileName::Enterprise, 1.0).unwrap(),
        builtin.plan(ProfileName::Enterprise, 1.0).unwrap()
    );
}

#[test]
fn errors_in_a_user_file_name_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        VALID.replacen("duration = \"20s\"", "duration = \"5 parsecs\"", 1),
    )
    .unwrap();
    let err = ScenarioSpec::load(path.to_str().unwrap()).unwrap_err();
    let expected = format!("{}:25:12: stages[1].duration: ", path.display());
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let err = ScenarioSpec::load(path.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.toml"), "{err}");
}
