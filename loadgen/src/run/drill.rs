//! The backup-and-restore drill beside the attack (`[drill]` in a spec, `gauntlet run
//! backup-restore`): backups on a schedule from the first request on, the disaster at its
//! offset, the restore into a new server on the old one's port, and the moment the service
//! answers with the restored data again. Load runs throughout; the ledger, read back after
//! the attack, says what the restore lost ([`section`]).

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gauntlet_reports::drill::{AckedWrite, loss};
use gauntlet_reports::model::{DrillBackup, DrillSection, TableCounts};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_scenarios::personas::Write;
use gauntlet_scenarios::spec::{ArchiveHealth, Drill, DrillDisaster, DrillStrategy};
use gauntlet_testcontainers::Server;
use gauntlet_testcontainers::backup::{
    self, ArchiveCommand, Backup, BackupConfig, BackupSite, Disaster, Strategy,
};

use super::recorder::Recorder;

/// The service must answer with restored data within this after the restore, or the drill
/// has no RTO.
const READY_DEADLINE: Duration = Duration::from_secs(120);
/// Lost writes named in the report, at most.
const MAX_EXAMPLES: usize = 10;

/// The drill's plan at this run's scale.
#[derive(Debug, Clone)]
pub struct Planned {
    /// As written.
    pub spec: Drill,
    /// Scaled.
    pub backup_every: Duration,
    /// Scaled, and inside the load.
    pub disaster_at: Duration,
}

/// A drill destroys the database it restores: never someone else's (`--target`, or the
/// external backend's `DATABASE_URL`). Exit 2, before anything starts.
pub(super) fn refuse_without_own_servers(
    config: &super::RunConfig,
) -> Result<(), crate::exit::Failure> {
    let why = match &config.target {
        super::Target::Remote { .. } => Some("--target names a deployment"),
        super::Target::Local(p)
            if p.backend == gauntlet_testcontainers::BackendChoice::External =>
        {
            Some("the external backend uses DATABASE_URL's server")
        }
        super::Target::Local(_) => None,
    };
    match why {
        Some(why) => Err(crate::exit::Failure::bad_input(anyhow::anyhow!(
            "{}: a backup drill destroys the database it restores, so it only runs against              Postgres that gauntlet provisions itself (--backend docker or native); {why}.              To drill a staging database, restore a copy of it into a provisioned server              first (docs/drills.md)",
            config.scenario
        ))),
        None => Ok(()),
    }
}

/// Default thresholds of a drill, unless the spec already has them: the claims under test
/// (`RTO < 2 hours, RPO < 1 hour`), and no duplicated write. `ledger.lost == 0` is not one:
/// a restore loses what its RPO allows, and `drill.lost` / `drill.rpo` judge that.
pub fn add_default_thresholds(thresholds: &mut Vec<gauntlet_reports::Threshold>) {
    use gauntlet_reports::threshold::Metric;
    for (text, metric) in [
        ("drill.rto < 2h", Metric::DrillRto),
        ("drill.rpo < 1h", Metric::DrillRpo),
        ("ledger.duplicated == 0", Metric::LedgerDuplicated),
    ] {
        if !thresholds
            .iter()
            .any(|t| t.metric == metric && t.phase.is_none())
        {
            // Constants: a parse failure is a bug caught by the test below.
            if let Ok(t) = gauntlet_reports::parse_threshold(text) {
                thresholds.push(t);
            }
        }
    }
}

/// Scales the drill's offsets like the stages (`--duration-scale`); the disaster stays before
/// the load ends so the restore happens under load.
pub fn plan(drill: &Drill, scale: f64, load: Duration) -> Planned {
    let scaled = |d: Duration| d.mul_f64(scale).max(Duration::from_millis(100));
    let disaster_at = scaled(drill.disaster_at).min(load.mul_f64(0.9));
    Planned {
        spec: drill.clone(),
        backup_every: scaled(drill.backup_every),
        disaster_at,
    }
}

