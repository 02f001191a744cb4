//! The report's diagnosis: the service's per-route cost counters read before and after the
//! attack, and beside the attack a sampler that reads, each second, the pool and queue gauges
//! from `/metrics` and Postgres's own view (`pg_locks` for lock waits, `pg_stat_activity` for
//! long transactions). `pg_stat_statements` is reset before the attack and read after it when
//! the server loaded it (`shared_preload_libraries`, which our provisioning sets); the tables'
//! sequential-scan counters (`pg_stat_user_tables`) are read before and after, and their
//! difference is the attack's.
//!
//! Everything here is best effort: a sample that fails is skipped, and a target without the
//! cost metrics leaves the section `enabled: false`. The arithmetic and the rules that name a
//! cause are `gauntlet_reports::diagnosis`'s (pure, unit-tested there).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gauntlet_reports::diagnosis::RouteCost;
use gauntlet_reports::model::{
    DiagnosisSection, PoolUsage, PostgresActivity, QueueUsage, StatementStat, TableScan,
};
use sqlx::{Connection, PgConnection};

use super::scrape;

/// How often the sampler reads. The pool's gauges are instants: a starved pool that drains
/// between two readings looks idle, and a second is long beside a burst of a few hundred
/// milliseconds. Four readings a second cost the service four `/metrics` renders.
const PERIOD: Duration = Duration::from_millis(250);
/// Readings per second of `max_ticks` (callers bound the sampler in seconds).
const PER_SECOND: u64 = 4;
/// A Postgres statement of the sampler's; it must never hold the run up.
const PG_TIMEOUT: Duration = Duration::from_secs(2);
/// Statements kept in the report.
const TOP_STATEMENTS: usize = 5;
/// Tables kept in the report.
const TOP_TABLES: usize = 5;

/// Per table, sequential scans started and rows they read, at one moment.
type ScanCounts = BTreeMap<String, (u64, u64)>;

/// Per route (`METHOD /route`), the cost counters at one moment.
pub type Costs = BTreeMap<String, RouteCost>;

/// Reads the `hrms_route_*` counters of a `/metrics` text; empty when there are none.
pub fn parse_costs(text: &str) -> Costs {
    let mut costs = Costs::new();
    for s in scrape::samples(text) {
        let Some(field) = s.name.strip_prefix("hrms_route_") else {
            continue;
        };
        let (Some(method), Some(route)) = (s.label("method"), s.label("route")) else {
            continue;
        };
        if route == "/metrics" || route.starts_with("/health") {
            continue;
        }
        let c = costs.entry(format!("{method} {route}")).or_default();
        let count = s.value.max(0.0) as u64;
        match field {
            "requests_total" => c.requests = count,
            "seconds_total" => c.seconds = s.value,
            "db_queries_total" => c.db_queries = count,
            "db_seconds_total" => c.db_seconds = s.value,
            "pool_wait_seconds_total" => c.pool_wait_seconds = s.value,
            "pool_exhausted_total" => c.pool_exhausted = count,
            "redis_seconds_total" => c.redis_seconds = s.value,
            _ => {}
        }
    }
    costs
}

/// `after - before` per route.
pub fn delta(before: &Costs, after: &Costs) -> Costs {
    after
        .iter()
        .map(|(k, a)| {
            let b = before.get(k).copied().unwrap_or_default();
            let d = RouteCost {
                requests: a.requests.saturating_sub(b.requests),
                seconds: (a.seconds - b.seconds).max(0.0),
                db_queries: a.db_queries.saturating_sub(b.db_queries),
                db_seconds: (a.db_seconds - b.db_seconds).max(0.0),
                pool_wait_seconds: (a.pool_wait_seconds - b.pool_wait_seconds).max(0.0),
                pool_exhausted: a.pool_exhausted.saturating_sub(b.pool_exhausted),
                redis_seconds: (a.redis_seconds - b.redis_seconds).max(0.0),
            };
            (k.clone(), d)
        })
        .filter(|(_, d)| d.requests > 0)
        .collect()
}

/// The sampler running beside the attack.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Sampled>,
    before: Option<Costs>,
    base_url: String,
    postgres: Option<String>,
}

#[derive(Default)]
struct Sampled {
    pool: PoolUsage,
    queue: Vec<u64>,
    postgres: PostgresActivity,
    scans_before: Option<ScanCounts>,
}

async fn metrics_text(client: &reqwest::Client, base: &str) -> Option<String> {
    scrape::fetch(client, &format!("{base}/metrics"), Duration::from_secs(2)).await
}

fn gauge(text: &str, name: &str) -> Option<u64> {
    scrape::samples(text)
        .find(|s| s.name == name)
        .map(|s| s.value.max(0.0) as u64)
}

async fn pg<T>(fut: impl Future<Output = Result<T, sqlx::Error>>) -> Option<T> {
    tokio::time::timeout(PG_TIMEOUT, fut).await.ok()?.ok()
}

