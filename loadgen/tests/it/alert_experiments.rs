//! The alert experiments end to end: each built-in experiment that is meant to fire an alert
//! drives it over its threshold, and the run's Prometheus fires it and resolves it; the disk
//! alert on both backends, with Prometheus natively and in containers of the local image.

use crate::chaos::{EXPERIMENT_SCALE, assert_alerts_fired_and_resolved, passing_experiment_in};

/// The alert experiments: each drives its alert over the threshold, and the run's Prometheus
/// fires it and (after the load) resolves it. tenant-flood scaled by half; the other two at
/// their own size, because each judges what comes after its fault: pg-pool-exhaustion's
/// `recovery.time < 10s` needs three calm seconds in a row (at half scale the run ends 5 s
/// after the fault, and under the whole suite's load those 5 s once held none: "no recovery
/// was measured"), and payroll-backlog's drain needs its 12 s (at half scale, 6 s, the
/// suite's load once left a cause named: `diagnosis.causes == 0` observed 1).
#[test]
fn pool_exhaustion_tenant_flood_and_payroll_backlog_fire_their_alerts() {
    for (scenario, scale, expected) in [
        (
            "pg-pool-exhaustion",
            "1",
            &["HrmsDbConnectionsHigh", "HrmsHealthCheckFailing"][..],
        ),
        (
            "tenant-flood",
            EXPERIMENT_SCALE,
            &["HrmsRateLimitNearlyExhausted"][..],
        ),
        ("payroll-backlog", "1", &["HrmsJobQueueBacklog"][..]),
    ] {
        let report = passing_experiment_in(scenario, &[], scale);
        let start = report["chaos"]["faults"][0]["start_offset_us"]
            .as_u64()
            .unwrap_or(0);
        assert_alerts_fired_and_resolved(&report, start, expected);
    }
}

/// pg-disk-fill, scaled by half, on `backend` with Prometheus and node_exporter placed as
/// `prometheus` says (`GAUNTLET_PROMETHEUS`): Postgres's own sized filesystem is filled past
/// the disk alert's 85 %, the run's Prometheus (through node_exporter, which sees a container's
/// filesystems through its root) fires the alert and resolves it once the fill is deleted, and
/// nothing else fails. No sized filesystem outlives the run.
fn disk_fill_fires_the_disk_alert(backend: &str, prometheus: &str) {
    let env = [
        ("GAUNTLET_BACKEND", backend),
        ("GAUNTLET_PROMETHEUS", prometheus),
    ];
    let report = passing_experiment_in("pg-disk-fill", &env, EXPERIMENT_SCALE);
    assert_eq!(report["run"]["backend"], backend);
    let fault = &report["chaos"]["faults"][0];
    assert_eq!(fault["fault"], "disk_fill", "{fault:#}");
    let start = fault["start_offset_us"].as_u64().expect("fault start");
    assert_alerts_fired_and_resolved(&report, start, &["PostgresDataDiskAlmostFull"]);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains("gauntlet-postgres-"),
        "a sized data filesystem is still mounted:\n{mounts}"
    );
}

#[test]
fn disk_fill_on_native_fires_the_disk_alert_and_resolves_it() {
    disk_fill_fires_the_disk_alert("native", "native");
}

/// Tests of the docker backend: `cargo xtask test` filters them out by this module's name on a
/// machine where no Docker engine answers, and lists them as skipped.
mod needs_docker {
    use super::disk_fill_fires_the_disk_alert;
    use crate::support::require_docker;

    /// Prometheus and node_exporter in containers of the local image, as on a machine with
    /// Docker and without their packages; none is left after the run.
    #[test]
    fn disk_fill_on_docker_fires_the_disk_alert_with_prometheus_in_containers() {
        require_docker();
        disk_fill_fires_the_disk_alert("docker", "container");
        let ps = std::process::Command::new("docker")
            .args(["ps", "-a", "--no-trunc", "--format", "{{.Command}}"])
            .output()
            .expect("docker ps");
        let listed = String::from_utf8_lossy(&ps.stdout);
        assert!(
            !listed.contains("/usr/bin/prometheus"),
            "a Prometheus or node_exporter container outlived its run:\n{listed}"
        );
    }
}
