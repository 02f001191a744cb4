//! The backup-and-restore drill on real Postgres: what each strategy promises, held to it.
//! `basebackup+wal` loses at most about the archive timeout; `pg_dump` loses everything since
//! the last dump and says so; an archive that silently copies nothing fails the drill with the
//! reason instead of reporting a good RPO. Runs are scaled to 20–30 s of load.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{bad_input, explain, gauntlet, out_dir, read_json, run_spec};

/// backup-restore is 60 s of load, backups every 15 s, the disaster at 40 s; × 0.4 that is
/// 24 s with backups at 0 and 6 s and the disaster at 16 s. `archive_timeout` (5 s) is a
/// server setting and is not scaled.
const BUILTIN_SCALE: &str = "0.4";
/// The built-in's `archive_timeout`.
const ARCHIVE_TIMEOUT_US: u64 = 5_000_000;
/// Beyond the archive timeout: the archiver's own latency (it wakes up on a timer), the segment
/// copy, and a write's acknowledgement arriving after its commit.
const WINDOW_MARGIN_US: u64 = 2_000_000;

fn drill(report: &Value) -> &Value {
    let d = &report["drill"];
    assert_eq!(d["enabled"], true, "{d:#}");
    d
}

fn threshold<'a>(report: &'a Value, expression: &str) -> &'a Value {
    report["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .find(|t| t["expression"] == expression)
        .unwrap_or_else(|| panic!("no threshold {expression}: {:#}", report["thresholds"]))
}

/// Every format names the drill and its thresholds.
fn assert_in_every_format(dir: &Path) {
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    for (name, text) in [("report.md", &md), ("report.html", &html)] {
        assert!(text.contains("Backup and restore drill"), "{name}");
        assert!(text.contains("RTO"), "{name}");
        assert!(
            text.contains("drill.rpo &lt; 1h") || text.contains("drill.rpo < 1h"),
            "{name}"
        );
    }
    assert!(junit.contains("drill.rto"), "{junit}");
}

/// The built-in on `backend`: a restore from the newest base backup plus the archive, under
/// load; the RTO is measured, and what was lost is bounded by the archive timeout.
fn basebackup_wal_bounded_by_the_archive_timeout(backend: &str) {
    let dir = out_dir(&format!("drill-wal-{backend}"));
    let output = gauntlet()
        .env("GAUNTLET_BACKEND", backend)
        .args(["run", "backup-restore", "--quiet", "--duration-scale"])
        .arg(BUILTIN_SCALE)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["verdict"], "pass", "{}", report["reasons"]);
    let d = drill(&report);
    assert_eq!(d["failure"], Value::Null, "{d:#}");
    assert!(d["backups"].as_array().unwrap().len() >= 2, "{d:#}");
    assert!(
        d["backups"][0]["size_bytes"].as_u64().unwrap() > 1_000_000,
        "{d:#}"
    );
    let rto = d["rto_us"].as_u64().expect("an RTO");
    let restore = d["restore_duration_us"].as_u64().expect("a restore time");
    assert!(rto >= restore && rto < 60_000_000, "{d:#}");
    // Writes went on before the disaster, and the service answered again after it.
    assert!(d["acked_before_disaster"].as_u64().unwrap() > 50, "{d:#}");
    let window = d["rpo_us"].as_u64().expect("an RPO");
    assert!(
        window <= ARCHIVE_TIMEOUT_US + WINDOW_MARGIN_US,
        "lost {} writes over {window} us, more than the archive timeout allows: {d:#}",
        d["lost"]
    );
    // The seeded tenants are all back; no table gained rows, none came back empty.
    for t in d["tables"].as_array().unwrap() {
        let (before, after) = (t["before"].as_u64().unwrap(), t["after"].as_u64().unwrap());
        assert!(after > 0 && after <= before, "{t:#}");
        if t["table"] == "tenants" {
            assert_eq!(before, after, "{t:#}");
        }
    }
    assert!(threshold(&report, "drill.rto < 2h")["pass"] == true);
    assert_in_every_format(dir.path());
}

#[test]
fn basebackup_wal_on_native_loses_at_most_the_archive_timeout() {
    basebackup_wal_bounded_by_the_archive_timeout("native");
}