/// Lock waits (ungranted locks) and transactions open over 1 s, other than our own.
const ACTIVITY: &str = "SELECT (SELECT count(*) FROM pg_locks WHERE NOT granted), \
     (SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
      AND xact_start < now() - interval '1 second')";

impl Sampler {
    /// Reads the counters before the attack, resets `pg_stat_statements` when it can, and
    /// starts sampling; bounded by `max_ticks` seconds of readings even if never stopped.
    pub async fn start(base_url: &str, postgres: Option<String>, max_ticks: u64) -> Self {
        let client = reqwest::Client::new();
        let before = metrics_text(&client, base_url)
            .await
            .map(|t| parse_costs(&t))
            .filter(|c| !c.is_empty());
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(sample(
            client,
            base_url.to_owned(),
            postgres.clone(),
            Arc::clone(&stop),
            max_ticks,
        ));
        Self {
            stop,
            task,
            before,
            base_url: base_url.to_owned(),
            postgres,
        }
    }

    /// Stops sampling and builds the section (with its causes).
    pub async fn finish(self) -> DiagnosisSection {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.task.await.unwrap_or_default();
        let client = reqwest::Client::new();
        let after = metrics_text(&client, &self.base_url)
            .await
            .map(|t| parse_costs(&t));
        let (Some(before), Some(after)) = (self.before, after) else {
            return DiagnosisSection::default();
        };
        let mut postgres = sampled.postgres;
        if let Some(url) = &self.postgres {
            // One connection for both readings after the attack.
            match pg(PgConnection::connect(url)).await {
                Some(mut conn) => {
                    match top_statements(&mut conn).await {
                        Ok(top) => postgres.top_statements = top,
                        Err(why) => postgres.statements_note = Some(why),
                    }
                    postgres.table_scans =
                        match (sampled.scans_before, scan_counts(&mut conn).await) {
                            (Some(before), Some(after)) => Some(table_scans(&before, &after)),
                            _ => None,
                        };
                    let _ = conn.close().await;
                }
                None => {
                    postgres.statements_note =
                        Some("Postgres could not be reached after the attack".to_owned());
                }
            }
        } else {
            postgres.statements_note = Some("Postgres is not the harness's to read".to_owned());
        }
        let q = &sampled.queue;
        let mut section = DiagnosisSection {
            enabled: true,
            endpoints: gauntlet_reports::diagnosis::endpoints(&delta(&before, &after)),
            pool: sampled.pool,
            queue: QueueUsage {
                first: q.first().copied().unwrap_or(0),
                last: q.last().copied().unwrap_or(0),
                peak: q.iter().copied().max().unwrap_or(0),
            },
            postgres,
            causes: Vec::new(),
        };
        section.causes = gauntlet_reports::diagnosis::causes(&section);
        section
    }
}

async fn sample(
    client: reqwest::Client,
    base: String,
    postgres: Option<String>,
    stop: Arc<AtomicBool>,
    max_ticks: u64,
) -> Sampled {
    let mut out = Sampled::default();
    let mut conn = match &postgres {
        Some(url) => pg(PgConnection::connect(url)).await,
        None => None,
    };
    if let Some(c) = conn.as_mut() {
        // The extension ships with Postgres; its view answers only when the server preloaded
        // the library, which `top_statements` reports. Statistics of the attack only:
        // seeding and migrations came before the reset.
        let create = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";
        let _ = pg(sqlx::query(create).execute(&mut *c)).await;
        let _ = pg(sqlx::query("SELECT pg_stat_statements_reset()").execute(&mut *c)).await;
    }
    out.postgres.sampled = conn.is_some();
    if let Some(c) = conn.as_mut() {
        out.scans_before = scan_counts(c).await;
    }
    let mut tick = tokio::time::interval(PERIOD);
    for _ in 0..max_ticks.saturating_mul(PER_SECOND) {
        tick.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(text) = metrics_text(&client, &base).await {
            let p = &mut out.pool;
            p.samples += 1;
            p.max = p.max.max(gauge(&text, "hrms_db_pool_max").unwrap_or(0));
            let in_use = gauge(&text, "hrms_db_pool_in_use").unwrap_or(0);
            p.in_use_peak = p.in_use_peak.max(in_use);
            if p.max > 0 && in_use >= p.max {
                p.full_samples += 1;
            }
            let waiting = gauge(&text, "hrms_db_pool_waiters").unwrap_or(0);
            p.waiters_peak = p.waiters_peak.max(waiting);
            if let Some(depth) = gauge(&text, "hrms_job_queue_depth") {
                out.queue.push(depth);
            }
        }
        if let Some(c) = conn.as_mut()
            && let Some((locks, long)) =
                pg(sqlx::query_as::<_, (i64, i64)>(ACTIVITY).fetch_one(&mut *c)).await
        {
            let pg = &mut out.postgres;
            pg.lock_waits_peak = pg.lock_waits_peak.max(locks.max(0) as u64);
            pg.long_transactions_peak = pg.long_transactions_peak.max(long.max(0) as u64);
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
    out
}

/// Every user table's sequential-scan counters; `None` when they cannot be read.
async fn scan_counts(conn: &mut PgConnection) -> Option<ScanCounts> {
    let rows: Vec<(String, i64, i64)> = pg(sqlx::query_as(
        "SELECT schemaname || '.' || relname, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0) \
         FROM pg_stat_user_tables",
    )
    .fetch_all(conn))
    .await?;
    Some(
        rows.into_iter()
            .map(|(table, scans, rows)| (table, (scans.max(0) as u64, rows.max(0) as u64)))
            .collect(),
    )
}

/// The tables scanned between `before` and `after`, most rows read first, names without the
/// `public.` schema the service's tables live in.
fn table_scans(before: &ScanCounts, after: &ScanCounts) -> Vec<TableScan> {
    let mut scanned: Vec<(u64, TableScan)> = after
        .iter()
        .filter_map(|(table, &(scans, rows))| {
            let (scans_before, rows_before) = before.get(table).copied().unwrap_or_default();
            let scans = scans.saturating_sub(scans_before);
            let rows = rows.saturating_sub(rows_before);
            (scans > 0).then(|| {
                let name = table.strip_prefix("public.").unwrap_or(table).to_owned();
                let scan = TableScan {
                    table: name,
                    seq_scans: scans,
                    rows_per_scan: rows / scans,
                };
                (rows, scan)
            })
        })
        .collect();
    scanned.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.table.cmp(&b.1.table)));
    scanned
        .into_iter()
        .take(TOP_TABLES)
        .map(|(_, scan)| scan)
        .collect()
}