/// What happened, in unix time; [`section`] turns it into the report's section once the ledger
/// is read back.
#[derive(Debug, Default)]
pub struct DrillLog {
    backups: Vec<Backup>,
    disaster_unix_us: Option<u64>,
    restored_from: Option<String>,
    restore_duration: Option<Duration>,
    ready_unix_us: Option<u64>,
    before: Vec<(&'static str, Option<u64>)>,
    after: Vec<(&'static str, Option<u64>)>,
    failure: Option<String>,
    /// The restored server: it serves the ledger's read-back, so it lives until the run's end.
    pub restored: Option<Server>,
}

/// Runs `attack` with the drill beside it; waits for both (the restore may outlast the load).
pub async fn alongside<F: Future>(
    drill: Option<Prepared<'_>>,
    service: (&str, &Fixture),
    recorder: &Recorder,
    attack: F,
) -> (F::Output, Option<DrillLog>) {
    let Some(drill) = drill else {
        return (attack.await, None);
    };
    let mut log = DrillLog::default();
    let site = match drill.site {
        Ok(site) => Some(site),
        Err(why) => {
            log.failure = Some(why);
            None
        }
    };
    let (out, ()) = match site {
        Some(site) => {
            let run = run(
                drill.plan,
                site,
                drill.postgres,
                service,
                recorder,
                &mut log,
            );
            tokio::join!(attack, run)
        }
        None => (attack.await, ()),
    };
    (out, Some(log))
}

/// A drill ready to run: its plan, the provisioned Postgres and its backup site (or why the
/// site could not be prepared).
pub struct Prepared<'a> {
    /// The plan.
    pub plan: &'a Planned,
    /// The server the drill destroys.
    pub postgres: &'a Server,
    /// From [`prepare`].
    pub site: Result<BackupSite, String>,
}

/// The drill of a run that has one, with its site prepared (on the run's own Postgres).
pub async fn site<'a>(
    plan: Option<&'a Planned>,
    stack: Option<&'a gauntlet_testcontainers::Stack>,
) -> Option<Prepared<'a>> {
    let (plan, stack) = plan.zip(stack)?;
    Some(Prepared {
        plan,
        postgres: &stack.postgres,
        site: prepare(plan, &stack.postgres).await,
    })
}

/// Prepares the site before any load: turning archiving on restarts Postgres.
pub async fn prepare(drill: &Planned, postgres: &Server) -> Result<BackupSite, String> {
    let config = BackupConfig {
        strategy: match drill.spec.strategy {
            DrillStrategy::BaseBackupWal => Strategy::BaseBackupWal,
            DrillStrategy::PgDump => Strategy::PgDump,
        },
        archive_timeout: drill.spec.archive_timeout,
        archive_command: match drill.spec.archive {
            ArchiveHealth::Copy => ArchiveCommand::Copy,
            ArchiveHealth::SilentlyBroken => ArchiveCommand::SilentlyBroken,
        },
    };
    BackupSite::prepare(postgres, config)
        .await
        .map_err(|e| format!("preparing backups: {e}"))
}

