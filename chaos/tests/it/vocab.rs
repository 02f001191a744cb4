//! Fault vocabulary parsing, schedules, phases and recovery time.

use gauntlet_chaos::phases::BaselineLimits;
use gauntlet_chaos::schedule::EventKind;
use gauntlet_chaos::{
    Direction, Fault, FaultError, FieldProblem, LifecycleAction, Phase, Phases, RecoveryBand,
    Schedule, ScheduleError, SecondSample, Target, Toxic, ToxicKind, Toxicity, recovery_time,
};
use std::time::Duration;

fn fault(src: &str) -> Result<Fault, FaultError> {
    Fault::from_table(toml::from_str(src).unwrap())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn every_toxic_parses_with_toxiproxy_units() {
    let cases = [
        (
            "type='latency'\nlatency=100\njitter=10",
            ToxicKind::Latency {
                latency: ms(100),
                jitter: ms(10),
            },
        ),
        (
            "type='bandwidth'\nrate=500",
            ToxicKind::Bandwidth { rate: 500 },
        ),
        (
            "type='timeout'\ntimeout=0",
            ToxicKind::Timeout { timeout: ms(0) },
        ),
        (
            "type='reset_peer'\ntimeout=250",
            ToxicKind::ResetPeer { timeout: ms(250) },
        ),
        (
            "type='slicer'\naverage_size=64\nsize_variation=32\ndelay=10",
            ToxicKind::Slicer {
                average_size: 64,
                size_variation: 32,
                delay: Duration::from_micros(10),
            },
        ),
        (
            "type='limit_data'\nbytes=4096",
            ToxicKind::LimitData { bytes: 4096 },
        ),
        (
            "type='slow_close'\ndelay=300",
            ToxicKind::SlowClose { delay: ms(300) },
        ),
    ];
    for (src, kind) in cases {
        let parsed = fault(src).unwrap();
        assert_eq!(parsed, Fault::Toxic(Toxic::new(kind)), "{src}");
    }
}

#[test]
fn toxiproxy_api_shape_with_attributes_parses() {
    let json = r#"{"name":"lat","type":"latency","stream":"upstream","toxicity":0.5,
                   "attributes":{"latency":1000,"jitter":0}}"#;
    let parsed: Fault = serde_json::from_str(json).unwrap();
    let expected = Toxic::new(ToxicKind::Latency {
        latency: ms(1000),
        jitter: ms(0),
    })
    .on(Direction::Upstream)
    .with_toxicity(Toxicity::new(0.5).unwrap());
    assert_eq!(parsed, Fault::Toxic(expected));
}

#[test]
fn faults_round_trip_through_json_and_toml() {
    let all = [
        "type='latency'\nlatency=5\nstream='upstream'\ntoxicity=0.25",
        "type='slicer'\naverage_size=10\ndelay=7",
        "type='down'",
        "type='kill'",
        "type='pause'",
    ];
    for src in all {
        let f = fault(src).unwrap();
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), f, "{json}");
        let table = toml::to_string(&f).unwrap();
        assert_eq!(toml::from_str::<Fault>(&table).unwrap(), f, "{table}");
    }
}

#[test]
fn lifecycle_faults_and_targets_parse() {
    for (name, action) in [
        ("kill", LifecycleAction::Kill),
        ("stop", LifecycleAction::Stop),
        ("restart", LifecycleAction::Restart),
        ("pause", LifecycleAction::Pause),
    ] {
        assert_eq!(
            fault(&format!("type='{name}'")).unwrap(),
            Fault::Lifecycle(action)
        );
    }
    assert_eq!(fault("type='down'").unwrap(), Fault::Down);
    assert_eq!("redis".parse::<Target>().unwrap(), Target::Redis);
    assert!(matches!(
        "mysql".parse::<Target>(),
        Err(FieldProblem::UnknownValue { .. })
    ));
}

fn field_of(err: FaultError) -> String {
    match err {
        FaultError::MissingField { field, .. }
        | FaultError::InvalidField { field, .. }
        | FaultError::UnknownField { field, .. } => field,
        other => panic!("not a field error: {other:?}"),
    }
}

#[test]
fn parse_errors_name_the_bad_field() {
    assert_eq!(fault("latency=1").unwrap_err(), FaultError::MissingType);
    assert_eq!(
        fault("type='lag'").unwrap_err(),
        FaultError::UnknownType("lag".into())
    );
    let cases = [
        ("type='latency'", "latency"),
        ("type='latency'\nlatency='slow'", "latency"),
        ("type='latency'\nlatency=-5", "latency"),
        ("type='latency'\nlatency=5\nlatncy=5", "latncy"),
        ("type='latency'\nlatency=5\ntoxicity=1.5", "toxicity"),
        ("type='latency'\nlatency=5\nstream='sideways'", "stream"),
        ("type='bandwidth'\nrate=0", "rate"),
        (
            "type='slicer'\naverage_size=10\nsize_variation=10",
            "size_variation",
        ),
        ("type='down'\nlatency=5", "latency"),
    ];
    for (src, field) in cases {
        let err = fault(src).unwrap_err();
        assert!(err.to_string().contains(field), "{src}: message {err}");
        assert_eq!(field_of(err), field, "{src}");
    }
    let err = fault("type='latency'\nlatency=-5").unwrap_err();
    assert!(matches!(
        err,
        FaultError::InvalidField {
            problem: FieldProblem::Negative,
            ..
        }
    ));
}

#[derive(serde::Deserialize)]
struct Scenario {
    faults: Schedule,
}

