//! The diagnosis's arithmetic: per-route counters into per-request means, and the rules that
//! name a cause when one resource dominates an endpoint's latency. Pure, so the same numbers
//! always name the same cause.
//!
//! Every rule has a floor in absolute time as well as a share: on a fast, healthy endpoint the
//! database is easily 70 % of 2 ms, and that is no bottleneck. The floors sit well above what
//! the clean service shows under the built-in profiles here (a few ms per request) and well
//! below what each seeded performance defect costs (tens of ms).
//!
//! A machine busy elsewhere slows every part of a request at once, and the parts the client
//! side measures (pool wait includes the connection's ping and `BEGIN`; database time is
//! round trips) grow with it. So the rules that such a machine could trip also ask for the
//! resource's own evidence: pool wait counts only when the requests found every connection
//! in use, database time only with lock waits or a statement slow on
//! the server itself (`pg_stat_statements`' mean), and the service's own time from a higher
//! floor. Measured clean under a concurrent build here: pool wait up to 47 % of a clock-in's
//! 5 ms, database 49 % of a 14 ms list (docs/bottlenecks.md).

use std::collections::BTreeMap;

use crate::model::{DiagnosisSection, EndpointDiagnosis};

/// A route's counters over the attack (after − before), as the service exports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RouteCost {
    /// Requests.
    pub requests: u64,
    /// Time in the service, seconds.
    pub seconds: f64,
    /// SQL statements.
    pub db_queries: u64,
    /// Time awaiting SQL, seconds.
    pub db_seconds: f64,
    /// Time waiting for a pooled connection, seconds.
    pub pool_wait_seconds: f64,
    /// Connections asked for while every one was in use.
    pub pool_exhausted: u64,
    /// Time awaiting Redis, seconds.
    pub redis_seconds: f64,
}

/// Endpoints with fewer requests are shown but never named as a cause: one slow login is
/// not a bottleneck.
pub const MIN_REQUESTS: u64 = 20;
/// A part must be at least this share of an endpoint's mean latency to be its cause.
pub const DOMINANT_SHARE: f64 = 0.5;
/// And at least this much time per request, µs.
pub const MIN_PART_US: u64 = 10_000;
/// Pool wait is named from a lower floor, given that the requests found the pool exhausted: a
/// healthy pool hands a connection out in well under a millisecond. (3 ms missed a pool of
/// two on a quiet machine: 16 lists in flight waited 2.8 ms, 49 % of a 5.7 ms list, while a
/// clean pool of twenty under the same burst waited 3.2 ms without ever running out, so the
/// wait's length alone tells nothing; the pool running out does.)
pub const MIN_POOL_WAIT_US: u64 = 1_000;
/// Pool wait is named from this share: with the evidence that the pool was exhausted, the wait is
/// pure queueing, and a smaller share of the latency already is the bottleneck. (A pool of
/// two on a quiet machine: 36 % of a 4.5 ms list, the rest Redis round trips and the
/// hand-out's own; the clean pool never ran out under the same burst.)
pub const POOL_SHARE: f64 = 0.3;
/// Pool wait is queueing when at least this share of an endpoint's requests asked for a
/// connection while every one was in use.
pub const POOL_EXHAUSTED_SHARE: f64 = 0.25;
/// A pool full at this share of the samples (four a second) is too small for the load,
/// whatever share of each request the wait is: under a closed model's think times a pool of
/// two stays full while each request waits only a little (stress at the medium profile: 2/2
/// in use, the wait a small share of a request). A clean pool fills for a moment when a
/// whole pool of users logs in at once, not for a quarter of a run.
pub const POOL_FULL_SHARE: f64 = 0.25;
/// Fewest samples the full share is judged on (two seconds).
pub const POOL_FULL_MIN_SAMPLES: u64 = 8;
/// The service's own time (CPU, a blocking call) is named from this floor, µs: a busy
/// machine stretches it first.
pub const MIN_SELF_US: u64 = 20_000;
/// A statement this slow on the server, on average, µs, is a slow statement (a scan, a sort
/// of many rows) rather than a round trip on a busy machine.
pub const SLOW_STATEMENT_US: u64 = 5_000;
/// Database time named without Postgres's own view (no statement statistics, no lock
/// waits seen), µs: a busy machine doubles a 10 ms list, not a 50 ms one.
pub const MIN_DB_UNSEEN_US: u64 = 50_000;
/// Statements per request from which a route is called an N+1.
pub const N_PLUS_ONE_QUERIES: f64 = 20.0;
/// Pages (8 KiB each) one call of a top read (`SELECT`) touches from which it is called a scan:
/// 2 MiB a call. An indexed list of a tenant's page touches a handful (7 measured by
/// `verify`'s `db.index_use`); the enterprise profile's `employees` is some 600 pages, which
/// a list planned without its index reads whole, twice (the page and its count). A table
/// too small to reach this is one a scan costs nothing on.
pub const SCAN_PAGES: u64 = 256;
/// Rows a sequential scan reads from which it is a scan that matters (when Postgres's table
/// statistics were read): the enterprise profile's `employees` holds 20,000, the small and
/// medium profiles' 100 and 1,000 rows are read whole faster than through an index.
pub const SCAN_ROWS: u64 = 5_000;
/// Growth of the job queue over the attack that is called unbounded.
pub const QUEUE_GROWTH: u64 = 10;

