//! The rules of `diagnosis.rs` on hand-made sections: each names its cause, and the busy
//! machine's readings name none.

use super::*;
use crate::model::{PoolUsage, QueueUsage, StatementStat, TableScan};

fn route(requests: u64, ms: f64, queries: u64, db_ms: f64, pool_ms: f64) -> RouteCost {
    let n = requests as f64;
    RouteCost {
        requests,
        seconds: ms * n / 1000.0,
        db_queries: queries * requests,
        db_seconds: db_ms * n / 1000.0,
        pool_wait_seconds: pool_ms * n / 1000.0,
        pool_exhausted: 0,
        redis_seconds: 0.0,
    }
}

fn section(routes: &[(&str, RouteCost)]) -> DiagnosisSection {
    let routes = routes.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
    DiagnosisSection {
        enabled: true,
        endpoints: endpoints(&routes),
        ..DiagnosisSection::default()
    }
}

/// A pool of `max` seen with every connection in use and `waiting` waiters.
fn ran_out(max: u64, waiting: u64) -> PoolUsage {
    PoolUsage {
        max,
        in_use_peak: max,
        waiters_peak: waiting,
        samples: 10,
        full_samples: 2,
    }
}

#[test]
fn a_clean_fast_run_names_no_cause() {
    // The database is most of a 2 ms request: normal, not a bottleneck.
    let d = section(&[
        ("GET /employees", route(500, 2.0, 3, 1.5, 0.2)),
        ("GET /departments", route(300, 1.0, 2, 0.6, 0.1)),
    ]);
    assert_eq!(d.endpoints[0].name, "GET /departments");
    assert_eq!(d.endpoints[1].queries_per_request, 3.0);
    assert_eq!(d.endpoints[1].service_us, 300);
    assert!(causes(&d).is_empty(), "{:?}", causes(&d));
}

#[test]
fn names_pool_wait_with_the_pool_and_an_n_plus_one() {
    let mut d = section(&[("GET /employees", route(400, 50.0, 3, 8.0, 40.0))]);
    d.pool = ran_out(2, 14);
    d.endpoints[0].pool_exhausted_share = 0.9;
    assert_eq!(
        causes(&d),
        [
            "pool wait is 80 % of GET /employees latency (mean 50.0 ms); 90 % of its requests \
             found every connection in use; pool 2/2 in use, 14 waiting at peak"
        ]
    );
    let d = section(&[("GET /employees", route(400, 30.0, 52, 25.0, 0.5))]);
    let c = causes(&d);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("GET /employees runs 52 SQL statements per request"));
}

#[test]
fn a_busier_endpoint_where_the_pool_is_a_share_does_not_hide_one_where_it_dominates() {
    // A starved pool under verify's bursts: the clock-ins waited more in all (more of
    // them, longer transactions), but the wait is a fifth of theirs; the list's is most
    // of its latency.
    let mut d = section(&[
        ("GET /employees", route(240, 15.0, 4, 1.4, 12.9)),
        ("POST /attendance/clock-in", route(1200, 40.0, 2, 25.0, 8.0)),
    ]);
    d.pool = ran_out(2, 11);
    d.endpoints[0].pool_exhausted_share = 0.8;
    d.endpoints[1].pool_exhausted_share = 0.3;
    let c = causes(&d);
    assert!(
        c.iter()
            .any(|c| c.starts_with("pool wait is 86 % of GET /employees")),
        "{c:?}"
    );
}

#[test]
fn names_the_service_itself_and_a_growing_queue_but_not_rare_routes() {
    let mut d = section(&[
        ("GET /departments", route(100, 35.0, 2, 1.0, 0.1)),
        ("POST /auth/login", route(5, 300.0, 2, 1.0, 0.0)),
    ]);
    d.queue = QueueUsage {
        first: 0,
        last: 37,
        peak: 37,
    };
    let c = causes(&d);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c[0].starts_with("time in the service itself is 97 % of GET /departments"));
    assert!(c[1].contains("grew from 0 to 37"));
}