#[test]
fn schedule_parses_from_scenario_toml() {
    let src = r#"
        [[faults]]
        type = "latency"
        latency = 200
        target = "postgres"
        at = "30s"
        duration = "20s"

        [[faults]]
        type = "kill"
        target = "redis"
        at = 40
    "#;
    let scenario: Scenario = toml::from_str(src).unwrap();
    let faults = scenario.faults.faults();
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[0].target, Target::Postgres);
    assert_eq!(faults[0].start_offset, Duration::from_secs(30));
    assert_eq!(faults[0].end_offset(), Duration::from_secs(50));
    assert_eq!(faults[1].fault, Fault::Lifecycle(LifecycleAction::Kill));
    assert_eq!(faults[1].duration, Duration::ZERO);
    let events = scenario.faults.events();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e.at.as_secs(), e.kind, e.fault))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (30, EventKind::Inject, 0),
            (40, EventKind::Inject, 1),
            (50, EventKind::Remove, 0)
        ]
    );
    assert!(scenario.faults.check_fits(Duration::from_secs(60)).is_ok());
    assert!(matches!(
        scenario.faults.check_fits(Duration::from_secs(35)),
        Err(ScheduleError::StartsAfterRun { index: 1, .. })
    ));
}

#[test]
fn schedule_errors_are_typed_and_indexed() {
    let table = |src: &str| toml::from_str::<toml::Table>(src).unwrap();
    let no_target = Schedule::from_tables(vec![table("type='down'\nduration='1s'")]);
    assert!(matches!(
        no_target,
        Err(ScheduleError::Fault { index: 0, source: FaultError::MissingField { ref field, .. } })
            if field == "target"
    ));
    let zero = Schedule::from_tables(vec![
        table("type='kill'\ntarget='redis'"),
        table("type='latency'\nlatency=5\ntarget='redis'\nat='1s'"),
    ]);
    assert!(matches!(
        zero,
        Err(ScheduleError::ZeroDuration {
            index: 1,
            fault: "latency"
        })
    ));
    let negative = Schedule::from_tables(vec![table("type='down'\ntarget='redis'\nat=-3")]);
    assert!(matches!(
        negative,
        Err(ScheduleError::Fault {
            source: FaultError::InvalidField {
                problem: FieldProblem::Negative,
                ..
            },
            ..
        })
    ));
    let bad_duration =
        Schedule::from_tables(vec![table("type='stop'\ntarget='redis'\nduration='soon'")]);
    assert!(bad_duration.unwrap_err().to_string().contains("fault #0"));
}

fn schedule(windows: &[(u64, u64)]) -> Schedule {
    let tables = windows
        .iter()
        .map(|(at, dur)| {
            toml::from_str(&format!(
                "type='down'\ntarget='postgres'\nat={at}\nduration={dur}"
            ))
            .unwrap()
        })
        .collect();
    Schedule::from_tables(tables).unwrap()
}

fn spans(p: &Phases) -> Vec<(Phase, u64, u64)> {
    p.spans()
        .iter()
        .map(|s| (s.phase, s.start.as_secs(), s.end.as_secs()))
        .collect()
}

#[test]
fn phases_split_baseline_fault_recovery_with_overlaps_and_gaps() {
    let run = Duration::from_secs(100);
    let p = Phases::compute(&schedule(&[(10, 20), (20, 15), (50, 10)]), run);
    use Phase::*;
    assert_eq!(
        spans(&p),
        vec![
            (Baseline, 0, 10),
            (Fault, 10, 35),
            (Recovery, 35, 50),
            (Fault, 50, 60),
            (Recovery, 60, 100)
        ]
    );
    assert_eq!(p.last_removal(), Some(Duration::from_secs(60)));
    assert_eq!(p.phase_at(Duration::from_secs(12)), Some(Fault));
    assert_eq!(p.phase_at(Duration::from_secs(100)), None);
    assert_eq!(p.total(Fault), Duration::from_secs(35));

    let empty = Phases::compute(&Schedule::default(), run);
    assert_eq!(spans(&empty), vec![(Baseline, 0, 100)]);
    assert_eq!(empty.last_removal(), None);

    let past_end = Phases::compute(&schedule(&[(90, 30)]), run);
    assert_eq!(spans(&past_end), vec![(Baseline, 0, 90), (Fault, 90, 100)]);
    assert_eq!(past_end.last_removal(), None);
}

fn sec(error_rate: f64, p95_ms: u64) -> SecondSample {
    SecondSample {
        error_rate,
        p95: Some(ms(p95_ms)),
    }
}

#[test]
fn recovery_time_counts_until_band_holds_for_consecutive_seconds() {
    let band = RecoveryBand {
        consecutive: 3,
        ..RecoveryBand::default()
    };
    // Baseline: p95 ~100 ms, no errors. Fault at 5..8, removed at second 8.
    let mut series = vec![
        sec(0.0, 100),
        sec(0.0, 98),
        sec(0.0, 102),
        sec(0.0, 100),
        sec(0.0, 100),
    ];
    series.extend([sec(0.5, 900), sec(0.6, 950), sec(0.4, 800)]);
    // 8: still bad, 9: ok, 10: blip (p95 over 120), 11..14 ok.
    series.extend([
        sec(0.1, 300),
        sec(0.0, 110),
        sec(0.0, 130),
        sec(0.0, 105),
        sec(0.005, 101),
        sec(0.0, 99),
    ]);
    let t = recovery_time(&series, 5, 8, &band).unwrap();
    assert_eq!(t, Some(Duration::from_secs(3)));

    let limits = BaselineLimits::from_baseline(&series[..5], &band).unwrap();
    assert_eq!(limits.p95_max, ms(120));

    let never = recovery_time(&series[..12], 5, 8, &band).unwrap();
    assert_eq!(never, None);
    let no_base = recovery_time(
        &[SecondSample {
            error_rate: 0.0,
            p95: None,
        }],
        1,
        0,
        &band,
    );
    assert!(no_base.is_err());
}
