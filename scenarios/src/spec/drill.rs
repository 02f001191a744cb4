//! `[drill]`: checking a backup-and-restore drill's knobs, each error at its line.

use std::time::Duration;

use super::error::{Problem, SpecError};
use super::model::{Drill, DrillStrategy};
use super::raw::RawDrill;
use super::validate::Ctx;

/// `archive_timeout` when the spec leaves it out: Postgres's own default is off (a quiet
/// server may never archive its last segment); a minute is the usual production choice.
pub const DEFAULT_ARCHIVE_TIMEOUT: Duration = Duration::from_secs(60);

impl Ctx<'_> {
    pub(super) fn drill(&self, raw: &RawDrill, total: Duration) -> Result<Drill, SpecError> {
        let backup_every = self.positive_duration(&raw.backup_every, "drill.backup_every")?;
        let disaster_at = self.positive_duration(&raw.disaster_at, "drill.disaster_at")?;
        if disaster_at >= total {
            let problem = Problem::DisasterOutsideLoad {
                at: disaster_at,
                total,
            };
            return Err(self.err(raw.disaster_at.span(), "drill.disaster_at", problem));
        }
        let archive_timeout = match &raw.archive_timeout {
            None => DEFAULT_ARCHIVE_TIMEOUT,
            Some(value) => {
                if raw.strategy != DrillStrategy::BaseBackupWal {
                    let problem = Problem::OnlyForWal {
                        field: "archive_timeout",
                    };
                    return Err(self.err(value.span(), "drill.archive_timeout", problem));
                }
                let t = self.positive_duration(value, "drill.archive_timeout")?;
                if t < Duration::from_secs(1) || t.subsec_nanos() != 0 {
                    let span = value.span();
                    return Err(self.err(span, "drill.archive_timeout", Problem::ArchiveTimeout));
                }
                t
            }
        };
        Ok(Drill {
            strategy: raw.strategy,
            backup_every,
            archive_timeout,
            disaster: raw.disaster,
            disaster_at,
            archive: raw.archive,
        })
    }
}
