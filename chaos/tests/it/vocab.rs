//! Fault vocabulary parsing and scheduled faults.

use gauntlet_chaos::{
    Direction, DiskFill, EntryError, EntryField, Fault, FaultError, FieldProblem, JobFlood,
    LifecycleAction, ScheduledFault, Target, Toxic, ToxicKind, Toxicity,
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
        "type='disk_fill'\npercent=95",
        "type='job_flood'\ndepth=1200",
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

fn entry(fault: &str, target: &str, attributes: &str) -> Result<ScheduledFault, EntryError> {
    let start = Duration::from_secs(10);
    let table = toml::from_str(attributes).unwrap();
    ScheduledFault::parse(fault, target, table, start, Duration::from_secs(8))
}

#[test]
fn a_chaos_entry_parses_into_a_typed_fault_that_keeps_its_attributes_as_written() {
    let f = entry("latency", "postgres", "latency = 200\njitter = 50").unwrap();
    assert_eq!(f.target, Target::Postgres);
    let Fault::Toxic(t) = &f.fault else {
        panic!("latency is a toxic: {f:?}")
    };
    assert_eq!(
        t.kind,
        ToxicKind::Latency {
            latency: ms(200),
            jitter: ms(50)
        }
    );
    assert_eq!(f.attributes["latency"], "200");
    assert_eq!(f.name(3), "latency-postgres-3");
    assert_eq!(
        f.to_string(),
        "latency (jitter=50, latency=200) on postgres"
    );
    assert!(!f.restarts_target());
    let kill = entry("kill", "service", "").unwrap();
    assert_eq!(kill.fault, Fault::Lifecycle(LifecycleAction::Kill));
    assert_eq!(kill.to_string(), "kill on service");
    assert!(kill.restarts_target());
    assert!(!entry("pause", "redis", "").unwrap().restarts_target());
}

#[test]
fn a_bad_chaos_entry_names_the_part_that_is_wrong() {
    let cases = [
        (entry("lag", "redis", ""), EntryField::Fault),
        (entry("lag", "mysql", ""), EntryField::Target),
        (
            entry("latency", "redis", "latency = -5"),
            EntryField::Attribute("latency"),
        ),
        (
            entry("latency", "redis", ""),
            EntryField::Attribute("latency"),
        ),
        (
            entry("down", "redis", "jiter = 5"),
            EntryField::Attribute("jiter"),
        ),
    ];
    for (result, field) in cases {
        let err = result.expect_err("invalid entry");
        assert_eq!(err.field(), field, "{err}");
    }
    let err = entry("down", "mysql", "").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("target has unknown value `mysql`"),
        "{err}"
    );
}

#[test]
fn disk_fill_takes_a_percent_between_1_and_99_and_only_postgres() {
    assert_eq!(
        fault("type='disk_fill'").unwrap(),
        Fault::DiskFill(DiskFill { percent: 90 })
    );
    assert_eq!(
        fault("type='disk_fill'\npercent=86").unwrap(),
        Fault::DiskFill(DiskFill { percent: 86 })
    );
    for bad in ["0", "100", "250", "-1", "'full'"] {
        let err = fault(&format!("type='disk_fill'\npercent={bad}")).unwrap_err();
        assert_eq!(field_of(err), "percent", "percent={bad}");
    }
    let fill = entry("disk_fill", "postgres", "percent = 92").unwrap();
    assert!(!fill.restarts_target());
    assert_eq!(fill.to_string(), "disk_fill (percent=92) on postgres");
    for target in ["redis", "service"] {
        let err = entry("disk_fill", target, "").unwrap_err();
        assert_eq!(err.field(), EntryField::Target, "{err}");
        assert!(err.to_string().contains("postgres"), "{err}");
    }
}

#[test]
fn job_flood_takes_a_bounded_depth_and_only_redis() {
    assert_eq!(
        fault("type='job_flood'").unwrap(),
        Fault::JobFlood(JobFlood { depth: 1500 })
    );
    for bad in ["0", "100001", "-3", "'deep'"] {
        let err = fault(&format!("type='job_flood'\ndepth={bad}")).unwrap_err();
        assert_eq!(field_of(err), "depth", "depth={bad}");
    }
    let flood = entry("job_flood", "redis", "depth = 1200").unwrap();
    assert_eq!(flood.fault, Fault::JobFlood(JobFlood { depth: 1200 }));
    assert!(!flood.restarts_target());
    for target in ["postgres", "service"] {
        let err = entry("job_flood", target, "").unwrap_err();
        assert_eq!(err.field(), EntryField::Target, "{err}");
        assert!(err.to_string().contains("redis"), "{err}");
    }
}