/// What a busy machine does to a clean run: round trips and pool hand-outs stretch, but
/// few requests found the pool exhausted and Postgres shows nothing slow. Nothing is named; the same
/// figures with the resource's own evidence are.
#[test]
fn a_busy_machine_alone_names_nothing_the_resources_evidence_does() {
    let busy = || {
        let mut d = section(&[
            ("GET /employees", route(240, 22.0, 4, 12.0, 3.0)),
            ("POST /attendance/clock-in", route(240, 6.4, 2, 2.0, 3.0)),
            ("GET /departments", route(240, 18.0, 0, 0.0, 0.0)),
        ]);
        d.pool = PoolUsage {
            max: 20,
            in_use_peak: 9,
            waiters_peak: 0,
            samples: 6,
            full_samples: 0,
        };
        d.postgres.top_statements = vec![StatementStat {
            query: "SELECT id FROM employees".to_owned(),
            mean_us: 900,
            ..StatementStat::default()
        }];
        d
    };
    let d = busy();
    assert!(causes(&d).is_empty(), "{:?}", causes(&d));

    let mut starved = busy();
    starved.pool.waiters_peak = 3;
    assert!(
        causes(&starved).is_empty(),
        "waiters alone: {:?}",
        causes(&starved)
    );
    // A login storm fills a clean pool for a moment: the pool is seen full, and the few
    // clock-ins that arrived then queued.
    starved.pool.in_use_peak = 20;
    starved.endpoints[2].pool_exhausted_share = 0.1;
    assert!(
        causes(&starved).is_empty(),
        "a moment's full pool: {:?}",
        causes(&starved)
    );
    starved.endpoints[2].pool_exhausted_share = 0.6;
    let c = causes(&starved);
    assert!(
        c.len() == 1 && c[0].starts_with("pool wait is 47 % of POST /attendance/clock-in"),
        "{c:?}"
    );

    let mut scanning = busy();
    scanning.postgres.top_statements[0].mean_us = 9_000;
    let c = causes(&scanning);
    assert!(
        c.len() == 1
            && c[0]
                .contains("slowest read by total time: SELECT id FROM employees (9.0 ms per call)"),
        "{c:?}"
    );
    // A background job's slow write ahead of it is not the endpoint's evidence.
    let mut written = busy();
    let batch = StatementStat {
        query: "WITH batch AS (SELECT id FROM employees), ins AS (INSERT INTO payslips)".into(),
        calls: 40,
        mean_us: 9_500,
        ..StatementStat::default()
    };
    written.postgres.top_statements.insert(0, batch);
    assert!(causes(&written).is_empty(), "{:?}", causes(&written));

    let mut locked = busy();
    locked.postgres.lock_waits_peak = 7;
    let c = causes(&locked);
    assert!(
        c.len() == 1 && c[0].ends_with("up to 7 backends waiting on a lock"),
        "{c:?}"
    );

    // Without statement statistics a 25 ms list is no evidence; 60 ms of database is.
    let mut unseen = busy();
    unseen.postgres.top_statements.clear();
    unseen.endpoints[1].db_us = 14_000;
    assert!(causes(&unseen).is_empty(), "{:?}", causes(&unseen));
    unseen.endpoints[1].db_us = 60_000;
    unseen.endpoints[1].mean_us = 70_000;
    let c = causes(&unseen);
    assert!(c.len() == 1 && c[0].ends_with("; slow statements"), "{c:?}");

    // A long wait with connections to spare is the machine, not the pool.
    let mut stretched = busy();
    stretched.endpoints[2].pool_wait_us = 6_000;
    stretched.endpoints[2].mean_us = 9_000;
    stretched.pool.waiters_peak = 11;
    assert!(causes(&stretched).is_empty(), "{:?}", causes(&stretched));
}

/// The one cause `d` names (fails when it names none or several).
fn one_cause(d: &DiagnosisSection) -> String {
    let c = causes(d);
    assert_eq!(c.len(), 1, "{c:?}");
    c[0].clone()
}

