use std::time::Duration;

use gauntlet_scenarios::builtin;
use gauntlet_scenarios::spec::{ProfileName, ScenarioSpec, StageKind};

const NAMES: [&str; 21] = [
    "smoke",
    "load",
    "stress",
    "spike",
    "endurance",
    "volume",
    "stress-remote-db",
    "stress-rate",
    "spike-rate",
    "pg-latency",
    "pg-kill",
    "redis-down",
    "redis-pause",
    "pg-reset",
    "service-kill",
    "durability",
    "backup-restore",
    "pg-pool-exhaustion",
    "tenant-flood",
    "pg-disk-fill",
    "payroll-backlog",
];

#[test]
fn every_builtin_states_which_alerts_it_must_fire() {
    for name in NAMES {
        let spec = ScenarioSpec::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = spec
            .expect_alerts()
            .unwrap_or_else(|| panic!("{name} says nothing about alerts (expect_alerts)"));
        // A run without faults and without a flood must fire none.
        if spec.chaos().is_empty() && name != "tenant-flood" {
            assert!(expected.is_empty(), "{name} expects {expected:?}");
        }
    }
}

/// A spec's thresholds as written, for comparing a variant's with its base's.
fn threshold_texts(spec: &ScenarioSpec) -> Vec<String> {
    spec.thresholds().iter().map(|t| t.text.clone()).collect()
}

/// `stress-remote-db` is `stress` with Postgres 1 ms away from the first second to the last,
/// and an expected peak of 100 users at the medium profile: the same plan in every other
/// respect, so what fails in one and not the other is the network hop's doing (the pool's
/// size, which only the hop makes count).
#[test]
fn stress_remote_db_is_stress_with_postgres_a_millisecond_away_throughout() {
    let stress = ScenarioSpec::load("stress").unwrap();
    let remote = ScenarioSpec::load("stress-remote-db").unwrap();
    let medium = remote.plan(ProfileName::Medium, 1.0).unwrap();
    let stress_medium = stress.plan(ProfileName::Medium, 1.0).unwrap();
    assert_eq!(medium.size.peak_users, 100);
    assert_eq!(medium.peak_users, 250, "the top step is 250 % of the peak");
    let data =
        |p: &gauntlet_scenarios::spec::LoadPlan| (p.size.tenants, p.size.employees_per_tenant);
    assert_eq!(data(&medium), data(&stress_medium));
    // At a profile it leaves alone, the whole plan is stress's but for the hop.
    for (profile, scale) in [
        (ProfileName::Small, 1.0),
        (ProfileName::Small, 0.1),
        (ProfileName::Enterprise, 0.1),
    ] {
        let at = |spec: &ScenarioSpec| spec.plan(profile, scale).unwrap();
        let (s, mut r) = (at(&stress), at(&remote));
        let hop = r.chaos.pop().expect("the hop is a chaos entry");
        assert!(r.chaos.is_empty(), "one entry: {:?}", r.chaos);
        assert_eq!(
            (hop.fault.to_string(), hop.target.as_str()),
            ("latency".to_owned(), "postgres")
        );
        assert_eq!(hop.attributes["latency"], "1");
        assert_eq!(hop.attributes["jitter"], "0");
        let end = s.stages.last().unwrap().end();
        assert_eq!(
            (hop.start, hop.duration),
            (Duration::ZERO, end),
            "{profile} × {scale}"
        );
        r.scenario.clone_from(&s.scenario);
        assert_eq!(r, s, "{profile} × {scale}");
    }
    assert_eq!(remote.default_profile(), stress.default_profile());
    assert_eq!(remote.expect_alerts(), stress.expect_alerts());
    assert_eq!(threshold_texts(&remote), threshold_texts(&stress));
}

#[test]
fn list_names_every_builtin_with_a_description() {
    let list = builtin::list();
    let names: Vec<&str> = list.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, NAMES);
    for (name, description) in &list {
        assert!(!description.is_empty(), "{name} has no description");
        assert!(
            !description.contains('\n'),
            "{name}: description is not one line"
        );
        assert!(
            !description.starts_with("(invalid"),
            "{name}: {description}"
        );
    }
}