async fn run(
    drill: &Planned,
    mut site: BackupSite,
    postgres: &Server,
    (base_url, fixture): (&str, &Fixture),
    recorder: &Recorder,
    log: &mut DrillLog,
) {
    // Offsets count from the first request, like the chaos schedule's.
    let started = loop {
        if let Some(at) = recorder.plan_started_unix_us() {
            break at;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let origin =
        Instant::now() - Duration::from_micros(super::now_unix_us().saturating_sub(started));
    let mut next = Duration::ZERO;
    while next < drill.disaster_at {
        tokio::time::sleep_until((origin + next).into()).await;
        match site.take(postgres).await {
            Ok(b) => {
                tracing::info!(backup = b.index, bytes = b.size_bytes, "backup taken");
                log.backups.push(b);
            }
            Err(e) => {
                log.failure = Some(format!("backup {} failed: {e}", log.backups.len() + 1));
                return;
            }
        }
        next += drill.backup_every;
    }
    tokio::time::sleep_until((origin + drill.disaster_at).into()).await;
    log.before = backup::row_counts(postgres).await;
    let disaster = match drill.spec.disaster {
        DrillDisaster::DropDatabase => Disaster::DropDatabase,
        DrillDisaster::DestroyDataDir => Disaster::DestroyDataDir,
        DrillDisaster::BadDelete => Disaster::BadDelete,
    };
    let done = match site.disaster(postgres, disaster).await {
        Ok(done) => done,
        Err(e) => {
            log.failure = Some(format!("the disaster could not be staged: {e}"));
            return;
        }
    };
    log.disaster_unix_us = Some(unix_us(done.at));
    let restored = match site.restore(postgres, &done.target).await {
        Ok(r) => r,
        Err(e) => {
            log.failure = Some(format!("the restore failed: {e}"));
            return;
        }
    };
    log.restore_duration = Some(restored.duration);
    log.restored_from = Some(restored.from);
    match wait_answering(base_url, fixture).await {
        Ok(()) => log.ready_unix_us = Some(super::now_unix_us()),
        Err(why) => log.failure = Some(why),
    }
    log.after = backup::row_counts(&restored.server).await;
    log.restored = Some(restored.server);
}

/// Ready means answering *with the restored data*: a login (its user row) and a list of
/// employees through the API, polled with a deadline.
async fn wait_answering(base_url: &str, fixture: &Fixture) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + READY_DEADLINE;
    let mut last = String::from("no attempt");
    while Instant::now() < deadline {
        match super::ledger::login_hr_admin(&client, base_url, fixture, 0).await {
            Some(token) => {
                let r = client
                    .get(format!("{base_url}/employees"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        if has_rows(&body) {
                            return Ok(());
                        }
                        last = "GET /employees answered with no employee".to_owned();
                    }
                    Ok(r) => last = format!("GET /employees answered {}", r.status()),
                    Err(e) => last = format!("GET /employees: {e}"),
                }
            }
            None => last = "the HR admin could not log in".to_owned(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "the service did not answer with the restored data within {READY_DEADLINE:?} (last: {last})"
    ))
}

fn has_rows(body: &serde_json::Value) -> bool {
    match body {
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => o
            .values()
            .any(|v| v.as_array().is_some_and(|a| !a.is_empty())),
        _ => false,
    }
}

/// The report's section: the log, with the ledger's verdict on every acknowledged write.
pub fn section(
    drill: &Planned,
    log: &DrillLog,
    writes: &[(Write, u64)],
    lost_ids: Option<&std::collections::BTreeSet<String>>,
    run_started_unix_us: u64,
) -> DrillSection {
    let offset = |t: u64| t.saturating_sub(run_started_unix_us);
    let mut s = DrillSection {
        enabled: true,
        strategy: Some(drill.spec.strategy),
        disaster: Some(drill.spec.disaster),
        archive_timeout_us: (drill.spec.strategy == DrillStrategy::BaseBackupWal)
            .then_some(drill.spec.archive_timeout.as_micros() as u64),
        backups: log
            .backups
            .iter()
            .map(|b| DrillBackup {
                index: b.index,
                start_offset_us: offset(unix_us(b.started)),
                duration_us: b.duration.as_micros() as u64,
                size_bytes: b.size_bytes,
            })
            .collect(),
        disaster_offset_us: log.disaster_unix_us.map(offset),
        restored_from: log.restored_from.clone(),
        restore_duration_us: log.restore_duration.map(|d| d.as_micros() as u64),
        ready_offset_us: log.ready_unix_us.map(offset),
        rto_us: log
            .ready_unix_us
            .zip(log.disaster_unix_us)
            .map(|(r, d)| r.saturating_sub(d)),
        failure: log.failure.clone(),
        tables: log
            .before
            .iter()
            .map(|(table, before)| TableCounts {
                table: (*table).to_owned(),
                before: *before,
                after: log
                    .after
                    .iter()
                    .find(|(t, _)| t == table)
                    .and_then(|(_, n)| *n),
            })
            .collect(),
        ..DrillSection::default()
    };
    let (Some(disaster), Some(lost_ids)) = (log.disaster_unix_us, lost_ids) else {
        if s.failure.is_none() {
            s.failure = Some("the ledger could not be read back after the restore".to_owned());
        }
        return s;
    };
    let acked: Vec<(&Write, u64)> = writes
        .iter()
        .filter(|(w, _)| w.acked && w.id.is_some())
        .map(|(w, t)| (w, *t))
        .collect();
    let is_lost = |w: &Write| w.id.as_ref().is_some_and(|id| lost_ids.contains(id));
    let facts: Vec<AckedWrite> = acked
        .iter()
        .map(|(w, t)| AckedWrite {
            acked_unix_us: *t,
            lost: is_lost(w),
        })
        .collect();
    let l = loss(&facts, disaster);
    s.acked_before_disaster = l.acked_before;
    s.lost = Some(l.lost);
    s.lost_after_disaster = l.lost_after;
    s.rpo_us = Some(l.window_us);
    let mut lost: Vec<&(&Write, u64)> = acked.iter().filter(|(w, _)| is_lost(w)).collect();
    lost.sort_by_key(|(_, t)| *t);
    s.lost_examples = lost
        .iter()
        .take(MAX_EXAMPLES)
        .map(|(w, t)| {
            let before = disaster.saturating_sub(*t);
            format!(
                "{} id {} acknowledged at +{:.2} s ({})",
                w.endpoint.name(),
                w.id.as_deref().unwrap_or_default(),
                offset(*t) as f64 / 1e6,
                if *t < disaster {
                    format!("{:.2} s before the disaster", before as f64 / 1e6)
                } else {
                    "after the disaster".to_owned()
                }
            )
        })
        .collect();
    s
}

fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_are_the_default_thresholds_and_are_added_once() {
        let mut t = Vec::new();
        add_default_thresholds(&mut t);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].to_string(), "drill.rto < 2h");
        assert_eq!(t[1].to_string(), "drill.rpo < 1h");
        add_default_thresholds(&mut t);
        assert_eq!(t.len(), 3);
    }
}