/// The statements with the most total time since the reset, or why there are none.
async fn top_statements(conn: &mut PgConnection) -> Result<Vec<StatementStat>, String> {
    let rows: Vec<(String, i64, f64, i64)> = tokio::time::timeout(
        PG_TIMEOUT,
        sqlx::query_as(
            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls, total_exec_time, \
             (shared_blks_hit + shared_blks_read)::int8 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database \
             WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT $1",
        )
        .bind(TOP_STATEMENTS as i64)
        .fetch_all(conn),
    )
    .await
    .map_err(|_| "pg_stat_statements did not answer in time".to_owned())?
    .map_err(|e| {
        format!("pg_stat_statements is not loaded on this server (shared_preload_libraries): {e}")
    })?;
    Ok(rows
        .into_iter()
        .map(|(query, calls, total_ms, pages)| {
            let calls = calls.max(0) as u64;
            let total_us = (total_ms * 1000.0).max(0.0) as u64;
            StatementStat {
                query,
                calls,
                total_us,
                mean_us: total_us.checked_div(calls).unwrap_or(0),
                pages_per_call: (pages.max(0) as u64).checked_div(calls).unwrap_or(0),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_route_costs_and_their_delta() {
        let text = "hrms_route_requests_total{method=\"GET\",route=\"/employees\"} 10\n\
            hrms_route_seconds_total{method=\"GET\",route=\"/employees\"} 0.5\n\
            hrms_route_db_queries_total{method=\"GET\",route=\"/employees\"} 30\n\
            hrms_route_db_seconds_total{method=\"GET\",route=\"/employees\"} 0.2\n\
            hrms_route_pool_wait_seconds_total{method=\"GET\",route=\"/employees\"} 0.1\n\
            hrms_route_requests_total{method=\"GET\",route=\"/health/ready\"} 9\n\
            hrms_http_requests_total{method=\"GET\",route=\"/employees\",status=\"200\"} 10\n";
        let after = parse_costs(text);
        assert_eq!(after.len(), 1);
        let before = Costs::from([(
            "GET /employees".to_owned(),
            RouteCost {
                requests: 4,
                db_queries: 12,
                ..RouteCost::default()
            },
        )]);
        let d = delta(&before, &after);
        let e = &d["GET /employees"];
        assert_eq!((e.requests, e.db_queries), (6, 18));
        assert!((e.pool_wait_seconds - 0.1).abs() < 1e-9);
    }

    #[test]
    fn table_scans_are_the_attacks_most_rows_first_without_the_public_schema() {
        let before = ScanCounts::from([
            ("public.employees".to_owned(), (10, 1_000)),
            ("public.departments".to_owned(), (5, 50)),
        ]);
        let after = ScanCounts::from([
            ("public.employees".to_owned(), (30, 401_000)),
            ("public.departments".to_owned(), (105, 1_050)),
            ("public.leave_requests".to_owned(), (0, 0)),
            ("audit.events".to_owned(), (2, 20)),
        ]);
        let scans = table_scans(&before, &after);
        let rows: Vec<(&str, u64, u64)> = scans
            .iter()
            .map(|t| (t.table.as_str(), t.seq_scans, t.rows_per_scan))
            .collect();
        assert_eq!(
            rows,
            [
                ("employees", 20, 20_000),
                ("departments", 100, 10),
                ("audit.events", 2, 10)
            ]
        );
    }
}