#[test]
fn every_builtin_parses_and_plans_at_every_profile_and_ci_scale() {
    for name in NAMES {
        let spec = ScenarioSpec::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.name(), name);
        assert_eq!(spec.origin(), format!("builtin/{name}.toml"));
        assert!(!spec.thresholds().is_empty(), "{name} has no thresholds");
        for profile in ProfileName::ALL {
            for scale in [1.0, 0.05] {
                let plan = spec
                    .plan(profile, scale)
                    .unwrap_or_else(|e| panic!("{name}/{profile}/{scale}: {e}"));
                assert_eq!(plan.stages.len(), spec.stages().len());
                assert!(
                    plan.stages
                        .iter()
                        .all(|s| s.duration >= Duration::from_secs(1))
                );
                assert!(plan.stages.iter().all(|s| s.users >= 1));
                let sum: Duration = plan.stages.iter().map(|s| s.duration).sum();
                assert_eq!(plan.total_duration, sum);
                let shares = plan.personas;
                let total = shares.employee + shares.manager + shares.hr_admin + shares.prober;
                assert!((total - 1.0).abs() < 1e-9, "{name}: shares sum to {total}");
            }
        }
    }
}

#[test]
fn enterprise_reaches_at_least_a_thousand_users() {
    for name in ["load", "stress", "spike"] {
        let plan = ScenarioSpec::load(name)
            .unwrap()
            .plan(ProfileName::Enterprise, 1.0)
            .unwrap();
        assert!(
            plan.size.peak_users >= 1000,
            "{name}: {}",
            plan.size.peak_users
        );
        assert!(plan.peak_users >= 1000, "{name}: {}", plan.peak_users);
    }
}

#[test]
fn smoke_applies_at_most_thirty_seconds_of_load_with_a_few_users() {
    let spec = ScenarioSpec::load("smoke").unwrap();
    for profile in ProfileName::ALL {
        let plan = spec.plan(profile, 1.0).unwrap();
        assert!(
            plan.total_duration <= Duration::from_secs(30),
            "{profile}: {:?}",
            plan.total_duration
        );
        assert!(plan.peak_users <= 10, "{profile}: {}", plan.peak_users);
        assert!(plan.personas.prober > 0.0, "smoke must run the prober");
    }
}

#[test]
fn stress_climbs_past_the_peak_in_steps() {
    let plan = ScenarioSpec::load("stress")
        .unwrap()
        .plan(ProfileName::Medium, 1.0)
        .unwrap();
    let holds: Vec<u32> = plan
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Hold)
        .map(|s| s.users)
        .collect();
    assert!(holds.len() >= 3, "{holds:?}");
    assert!(
        holds.windows(2).all(|w| w[0] < w[1]),
        "steps must rise: {holds:?}"
    );
    assert!(*holds.last().unwrap() > plan.size.peak_users, "{holds:?}");
}

#[test]
fn spike_jumps_tenfold_from_baseline_and_returns() {
    let plan = ScenarioSpec::load("spike")
        .unwrap()
        .plan(ProfileName::Enterprise, 1.0)
        .unwrap();
    let spike = plan
        .stages
        .iter()
        .position(|s| s.kind == StageKind::Spike)
        .unwrap();
    let before = &plan.stages[spike - 1];
    let jump = &plan.stages[spike];
    assert_eq!(jump.from_users, before.users);
    assert_eq!(jump.users, before.users * 10);
    assert!(!jump.kind.is_gradual(), "a spike is sudden");
    assert_eq!(plan.stages.last().unwrap().users, before.users);
}

