//! Backups, disasters and restores of a provisioned Postgres: the moving parts of a
//! backup-and-restore drill.
//!
//! [`BackupSite::prepare`] turns WAL archiving on (for `basebackup+wal`) and makes the places
//! backups go to; [`BackupSite::take`] takes one backup with the server's own tools
//! (`pg_basebackup`, `pg_dump`) and, for a WAL strategy, checks that the archive really holds
//! what the server says it archived; [`BackupSite::disaster`] destroys data;
//! [`BackupSite::restore`] builds a *new* server from the newest backup (plus WAL replay) on the
//! old server's port, so every client keeps its URL and reconnects to the restored data.
//!
//! Every tool runs through one shell (`script.rs`): on the native backend as the server's
//! account on this host, on the docker backend inside the container, where the tools are. The
//! scripts are the same; only where they run differs.

mod docker;
mod native;
mod script;
mod sql;

use std::time::{Duration, Instant, SystemTime};

use sqlx::Connection;

pub use docker::ROOT as DOCKER_ROOT;
pub use sql::{COUNTED_TABLES, row_counts};

use sql::{connect, connect_to, quote};

use crate::{Backend, ControlError, ProvisionError, Server, server::Inner};

/// How backups are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `pg_basebackup` on a schedule plus continuous WAL archiving: restore the newest base
    /// backup and replay the archive (point-in-time recovery).
    BaseBackupWal,
    /// `pg_dump` (custom format, plus the roles from `pg_dumpall --globals-only`) on a
    /// schedule: restore the newest dump; everything after it is gone.
    PgDump,
}

/// What the archive command does with a finished WAL segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCommand {
    /// Copies it into the archive (refusing to overwrite).
    Copy,
    /// SEEDED FAULT: exits 0 without copying, the way a misconfigured archive fails in real
    /// life (the server believes every segment is safe).
    SilentlyBroken,
}

/// How the site is set up.
#[derive(Debug, Clone, Copy)]
pub struct BackupConfig {
    /// What a backup is.
    pub strategy: Strategy,
    /// `archive_timeout`: the longest a committed write waits in an unarchived WAL segment.
    pub archive_timeout: Duration,
    /// The archive command (a seeded silent failure, for the drill's own tests).
    pub archive_command: ArchiveCommand,
}

/// The data-destroying event a drill recovers from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disaster {
    /// `DROP DATABASE` of the service's database (the server survives).
    DropDatabase,
    /// The server is killed and its data directory (docker: its container) removed.
    DestroyDataDir,
    /// A committed `DELETE` of every attendance row: recovery goes to just before it.
    BadDelete,
}

/// One backup that was taken.
#[derive(Debug, Clone)]
pub struct Backup {
    /// 1-based, in the order taken.
    pub index: u32,
    /// When it started (a dump's snapshot is taken at its start).
    pub started: SystemTime,
    /// How long taking it took.
    pub duration: Duration,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// Where recovery stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// The end of the archive: whatever the dead server managed to archive.
    Latest,
    /// Just before this WAL position (read right before a `DROP DATABASE`).
    BeforeLsn(String),
    /// Just before this transaction committed (the bad `DELETE`).
    BeforeXid(String),
}

impl std::fmt::Display for RecoveryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Latest => f.write_str("the end of the WAL archive"),
            Self::BeforeLsn(lsn) => write!(f, "just before WAL position {lsn}"),
            Self::BeforeXid(xid) => write!(f, "just before transaction {xid}"),
        }
    }
}

/// What a disaster did.
#[derive(Debug, Clone)]
pub struct DisasterDone {
    /// When it struck.
    pub at: SystemTime,
    /// Where a point-in-time recovery should stop for it.
    pub target: RecoveryTarget,
}

/// A server built from a backup, serving on the old server's port.
#[derive(Debug)]
pub struct Restored {
    /// The new server; dropping it removes it.
    pub server: Server,
    /// From the start of the restore (old server taken down) until the new one answered.
    pub duration: Duration,
    /// What was restored, in words (`backup 3, WAL replayed to the end of the archive`).
    pub from: String,
}

