//! What a harness that was killed outright leaves behind.
//!
//! A harness that exits, panics or gets Ctrl-C removes its native servers (drop, signal
//! handler). One killed with SIGKILL cannot; the kernel still stops its servers (their
//! parent-death signal, [`crate::process`]), but their directories (data, logs) stay in the
//! temp dir. Docker has Ryuk for this; we have leases. Every native server's directory holds a
//! lease naming the harness process that owns it; the next native provisioning on the machine
//! sweeps the temp dir, removes the directories whose owner is gone and, belt and braces, kills
//! a server still serving from one (say, one started by a harness that predates the signal).
//!
//! "Gone" must never be mistaken: a live harness's servers are not touched. The owner is
//! identified by PID *and* process start time (PIDs are reused), and a server is only killed if
//! its working directory is still inside the lease's directory (Postgres and Redis both `chdir`
//! there), so a reused server PID is not killed either.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Name of the lease file inside a native server's directory.
const LEASE_FILE: &str = "gauntlet.lease";
/// Temp-dir prefixes of native server directories (see `NativeServer::try_start`).
const DIR_PREFIXES: &[&str] = &["gauntlet-postgres-", "gauntlet-redis-"];

/// Who owns a server directory and which process group serves from it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lease {
    owner_pid: i32,
    owner_start: u64,
    server_pid: i32,
}

impl Lease {
    fn render(&self) -> String {
        format!(
            "owner_pid={}\nowner_start={}\nserver_pid={}\n",
            self.owner_pid, self.owner_start, self.server_pid
        )
    }

    fn parse(text: &str) -> Option<Lease> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::trim)
        };
        Some(Lease {
            owner_pid: field("owner_pid")?.parse().ok()?,
            owner_start: field("owner_start")?.parse().ok()?,
            server_pid: field("server_pid")?.parse().ok()?,
        })
    }
}

/// Records that this process owns the server `server_pid` serving from `dir`. Called at every
/// (re)start, since a restart changes the server's PID.
pub(crate) fn write_lease(dir: &Path, server_pid: u32) {
    let me = std::process::id() as i32;
    let Some(owner_start) = start_time(me) else {
        return;
    };
    let lease = Lease {
        owner_pid: me,
        owner_start,
        server_pid: server_pid as i32,
    };
    if let Err(e) = fs::write(dir.join(LEASE_FILE), lease.render()) {
        // Without a lease the server is only unprotected against SIGKILL of the harness.
        tracing::debug!(dir = %dir.display(), error = %e, "could not write the lease");
    }
}

/// What a sweep found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Server directories whose owner was gone; their servers were killed and the
    /// directories removed.
    pub reaped: Vec<PathBuf>,
    /// Directories with a live owner, left alone.
    pub live: usize,
}

/// Kills the servers whose harness is gone and removes their directories. Cheap (a directory
/// listing) and safe to call at any time, concurrently with other harnesses.
pub fn reap_orphans() -> Sweep {
    reap_orphans_in(&std::env::temp_dir())
}

fn reap_orphans_in(tmp: &Path) -> Sweep {
    let mut sweep = Sweep::default();
    let Ok(entries) = fs::read_dir(tmp) else {
        return sweep;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !DIR_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let dir = entry.path();
        let Some(lease) = fs::read_to_string(dir.join(LEASE_FILE))
            .ok()
            .and_then(|t| Lease::parse(&t))
        else {
            // No lease: a server being set up right now, or one from before leases existed.
            continue;
        };
        if start_time(lease.owner_pid) == Some(lease.owner_start) {
            sweep.live += 1;
            continue;
        }
        if serves_from(lease.server_pid, &dir) {
            let _ = killpg(Pid::from_raw(lease.server_pid), Signal::SIGKILL);
        }
        // A sized data filesystem (`crate::disk`) outlives its harness as a mount, which
        // would keep its memory and make the directory impossible to remove.
        crate::disk::detach_if_mounted(&dir.join("data"));
        match fs::remove_dir_all(&dir) {
            Ok(()) => sweep.reaped.push(dir),
            Err(e) => tracing::debug!(dir = %dir.display(), error = %e, "could not remove"),
        }
    }
    if !sweep.reaped.is_empty() {
        tracing::info!(
            servers = sweep.reaped.len(),
            "stopped native servers left behind by a harness that was killed"
        );
    }
    sweep
}

/// Process start time in clock ticks since boot (field 22 of `/proc/PID/stat`), `None` if
/// there is no such process.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: skip past it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields after the name start at field 3; start time is field 22.
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Whether process `pid` exists and works inside `dir`.
fn serves_from(pid: i32, dir: &Path) -> bool {
    fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_round_trips_and_rejects_garbage() {
        let lease = Lease {
            owner_pid: 42,
            owner_start: 123_456,
            server_pid: 4_242,
        };
        assert_eq!(Lease::parse(&lease.render()), Some(lease));
        assert_eq!(Lease::parse("owner_pid=1\nserver_pid=2\n"), None);
        assert_eq!(
            Lease::parse("owner_pid=x\nowner_start=1\nserver_pid=2"),
            None
        );
    }

    #[test]
    fn own_start_time_is_known_and_a_dead_pid_has_none() {
        assert!(start_time(std::process::id() as i32).is_some());
        // PIDs are at most 2^22 on Linux.
        assert_eq!(start_time(i32::MAX), None);
    }

    #[test]
    fn a_live_owner_is_left_alone_and_a_dead_one_is_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let live = tmp.path().join("gauntlet-redis-live");
        let dead = tmp.path().join("gauntlet-postgres-dead");
        let other = tmp.path().join("unrelated-dir");
        for d in [&live, &dead, &other] {
            fs::create_dir(d).unwrap();
        }
        write_lease(&live, std::process::id());
        let orphan = Lease {
            owner_pid: std::process::id() as i32,
            // Our PID with another start time: a reused PID, i.e. the owner is gone.
            owner_start: start_time(std::process::id() as i32).unwrap() + 1,
            // Our own PID again: it does not work inside `dead`, so it must not be signalled.
            server_pid: std::process::id() as i32,
        };
        fs::write(dead.join(LEASE_FILE), orphan.render()).unwrap();
        fs::write(other.join(LEASE_FILE), orphan.render()).unwrap();

        let sweep = reap_orphans_in(tmp.path());

        assert_eq!(sweep.reaped, std::slice::from_ref(&dead));
        assert_eq!(sweep.live, 1);
        assert!(live.exists() && other.exists() && !dead.exists());
    }
}
