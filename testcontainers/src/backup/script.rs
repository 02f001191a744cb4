//! The shell steps of a drill, the same on both backends.
//!
//! Each runs under `sh -c` as the server's account with `PGBIN` (the server's binaries),
//! `PGHOST`/`PGPORT`/`PGUSER` (how the tools reach the server) and, for a restore, `DATA` (the
//! new data directory) in its environment; the native and docker places only differ in where
//! that shell runs. Paths come from us (temp dirs, a fixed volume path), never from users, and
//! are still quoted.

use super::{ArchiveCommand, RecoveryTarget};

/// Single-quoted for `sh`.
fn q(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The archive and backup directories under `root`.
pub fn make_dirs(root: &str) -> String {
    format!(
        "set -eu\nmkdir -p {}/archive {}/backups\n",
        q(root),
        q(root)
    )
}

/// `archive_command`: copy, never overwrite (a second copy of a segment name means two
/// servers archive into one place) — or the seeded silent failure.
pub fn archive_command(root: &str, command: ArchiveCommand) -> String {
    match command {
        ArchiveCommand::Copy => {
            let dir = format!("{root}/archive");
            format!("test ! -f {dir}/%f && cp %p {dir}/%f")
        }
        ArchiveCommand::SilentlyBroken => "true".to_owned(),
    }
}

/// A plain-format base backup without WAL (`-X none`): like a PITR set-up in production, the
/// backup is only restorable together with the archive, so a broken archive shows.
/// Prints its size in bytes last.
pub fn base_backup(root: &str, index: u32) -> String {
    let dir = q(&format!("{root}/backups/base-{index}"));
    format!(
        "set -eu\nrm -rf {dir}\n\"$PGBIN/pg_basebackup\" -D {dir} -Fp -X none -c fast --no-sync \
         2>&1\ndu -sb {dir}\n"
    )
}

/// A custom-format dump of the service's database and the roles it needs (roles are global,
/// outside any database's dump). Prints the total size in bytes last.
pub fn dump(root: &str, index: u32) -> String {
    let file = q(&format!("{root}/backups/dump-{index}.pgdump"));
    let globals = q(&format!("{root}/backups/globals-{index}.sql"));
    format!(
        "set -eu\n\"$PGBIN/pg_dump\" -Fc -d postgres -f {file}\n\
         \"$PGBIN/pg_dumpall\" --globals-only -f {globals}\n\
         du -cb {file} {globals} | tail -n 1\n"
    )
}

/// Succeeds when the archive holds `segment`.
pub fn archived(root: &str, segment: &str) -> String {
    format!(
        "test -n {} && test -f {}",
        q(segment),
        q(&format!("{root}/archive/{segment}"))
    )
}

/// Prepares `$DATA` from base backup `index` for recovery to `target` from the archive.
/// The backup carries the old server's `archive_mode = on`; the restored server must not
/// archive into the same place, so the last setting turns it off (the last one wins).
pub fn restore_base(root: &str, index: u32, target: &RecoveryTarget) -> String {
    let backup = q(&format!("{root}/backups/base-{index}"));
    let restore = format!("cp {root}/archive/%f %p");
    let target = match target {
        RecoveryTarget::Latest => String::new(),
        RecoveryTarget::BeforeLsn(lsn) => {
            format!("recovery_target_lsn = '{lsn}'\nrecovery_target_inclusive = 'off'\n")
        }
        RecoveryTarget::BeforeXid(xid) => {
            format!("recovery_target_xid = '{xid}'\nrecovery_target_inclusive = 'off'\n")
        }
    };
    format!(
        "set -eu\nrm -rf \"$DATA\"\ncp -a {backup} \"$DATA\"\nchmod 700 \"$DATA\"\n\
         touch \"$DATA/recovery.signal\"\ncat >>\"$DATA/postgresql.auto.conf\" <<'EOF'\n\
         restore_command = '{restore}'\narchive_mode = 'off'\n\
         recovery_target_action = 'promote'\n{target}EOF\n"
    )
}

/// Loads dump `index` into a fresh server: the roles first (`postgres` exists already, which
/// psql reports and we ignore), then the database.
pub fn restore_dump(root: &str, index: u32) -> String {
    let file = q(&format!("{root}/backups/dump-{index}.pgdump"));
    let globals = q(&format!("{root}/backups/globals-{index}.sql"));
    format!(
        "set -eu\n\"$PGBIN/psql\" -q -X -d postgres -f {globals} >/dev/null 2>&1 || true\n\
         \"$PGBIN/pg_restore\" --exit-on-error -d postgres {file} 2>&1\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_before_a_transaction_stops_short_of_it() {
        let s = restore_base("/x", 2, &RecoveryTarget::BeforeXid("745".into()));
        assert!(s.contains("recovery_target_xid = '745'"));
        assert!(s.contains("recovery_target_inclusive = 'off'"));
        assert!(s.contains("'/x/backups/base-2'"));
        let latest = restore_base("/x", 1, &RecoveryTarget::Latest);
        assert!(!latest.contains("recovery_target_xid"));
        assert!(!latest.contains("recovery_target_lsn"));
    }

    #[test]
    fn the_seeded_archive_command_copies_nothing() {
        assert_eq!(
            archive_command("/x", ArchiveCommand::SilentlyBroken),
            "true"
        );
        assert!(archive_command("/x", ArchiveCommand::Copy).contains("cp %p /x/archive/%f"));
    }
}