/// Why a backup, disaster or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Backups destroy and replace servers: never someone else's.
    #[error(
        "the {backend} backend cannot take part in a backup drill: it destroys the server's data"
    )]
    NotSupported {
        /// The refusing backend.
        backend: Backend,
    },
    /// A tool or a shell step failed.
    #[error("{what} failed (exit {status}): {output}")]
    Tool {
        /// What was being done.
        what: String,
        /// Its exit status.
        status: String,
        /// The end of what it printed.
        output: String,
    },
    /// The server reports a segment as archived that the archive does not hold.
    #[error(
        "WAL archiving is failing silently: the server reports {segment} as archived, but the \
         archive holds no such file — the archive command exits 0 without copying, so no \
         point-in-time recovery past the base backup is possible"
    )]
    ArchiveSilentlyFailing {
        /// The segment the server believes archived.
        segment: String,
    },
    /// No backup was taken before the disaster.
    #[error("there is no backup to restore from")]
    NoBackup,
    /// A query against the server failed.
    #[error("{what}: {error}")]
    Sql {
        /// What was being asked.
        what: &'static str,
        /// The driver's error (in the message, so not a `source`).
        error: sqlx::Error,
    },
    /// A lifecycle control failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The restored server could not be set up or did not become ready.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
}

/// Where the backups go, and how to reach the server's tools.
#[derive(Debug)]
pub struct BackupSite {
    config: BackupConfig,
    place: Place,
    taken: Vec<Backup>,
}

/// The backend-specific half.
#[derive(Debug)]
enum Place {
    Native(native::NativePlace),
    Docker(docker::DockerPlace),
}

impl BackupSite {
    /// Makes the backup directories and, for `basebackup+wal`, turns archiving on (a restart:
    /// `archive_mode` is read at server start).
    pub async fn prepare(server: &Server, config: BackupConfig) -> Result<Self, BackupError> {
        let place = match &server.inner {
            Inner::Native(s) => Place::Native(native::NativePlace::new(s)?),
            Inner::Docker(s) => Place::Docker(docker::DockerPlace::new(s)?),
            Inner::External => {
                return Err(BackupError::NotSupported {
                    backend: Backend::External,
                });
            }
        };
        let site = Self {
            config,
            place,
            taken: Vec::new(),
        };
        site.sh(
            server,
            "making the backup directories",
            &script::make_dirs(site.root()),
        )
        .await?;
        if config.strategy == Strategy::BaseBackupWal {
            let command = script::archive_command(site.root(), config.archive_command);
            let timeout = config.archive_timeout.as_secs().max(1);
            let mut conn = connect(server).await?;
            for statement in [
                "ALTER SYSTEM SET archive_mode = 'on'".to_owned(),
                format!("ALTER SYSTEM SET archive_command = {}", quote(&command)),
                format!("ALTER SYSTEM SET archive_timeout = '{timeout}s'"),
            ] {
                // Our own settings, quoted by `quote`: nothing here comes from a client.
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .map_err(sql_error("turning WAL archiving on"))?;
            }
            let _ = conn.close().await;
            server.restart().await?;
        }
        Ok(site)
    }

    /// The backups taken so far, oldest first.
    pub fn backups(&self) -> &[Backup] {
        &self.taken
    }

    /// Takes the next backup and, for a WAL strategy, checks the archive behind it.
    pub async fn take(&mut self, server: &Server) -> Result<Backup, BackupError> {
        let index = self.taken.len() as u32 + 1;
        let started = SystemTime::now();
        let clock = Instant::now();
        let (what, body) = match self.config.strategy {
            Strategy::BaseBackupWal => ("pg_basebackup", script::base_backup(self.root(), index)),
            Strategy::PgDump => ("pg_dump", script::dump(self.root(), index)),
        };
        let out = self.sh(server, what, &body).await?;
        let duration = clock.elapsed();
        let size_bytes = out
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        if self.config.strategy == Strategy::BaseBackupWal {
            self.check_archive(server).await?;
        }
        let backup = Backup {
            index,
            started,
            duration,
            size_bytes,
        };
        self.taken.push(backup.clone());
        Ok(backup)
    }

    /// A backup whose WAL never reached the archive cannot be restored past its start: the
    /// server's own statistics name the last segment it archived, and the archive must hold it.
    async fn check_archive(&self, server: &Server) -> Result<(), BackupError> {
        let mut conn = connect(server).await?;
        let last: Option<String> =
            sqlx::query_scalar("SELECT last_archived_wal FROM pg_stat_archiver")
                .fetch_one(&mut conn)
                .await
                .map_err(sql_error("reading pg_stat_archiver"))?;
        let _ = conn.close().await;
        // pg_basebackup waits until the backup's last segment is archived, so there is one.
        let segment = last.unwrap_or_default();
        let check = script::archived(self.root(), &segment);
        match self.sh(server, "checking the WAL archive", &check).await {
            Ok(_) => Ok(()),
            Err(BackupError::Tool { .. }) => Err(BackupError::ArchiveSilentlyFailing { segment }),
            Err(e) => Err(e),
        }
    }