fn us(seconds: f64, requests: u64) -> u64 {
    if requests == 0 {
        return 0;
    }
    (seconds / requests as f64 * 1e6).round().max(0.0) as u64
}

/// Per-request means, one entry per route with requests, sorted by name.
pub fn endpoints(routes: &BTreeMap<String, RouteCost>) -> Vec<EndpointDiagnosis> {
    routes
        .iter()
        .filter(|(_, c)| c.requests > 0)
        .map(|(name, c)| {
            let n = c.requests;
            let (mean, db, pool, redis) = (
                us(c.seconds, n),
                us(c.db_seconds, n),
                us(c.pool_wait_seconds, n),
                us(c.redis_seconds, n),
            );
            EndpointDiagnosis {
                name: name.clone(),
                requests: n,
                mean_us: mean,
                db_us: db,
                pool_wait_us: pool,
                pool_exhausted_share: c.pool_exhausted as f64 / n as f64,
                redis_us: redis,
                service_us: mean.saturating_sub(db + pool + redis),
                queries_per_request: c.db_queries as f64 / n as f64,
            }
        })
        .collect()
}

fn pct(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// The endpoint (judged: enough requests) with the largest `part` × requests, if any.
/// Of the endpoints where `dominates` holds, the one that spent the most time in `part`.
/// The rule is asked first, the total after: a busier endpoint where the part is only a
/// share (verify's clock-ins beside its list, under a starved pool) must not hide the one
/// where it dominates.
fn worst(
    d: &DiagnosisSection,
    part: impl Fn(&EndpointDiagnosis) -> u64,
    dominates: impl Fn(&EndpointDiagnosis) -> bool,
) -> Option<&EndpointDiagnosis> {
    d.endpoints
        .iter()
        .filter(|e| e.requests >= MIN_REQUESTS && dominates(e))
        .max_by_key(|e| (part(e).saturating_mul(e.requests), e.name.clone()))
}

/// The causes that dominate, most specific first; empty when none does.
pub fn causes(d: &DiagnosisSection) -> Vec<String> {
    let mut out = Vec::new();
    // The wait is queueing when the requests found the pool exhausted, each counted by the
    // service as it asked. Neither the "waiting" gauge nor the wait's length is evidence: the
    // gauge counts every request inside the hand-out (ping and `BEGIN` included), and on a
    // busy machine the hand-out's own task wake-ups stretch it — a clean verify under the
    // suite's load waited 13 ms, 49 % of a list, with 12 of 20 connections in use and 11
    // "waiting". Nor is one sample of a full pool: a login storm fills a clean pool for a
    // moment (stress at the medium profile: 20/20 once, pool wait 34–48 % of a 5–9 ms
    // request), while the short bursts of the bottlenecks test may show a starved pool full
    // at a single reading. The share of an endpoint's own requests that queued tells both.
    let pool_dominates = |e: &EndpointDiagnosis| {
        e.pool_wait_us >= MIN_POOL_WAIT_US
            && e.share(e.pool_wait_us) >= POOL_SHARE
            && e.pool_exhausted_share >= POOL_EXHAUSTED_SHARE
    };
    if let Some(e) = worst(d, |e| e.pool_wait_us, pool_dominates) {
        out.push(format!(
            "pool wait is {} of {} latency (mean {}); {} of its requests found every \
             connection in use; pool {}/{} in use, {} waiting at peak",
            pct(e.share(e.pool_wait_us)),
            e.name,
            ms(e.mean_us),
            pct(e.pool_exhausted_share.min(1.0)),
            d.pool.in_use_peak,
            d.pool.max,
            d.pool.waiters_peak
        ));
    } else if d.pool.samples >= POOL_FULL_MIN_SAMPLES
        && d.pool.full_samples as f64 >= POOL_FULL_SHARE * d.pool.samples as f64
    {
        let full = d.pool.full_samples as f64 / d.pool.samples as f64;
        let waited =
            worst(d, |e| e.pool_wait_us, |e| e.pool_wait_us > 0).map_or_else(String::new, |e| {
                format!(
                    "; pool wait is {} of {} latency (mean {})",
                    pct(e.share(e.pool_wait_us)),
                    e.name,
                    ms(e.mean_us)
                )
            });
        out.push(format!(
            "the DB pool was full ({}/{} in use) in {} of the samples, {} waiting at peak: too \
             small for this load{waited}",
            d.pool.max,
            d.pool.max,
            pct(full),
            d.pool.waiters_peak
        ));
    }
    for e in d.endpoints.iter().filter(|e| e.requests >= MIN_REQUESTS) {
        if e.queries_per_request >= N_PLUS_ONE_QUERIES {
            out.push(format!(
                "{} runs {:.0} SQL statements per request (DB {} of its latency): an N+1 query",
                e.name,
                e.queries_per_request,
                pct(e.share(e.db_us))
            ));
        }
    }
    let n_plus_one = |e: &EndpointDiagnosis| e.queries_per_request >= N_PLUS_ONE_QUERIES;
    let pg = &d.postgres;
    // A read's slowness only: the slowest statement overall is often a background job's
    // write (the payroll batch inserting payslips, 9.5 ms a call at 1,000 employees a
    // tenant), which says nothing about an endpoint's database time.
    let slow_top = pg
        .top_statements
        .iter()
        .find(|st| is_read(&st.query))
        .filter(|top| top.mean_us >= SLOW_STATEMENT_US)
        .map(|top| {
            format!(
                "slowest read by total time: {} ({} per call)",
                top.query,
                ms(top.mean_us)
            )
        });
    // Which evidence names the database; `None`: Postgres itself shows nothing slow.
    let evidence = if pg.lock_waits_peak >= 2 {
        Some(format!(
            "lock waits: up to {} backends waiting on a lock",
            pg.lock_waits_peak
        ))
    } else {
        slow_top
    };
    // No statistics to look at (an external Postgres, or pg_stat_statements unreadable):
    // only a database time no busy machine explains is named.
    let unseen = pg.top_statements.is_empty() && evidence.is_none();
    let floor = if unseen {
        MIN_DB_UNSEEN_US
    } else {
        MIN_PART_US
    };
    let evidence = evidence.or_else(|| unseen.then(|| "slow statements".to_owned()));
    let db_dominates = |e: &EndpointDiagnosis| {
        !n_plus_one(e) && e.db_us >= floor && e.share(e.db_us) >= DOMINANT_SHARE
    };
    if let Some(e) = worst(d, |e| e.db_us, db_dominates)
        && let Some(why) = evidence
    {
        out.push(format!(
            "database time is {} of {} latency (mean {}, {:.0} statements per request); {why}",
            pct(e.share(e.db_us)),
            e.name,
            ms(e.mean_us),
            e.queries_per_request
        ));
    }
    // Independent of any endpoint's shares: a scan holds its connection longer, so under load
    // it shows as pool wait on every route, and the statement is the cause.
    for st in pg
        .top_statements
        .iter()
        .filter(|st| st.calls >= MIN_REQUESTS && st.pages_per_call >= SCAN_PAGES)
        // Reads only: a write touches index pages too (the payroll batch that inserts a
        // batch's payslips touches 968 pages a call on the medium profile, indexes in use).
        .filter(|st| is_read(&st.query))
    {
        let named = format!(
            "{} reads {} pages ({} MiB) per call, {} calls ({} per call on the server)",
            st.query,
            st.pages_per_call,
            st.pages_per_call * 8 / 1024,
            st.calls,
            ms(st.mean_us)
        );
        // With Postgres's own count of sequential scans, the pages alone are not enough: an
        // index scan over every employee of a large tenant (the department list's head
        // counts, 737 pages a call at 1,000 employees a tenant) is the work asked for, not
        // a missing index.
        match &pg.table_scans {
            None => out.push(format!("{named}: a scan where an index should serve")),
            Some(tables) => {
                if let Some(t) = tables.iter().find(|t| {
                    t.seq_scans >= MIN_REQUESTS
                        && t.rows_per_scan >= SCAN_ROWS
                        && names_table(&st.query, &t.table)
                }) {
                    out.push(format!(
                        "{named}; Postgres read {} whole {} times ({} rows a scan): a scan \
                         where an index should serve",
                        t.table, t.seq_scans, t.rows_per_scan
                    ));
                }
            }
        }
    }
    let redis_dominates =
        |e: &EndpointDiagnosis| e.redis_us >= MIN_PART_US && e.share(e.redis_us) >= DOMINANT_SHARE;
    if let Some(e) = worst(d, |e| e.redis_us, redis_dominates) {
        out.push(format!(
            "Redis time is {} of {} latency (mean {})",
            pct(e.share(e.redis_us)),
            e.name,
            ms(e.mean_us)
        ));
    }
    let self_dominates = |e: &EndpointDiagnosis| {
        e.service_us >= MIN_SELF_US && e.share(e.service_us) >= DOMINANT_SHARE
    };
    if let Some(e) = worst(d, |e| e.service_us, self_dominates) {
        out.push(format!(
            "time in the service itself is {} of {} latency (mean {}): not the database, the \
             pool or Redis, but CPU or a blocking call",
            pct(e.share(e.service_us)),
            e.name,
            ms(e.mean_us)
        ));
    }
    let q = &d.queue;
    if q.last >= q.first + QUEUE_GROWTH && q.last >= 2 * q.first {
        out.push(format!(
            "the payroll job queue grew from {} to {} jobs (peak {}): enqueued faster than the \
             workers drain",
            q.first, q.last, q.peak
        ));
    }
    out
}

/// Whether a statement only reads (a `WITH … INSERT` writes whatever it selects first).
fn is_read(query: &str) -> bool {
    query
        .get(..7)
        .is_some_and(|k| k.eq_ignore_ascii_case("SELECT "))
}

/// Whether `query` names `table` as a whole word (`employees`, not `employees_archive`).
fn names_table(query: &str, table: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    query.match_indices(table).any(|(at, _)| {
        let before = query[..at].chars().next_back();
        let after = query[at + table.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
#[path = "diagnosis_tests.rs"]
mod tests;