#[test]
fn the_rate_variants_run_the_open_model_with_a_pool_and_the_same_analyses() {
    let plan = ScenarioSpec::load("stress-rate")
        .unwrap()
        .plan(ProfileName::Medium, 1.0)
        .unwrap();
    let open = plan.arrival_plan().expect("stress-rate is an open model");
    let rates: Vec<f64> = open.stages.iter().map(|s| s.to_rps).collect();
    assert_eq!(rates, [50.0, 50.0, 100.0, 200.0, 300.0, 400.0]);
    assert_eq!(open.pool(), 500, "250% of medium's 200 peak users");
    assert!(plan.stages.iter().all(|s| s.users == 500));
    let spike = ScenarioSpec::load("spike-rate")
        .unwrap()
        .plan(ProfileName::Medium, 1.0)
        .unwrap();
    let i = spike.spike_stage().expect("the rate jump is the spike");
    let (before, jump) = (
        spike.stages[i - 1].rate.unwrap(),
        spike.stages[i].rate.unwrap(),
    );
    assert_eq!(jump.to_rps, before.to_rps * 10.0);
    assert_eq!(jump.from_rps, jump.to_rps, "a spike is sudden");
    assert!(spike.arrival_plan().is_some());
    assert!(
        ScenarioSpec::load("spike")
            .unwrap()
            .plan(ProfileName::Medium, 1.0)
            .unwrap()
            .arrival_plan()
            .is_none()
    );
}

#[test]
fn endurance_holds_an_hour_and_scales_down_for_ci() {
    let spec = ScenarioSpec::load("endurance").unwrap();
    let full = spec.plan(ProfileName::Medium, 1.0).unwrap();
    let longest = full.stages.iter().map(|s| s.duration).max().unwrap();
    assert!(longest >= Duration::from_secs(3600), "{longest:?}");
    let ci = spec.plan(ProfileName::Medium, 0.05).unwrap();
    assert!(
        ci.total_duration <= Duration::from_secs(240),
        "{:?}",
        ci.total_duration
    );
    assert_eq!(
        ci.peak_users, full.peak_users,
        "scaling changes time, not users"
    );
}

#[test]
fn only_service_kill_asks_for_the_service_in_a_child_process() {
    for name in NAMES {
        let spec = ScenarioSpec::load(name).expect("built-in loads");
        assert_eq!(spec.service_process(), name == "service-kill", "{name}");
    }
    let text = "version = 1\ndescription = \"x\"\nservice_process = \"yes\"\n[[stages]]\n\
                name = \"a\"\nkind = \"hold\"\nduration = \"1s\"\nusers = 1\n";
    let err = ScenarioSpec::from_toml_str(text, "t.toml").expect_err("not a bool");
    assert!(err.to_string().contains("t.toml"), "{err}");
}

#[test]
fn every_built_in_sweeps_and_a_spec_can_say_it_does_not() {
    for name in NAMES {
        let spec = ScenarioSpec::load(name).expect("built-in loads");
        assert!(spec.isolation_sweeps(), "{name}");
    }
    let stages = "[[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"1s\"\nusers = 1\n";
    let spec = |line: &str| {
        let text = format!("version = 1\ndescription = \"x\"\n{line}\n{stages}");
        ScenarioSpec::from_toml_str(&text, "t.toml")
    };
    assert!(!spec("isolation_sweeps = false").unwrap().isolation_sweeps());
    let err = spec("isolation_sweeps = 0").expect_err("not a bool");
    assert!(err.to_string().contains("t.toml:3"), "{err}");
}

/// `volume` is `load` with the enterprise profile's data under the medium profile's users:
/// the same plan in every other respect (stages, mix, think time, noisy neighbour, alerts,
/// thresholds), so a difference between the two runs is the data's.
#[test]
fn volume_is_load_with_twenty_tenants_of_a_thousand_under_mediums_users() {
    let load = ScenarioSpec::load("load").unwrap();
    let volume = ScenarioSpec::load("volume").unwrap();
    let at = |spec: &ScenarioSpec| spec.plan(ProfileName::Medium, 1.0).unwrap();
    let (l, mut v) = (at(&load), at(&volume));
    assert_eq!((v.size.tenants, v.size.employees_per_tenant), (20, 1_000));
    assert_eq!(v.size.peak_users, l.size.peak_users);
    v.size = l.size;
    v.scenario.clone_from(&l.scenario);
    assert_eq!(v, l);
    assert_eq!(volume.expect_alerts(), load.expect_alerts());
    assert_eq!(threshold_texts(&volume), threshold_texts(&load));
}