fn assert_no_cause(d: &DiagnosisSection, why: &str) {
    assert!(causes(d).is_empty(), "{why}: {:?}", causes(d));
}

#[test]
fn a_pool_full_for_a_quarter_of_the_samples_is_too_small_whatever_the_wait() {
    let mut full = section(&[("GET /employees", route(240, 22.0, 4, 12.0, 3.0))]);
    full.pool = PoolUsage {
        max: 2,
        in_use_peak: 2,
        waiters_peak: 7,
        samples: 40,
        full_samples: 9,
    };
    // 3 ms of a 22 ms list is below the first pool rule's share.
    assert_no_cause(&full, "full in 22 %");
    full.pool.full_samples = 10;
    let cause = one_cause(&full);
    assert!(
        cause.starts_with(
            "the DB pool was full (2/2 in use) in 25 % of the samples, 7 waiting at peak"
        ) && cause.ends_with("pool wait is 14 % of GET /employees latency (mean 22.0 ms)"),
        "{cause}"
    );
}

#[test]
fn a_read_touching_hundreds_of_pages_a_call_is_a_scan_a_write_or_a_lookup_is_not() {
    let mut scan = section(&[("GET /employees", route(240, 6.0, 4, 3.0, 0.5))]);
    scan.postgres.top_statements = vec![StatementStat {
        query: "SELECT id FROM employees".to_owned(),
        calls: 1_609,
        mean_us: 900,
        pages_per_call: 600,
        ..StatementStat::default()
    }];
    let cause = one_cause(&scan);
    assert!(
        cause.starts_with("SELECT id FROM employees reads 600 pages (4 MiB) per call"),
        "{cause}"
    );
    scan.postgres.top_statements[0].query = "WITH batch AS (SELECT id FROM employees)".into();
    assert_no_cause(&scan, "a write touches index pages");
    scan.postgres.top_statements[0].query = "SELECT id FROM employees".into();
    scan.postgres.top_statements[0].pages_per_call = 7;
    assert_no_cause(&scan, "an indexed lookup");
    scan.postgres.top_statements[0].pages_per_call = 600;
    scan.postgres.top_statements[0].calls = 19;
    assert_no_cause(&scan, "19 calls");
}

/// With Postgres's table statistics, pages alone name nothing: the statement's table must
/// have been read whole, often, and be large.
#[test]
fn with_table_statistics_a_scan_needs_its_table_read_whole() {
    let mut scan = section(&[("GET /employees", route(240, 6.0, 4, 3.0, 0.5))]);
    scan.postgres.top_statements = vec![StatementStat {
        query: "SELECT count(*) FROM employees e WHERE e.department_id = d.id".to_owned(),
        calls: 1_609,
        mean_us: 900,
        pages_per_call: 737,
        ..StatementStat::default()
    }];
    let read_whole = TableScan {
        table: "employees".to_owned(),
        seq_scans: 1_609,
        rows_per_scan: 20_000,
    };
    scan.postgres.table_scans = Some(Vec::new());
    assert_no_cause(&scan, "an index scan over a large tenant");
    scan.postgres.table_scans = Some(vec![read_whole.clone()]);
    let cause = one_cause(&scan);
    assert!(
        cause.contains("Postgres read employees whole 1609 times (20000 rows a scan)"),
        "{cause}"
    );
    let small = TableScan {
        rows_per_scan: 1_000,
        ..read_whole.clone()
    };
    scan.postgres.table_scans = Some(vec![small]);
    assert_no_cause(
        &scan,
        "a small table is read whole faster than through an index",
    );
    let other = TableScan {
        table: "employees_archive".to_owned(),
        ..read_whole.clone()
    };
    scan.postgres.table_scans = Some(vec![other]);
    assert_no_cause(&scan, "another table's scans");
    let rare = TableScan {
        seq_scans: 3,
        ..read_whole
    };
    scan.postgres.table_scans = Some(vec![rare]);
    assert_no_cause(&scan, "three scans");
}