/// A drill spec: 2 s ramp and `hold` of load, clock-ins only.
fn spec(dir: &Path, hold: &str, thresholds: &[&str], drill: &str) -> PathBuf {
    let path = dir.join("drill.toml");
    // The outage fails requests by design: the drill's thresholds judge it, not the error rate.
    let thresholds: Vec<String> = ["http.error_rate < 50%"]
        .iter()
        .chain(thresholds)
        .map(|t| format!("\"{t}\""))
        .collect();
    let text = format!(
        "version = 1\ndescription = \"drill\"\nthresholds = [{}]\n\n\
         [[stages]]\nname = \"ramp\"\nkind = \"ramp\"\nduration = \"2s\"\nusers = 8\n\n\
         [[stages]]\nname = \"hold\"\nkind = \"hold\"\nduration = \"{hold}\"\nusers = 8\n\n\
         [think_time]\nmin = \"30ms\"\nmax = \"80ms\"\n\n\
         [personas]\nemployee = 1\nmanager = 0\nhr_admin = 0\nprober = 0\n\n[drill]\n{drill}",
        thresholds.join(", ")
    );
    std::fs::write(&path, text).expect("spec written");
    path
}

#[test]
fn pg_dump_loses_every_write_since_the_dump_and_fails_an_rpo_shorter_than_its_age() {
    let dir = out_dir("drill-dump");
    // One dump at the start; the disaster 10 s later.
    let path = spec(
        dir.path(),
        "18s",
        &["drill.rpo < 3s"],
        "strategy = \"pg_dump\"\nbackup_every = \"60s\"\ndisaster = \"destroy_data_dir\"\n\
         disaster_at = \"10s\"\n",
    );
    let output = run_spec(gauntlet(), dir.path(), &path);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    let d = drill(&report);
    assert_eq!(d["failure"], Value::Null, "{d:#}");
    assert_eq!(d["backups"].as_array().unwrap().len(), 1, "{d:#}");
    let dump = &d["backups"][0];
    let dump_end =
        dump["start_offset_us"].as_u64().unwrap() + dump["duration_us"].as_u64().unwrap();
    let disaster = d["disaster_offset_us"].as_u64().unwrap();
    // Everything acknowledged between the dump and the disaster is gone: the oldest lost write
    // is no later than a second after the dump ended.
    let window = d["rpo_us"].as_u64().expect("an RPO");
    assert!(
        window + 1_000_000 >= disaster - dump_end,
        "window {window} us, dump ended {dump_end}, disaster {disaster}: {d:#}"
    );
    let lost = d["lost"].as_u64().unwrap();
    assert!(lost > 20, "{d:#}");
    assert!(!d["lost_examples"].as_array().unwrap().is_empty(), "{d:#}");
    let rpo = threshold(&report, "drill.rpo < 3s");
    assert_eq!(rpo["pass"], false, "{rpo:#}");
    // The service came back on the dump's data, and the report says how long it took.
    assert!(d["rto_us"].as_u64().is_some(), "{d:#}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(md.contains("lost acknowledged writes"), "{md}");
}

#[test]
fn an_archive_that_silently_copies_nothing_fails_the_drill_with_the_reason() {
    let dir = out_dir("drill-broken-archive");
    let path = spec(
        dir.path(),
        "10s",
        &[],
        "strategy = \"basebackup+wal\"\nbackup_every = \"60s\"\narchive_timeout = \"1s\"\n\
         archive = \"silently_broken\"\ndisaster = \"destroy_data_dir\"\ndisaster_at = \"6s\"\n",
    );
    let output = run_spec(gauntlet(), dir.path(), &path);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    let d = drill(&report);
    let failure = d["failure"].as_str().expect("a failure");
    assert!(failure.contains("failing silently"), "{failure}");
    assert_eq!(d["rpo_us"], Value::Null, "no RPO is claimed: {d:#}");
    let rpo = threshold(&report, "drill.rpo < 1h");
    assert_eq!(rpo["pass"], false, "{rpo:#}");
    assert!(
        rpo["reason"].as_str().unwrap().contains("failing silently"),
        "{rpo:#}"
    );
}

#[test]
fn a_drill_refuses_an_external_database_with_exit_2() {
    let stderr = bad_input(
        gauntlet()
            .env("GAUNTLET_BACKEND", "external")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres")
            .env("REDIS_URL", "redis://127.0.0.1:1")
            .args(["run", "backup-restore", "--quiet"]),
    );
    assert!(stderr.contains("destroys the database"), "{stderr}");
}

mod needs_docker {
    use super::basebackup_wal_bounded_by_the_archive_timeout;
    use crate::support::require_docker;

    #[test]
    fn basebackup_wal_on_docker_loses_at_most_the_archive_timeout() {
        require_docker();
        basebackup_wal_bounded_by_the_archive_timeout("docker");
    }
}
