//! The backup-and-restore drill: what backups cost, how long the restore and the whole outage
//! took (RTO) and what the ledger says was lost (RPO), measured rather than claimed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the drill's backups were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DrillStrategy {
    /// `pg_basebackup` on a schedule plus continuous WAL archiving (point-in-time recovery).
    #[serde(rename = "basebackup+wal")]
    BaseBackupWal,
    /// `pg_dump` on a schedule; nothing after the newest dump can be recovered.
    #[serde(rename = "pg_dump")]
    PgDump,
}

impl DrillStrategy {
    /// As written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BaseBackupWal => "basebackup+wal",
            Self::PgDump => "pg_dump",
        }
    }
}

/// What destroyed the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillDisaster {
    /// `DROP DATABASE` of the service's database.
    DropDatabase,
    /// The server killed and its data directory removed.
    DestroyDataDir,
    /// A committed `DELETE` of every attendance row; recovery goes to just before it.
    BadDelete,
}

impl DrillDisaster {
    /// As written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DropDatabase => "drop_database",
            Self::DestroyDataDir => "destroy_data_dir",
            Self::BadDelete => "bad_delete",
        }
    }
}

/// One backup taken during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrillBackup {
    /// 1-based, in the order taken.
    pub index: u32,
    /// When it started, microseconds from run start.
    pub start_offset_us: u64,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// Rows of one table before the disaster and after the restore.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableCounts {
    /// Table name.
    pub table: String,
    /// Right before the disaster; null when it could not be read.
    pub before: Option<u64>,
    /// Once the restored server answered; null when it could not be read.
    pub after: Option<u64>,
}

/// The drill's measurements. `enabled` is false for every run that is not a drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrillSection {
    /// True when the run was a backup-and-restore drill.
    pub enabled: bool,
    /// How backups were taken; null when not a drill.
    pub strategy: Option<DrillStrategy>,
    /// What destroyed the data; null when not a drill.
    pub disaster: Option<DrillDisaster>,
    /// The server's `archive_timeout` (WAL strategy), in microseconds.
    pub archive_timeout_us: Option<u64>,
    /// Every backup taken, in order.
    pub backups: Vec<DrillBackup>,
    /// When the disaster struck, microseconds from run start.
    pub disaster_offset_us: Option<u64>,
    /// What the restore started from, in words.
    pub restored_from: Option<String>,
    /// From the old server taken down to the new one answering, in microseconds.
    pub restore_duration_us: Option<u64>,
    /// From the disaster until the service answered with the restored data, in microseconds
    /// (`drill.rto`).
    pub rto_us: Option<u64>,
    /// When the service answered with the restored data, microseconds from run start.
    pub ready_offset_us: Option<u64>,
    /// The data-loss window: the disaster's time minus the acknowledgement time of the oldest
    /// acknowledged write that the restore lost; 0 when none was (`drill.rpo`).
    pub rpo_us: Option<u64>,
    /// Writes acknowledged before the disaster.
    pub acked_before_disaster: u64,
    /// Acknowledged writes missing after the restore (`drill.lost`).
    pub lost: Option<u64>,
    /// Of `lost`, those acknowledged after the disaster (a recovery to just before it cannot
    /// keep them).
    pub lost_after_disaster: u64,
    /// A few lost writes (endpoint, id, acknowledgement offset), oldest first.
    pub lost_examples: Vec<String>,
    /// Rows per table before and after.
    pub tables: Vec<TableCounts>,
    /// Why the drill could not produce an honest RTO or RPO; every `drill.*` threshold fails
    /// with it.
    pub failure: Option<String>,
}