    /// Strikes: destroys data the way `disaster` says, and says where recovery should stop.
    pub async fn disaster(
        &self,
        server: &Server,
        disaster: Disaster,
    ) -> Result<DisasterDone, BackupError> {
        let at = SystemTime::now();
        let target = match disaster {
            Disaster::DestroyDataDir => {
                match &self.place {
                    Place::Native(p) => p.destroy(server).await?,
                    Place::Docker(p) => p.destroy(server).await?,
                }
                RecoveryTarget::Latest
            }
            Disaster::DropDatabase => {
                let mut conn = connect_to(server, "template1").await?;
                let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(sql_error("reading the WAL position"))?;
                sqlx::query("DROP DATABASE postgres WITH (FORCE)")
                    .execute(&mut conn)
                    .await
                    .map_err(sql_error("dropping the database"))?;
                let _ = conn.close().await;
                RecoveryTarget::BeforeLsn(lsn)
            }
            Disaster::BadDelete => {
                let mut conn = connect(server).await?;
                let mut tx = conn
                    .begin()
                    .await
                    .map_err(sql_error("opening the bad transaction"))?;
                let xid: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(sql_error("reading the bad transaction's id"))?;
                sqlx::query("DELETE FROM attendance")
                    .execute(&mut *tx)
                    .await
                    .map_err(sql_error("the bad delete"))?;
                tx.commit()
                    .await
                    .map_err(sql_error("committing the bad delete"))?;
                let _ = conn.close().await;
                RecoveryTarget::BeforeXid(xid)
            }
        };
        Ok(DisasterDone { at, target })
    }

    /// Builds a new server from the newest backup on the old server's port and waits until it
    /// answers. A server that survived the disaster first archives its current WAL (the target
    /// lies in it) and is then stopped: clients must not write to the damaged copy meanwhile.
    pub async fn restore(
        &self,
        server: &Server,
        target: &RecoveryTarget,
    ) -> Result<Restored, BackupError> {
        let backup = self.taken.last().ok_or(BackupError::NoBackup)?;
        let clock = Instant::now();
        if *target != RecoveryTarget::Latest {
            if self.config.strategy == Strategy::BaseBackupWal {
                self.flush_archive(server).await?;
            }
            server.kill().await?;
        }
        let (server, from) = match self.config.strategy {
            Strategy::BaseBackupWal => {
                let prep = script::restore_base(self.root(), backup.index, target);
                let restored = match &self.place {
                    Place::Native(p) => p.start_restored(Some(&prep)).await?,
                    Place::Docker(p) => p.start_restored(server, Some(&prep)).await?,
                };
                let from = format!("backup {}, WAL replayed to {target}", backup.index);
                (restored, from)
            }
            Strategy::PgDump => {
                let restored = match &self.place {
                    Place::Native(p) => p.start_restored(None).await?,
                    Place::Docker(p) => p.start_restored(server, None).await?,
                };
                let load = script::restore_dump(self.root(), backup.index);
                Self::sh_on(&self.place, &restored, "pg_restore", &load).await?;
                let from = format!("dump {} (nothing after it can be replayed)", backup.index);
                (restored, from)
            }
        };
        Ok(Restored {
            server,
            duration: clock.elapsed(),
            from,
        })
    }

    /// Switches to a new WAL segment and waits until the archiver has it (bounded).
    async fn flush_archive(&self, server: &Server) -> Result<(), BackupError> {
        let mut conn = connect_to(server, "template1").await?;
        let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())::text")
            .fetch_one(&mut conn)
            .await
            .map_err(sql_error("switching the WAL segment"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let last: Option<String> =
                sqlx::query_scalar("SELECT last_archived_wal FROM pg_stat_archiver")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(sql_error("reading pg_stat_archiver"))?;
            if last.as_deref().is_some_and(|l| l >= segment.as_str()) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = conn.close().await;
        Ok(())
    }

    fn root(&self) -> &str {
        match &self.place {
            Place::Native(p) => p.root(),
            Place::Docker(_) => docker::ROOT,
        }
    }

    async fn sh(&self, server: &Server, what: &str, body: &str) -> Result<String, BackupError> {
        Self::sh_on(&self.place, server, what, body).await
    }

    async fn sh_on(
        place: &Place,
        server: &Server,
        what: &str,
        body: &str,
    ) -> Result<String, BackupError> {
        match place {
            Place::Native(p) => p.sh(what, body).await,
            Place::Docker(p) => p.sh(server, what, body).await,
        }
    }
}

/// `map_err` for a failed statement: what the drill was doing, and sqlx's error.
pub(crate) fn sql_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> BackupError {
    move |error| BackupError::Sql { what, error }
}
