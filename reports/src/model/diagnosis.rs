//! Where the time went: per endpoint, the service's own accounting of database, pool-wait and
//! Redis time; the pool, the job queue and Postgres as the harness sampled them; and the
//! causes named when one resource dominates (`crate::diagnosis` derives them).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The diagnosis section; `enabled: false` when the target exports no per-route cost
/// metrics (a deployment that is not the reference service, or an older one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DiagnosisSection {
    /// Whether the service's per-route cost metrics were read.
    pub enabled: bool,
    /// One entry per `METHOD /route` the attack reached, sorted by name.
    pub endpoints: Vec<EndpointDiagnosis>,
    /// The DB pool as sampled each second during the attack.
    pub pool: PoolUsage,
    /// The payroll job queue as sampled each second during the attack.
    pub queue: QueueUsage,
    /// Postgres's own view: lock waits, long transactions, slowest statements.
    pub postgres: PostgresActivity,
    /// One line per cause that dominates; empty when none does (a clean run).
    pub causes: Vec<String>,
}

/// Per-request means of one route, from the service's counters (after − before the attack).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointDiagnosis {
    /// `METHOD /route`.
    pub name: String,
    /// Requests the service counted.
    pub requests: u64,
    /// Mean time in the service per request (middleware to response), µs.
    pub mean_us: u64,
    /// Mean time awaiting SQL statements per request, µs.
    pub db_us: u64,
    /// Mean time waiting for a pooled connection per request, µs.
    pub pool_wait_us: u64,
    /// Share of its requests (0..1; above 1 when a request asks more than once) that asked
    /// for a pooled connection while every one was in use: queueing, where `pool_wait_us`
    /// alone cannot tell it from a slow hand-out.
    #[serde(default)]
    pub pool_exhausted_share: f64,
    /// Mean time awaiting Redis per request, µs.
    pub redis_us: u64,
    /// The rest: the service's own work (and anything it waited on that is not measured).
    pub service_us: u64,
    /// SQL statements per request (BEGIN's settings and COMMIT included).
    pub queries_per_request: f64,
}

impl EndpointDiagnosis {
    /// Share of the mean latency (0..1) of a part, 0 for an endpoint without time.
    pub fn share(&self, part_us: u64) -> f64 {
        if self.mean_us == 0 {
            0.0
        } else {
            part_us as f64 / self.mean_us as f64
        }
    }
}

/// The DB pool's peaks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PoolUsage {
    /// Its configured maximum.
    pub max: u64,
    /// Most connections checked out at one sample.
    pub in_use_peak: u64,
    /// Most requests waiting for a connection at one sample.
    pub waiters_peak: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples that saw every connection in use.
    #[serde(default)]
    pub full_samples: u64,
}

/// The payroll queue's depth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QueueUsage {
    /// At the first sample.
    pub first: u64,
    /// At the last sample.
    pub last: u64,
    /// The largest sample.
    pub peak: u64,
}

/// Postgres sampled by the harness (`pg_stat_activity`, `pg_locks`, `pg_stat_statements`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PostgresActivity {
    /// Whether the harness could read Postgres (a local stack; not `--target`).
    pub sampled: bool,
    /// Most backends waiting on a lock at one sample.
    pub lock_waits_peak: u64,
    /// Most transactions open longer than 1 s at one sample.
    pub long_transactions_peak: u64,
    /// Statements by total execution time during the attack, largest first (at most 5);
    /// empty when `pg_stat_statements` could not be read (`statements_note` says why).
    pub top_statements: Vec<StatementStat>,
    /// Why there are no statements, when there are none.
    pub statements_note: Option<String>,
    /// Tables Postgres read sequentially during the attack, most rows read first (at most
    /// 5; from `pg_stat_user_tables`); `None` when they could not be read.
    #[serde(default)]
    pub table_scans: Option<Vec<TableScan>>,
}

/// One table's sequential scans over the attack (`pg_stat_user_tables`, after − before).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableScan {
    /// The table's name.
    pub table: String,
    /// Sequential scans started.
    pub seq_scans: u64,
    /// Rows those scans read, per scan: the table's size when each read it whole.
    pub rows_per_scan: u64,
}

/// One normalised statement from `pg_stat_statements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatementStat {
    /// The statement's text as Postgres normalised it (cut to 160 characters).
    pub query: String,
    /// Calls during the attack.
    pub calls: u64,
    /// Total execution time during the attack, µs.
    pub total_us: u64,
    /// Mean execution time, µs.
    pub mean_us: u64,
    /// Buffer pages (8 KiB) each call touched, hit or read (`shared_blks_hit +
    /// shared_blks_read` over calls): a few for an indexed lookup, the whole table for a scan.
    #[serde(default)]
    pub pages_per_call: u64,
}
