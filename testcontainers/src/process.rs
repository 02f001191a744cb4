//! Child processes that die with the harness: the one supervisor behind the native servers
//! (`native::process`) and the harness's service child (`gauntlet --service-process`).
//!
//! A [`Supervised`] child runs in its own process group, so that signals reach everything it
//! forks (Postgres backends keep serving when only the postmaster is stopped) and a Ctrl-C in
//! the terminal reaches the harness only, which then stops its children in order. And it has
//! the kernel's parent-death signal (`prctl(PR_SET_PDEATHSIG)`): when the harness dies, even
//! by SIGKILL, the kernel signals the child at once. Nothing polls for the parent.
//!
//! The classic pitfalls of the parent-death signal, and what we do about each:
//! - The "parent" is the *thread* that forked, not the process: the signal fires when that
//!   thread ends. A child forked from a tokio worker dies with its runtime, one forked from a
//!   blocking-pool thread when tokio retires the idle thread (10 s). So every supervised child
//!   is forked by one thread that lives as long as the process (`on_spawner_thread`).
//! - The parent can die between `fork` and `prctl`. The child then compares `getppid()` with
//!   the PID recorded before the fork and does not exec when they differ.
//! - The setting is cleared when the child's credentials change. std switches uid/gid (the
//!   native Postgres under root) before it runs `pre_exec`, so `prctl` comes after the switch.
//!   (It is also cleared by exec of a set-user-ID binary; none of ours is one.)
//!
//! The native servers keep their leases (`native::reaper`) as belt and braces: a sweep still
//! removes the directories of a harness that was killed, and kills any server that somehow
//! outlived it.

use std::io;
use std::process::{Child, ChildStderr, Command, ExitStatus};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpid, getppid};

/// How often a stop checks whether the child has exited.
const EXIT_POLL: Duration = Duration::from_millis(10);
/// How long killed group members may take to finish exiting.
const GROUP_EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// A child process in its own process group that dies with this process. Dropping it kills
/// the whole group (SIGKILL) and waits until its members are gone.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    /// The group's id: the child's PID (it leads its own group).
    pgid: Pid,
    /// The child has been waited for: its PID may belong to someone else now.
    reaped: bool,
}

/// How a [`Supervised::stop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The child exited on its own after the stop signal (or had exited before).
    Exited(Option<ExitStatus>),
    /// The grace passed; the group was killed.
    Killed,
}

impl Supervised {
    /// Spawns `command` in a process group of its own; the kernel sends it `on_parent_death`
    /// when this process dies. The fork happens on the spawner thread (see the module docs).
    pub fn spawn(mut command: Command, on_parent_death: Signal) -> io::Result<Supervised> {
        use std::os::unix::process::CommandExt;

        command.process_group(0);
        arm_parent_death(&mut command, on_parent_death);
        let child = on_spawner_thread(move || command.spawn())??;
        let pgid = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
        Ok(Supervised {
            child,
            pgid,
            reaped: false,
        })
    }

    /// The child's PID (also its process group's id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The read end of the child's stderr, when it was piped (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Whether the child has exited (it is then reaped).
    pub fn has_exited(&mut self) -> bool {
        self.exit_status().is_some()
    }

    /// How the child exited, if it has (it is then reaped).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.reaped = true;
                Some(status)
            }
            Ok(None) => None,
            // ECHILD: someone else reaped it; either way it is gone.
            Err(_) => {
                self.reaped = true;
                None
            }
        }
    }

    /// `signal` to the child alone.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        nix::sys::signal::kill(self.pgid, signal)
    }

    /// `signal` to the child's whole process group (SIGSTOP/SIGCONT to freeze and thaw it).
    pub fn signal_group(&self, signal: Signal) -> nix::Result<()> {
        killpg(self.pgid, signal)
    }

    /// Asks the child to stop with `signal` (after a SIGCONT: a frozen process cannot act on
    /// it) and waits up to `grace`; then SIGKILL. Either way, whatever is left of its group
    /// is killed and waited for, so nothing of it outlives the stop.
    pub async fn stop(mut self, signal: Signal, grace: Duration) -> Stopped {
        if self.reaped || self.has_exited() {
            return Stopped::Exited(None);
        }
        let _ = self.signal_group(Signal::SIGCONT);
        let _ = self.signal(signal);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exit_status() {
                // Stragglers (a backend still finishing) must not outlive the stop.
                let _ = killpg(self.pgid, Signal::SIGKILL);
                wait_group_gone(self.pgid);
                return Stopped::Exited(Some(status));
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
        tracing::warn!(pid = self.id(), %signal, ?grace, "the process ignored its stop signal; killing it");
        self.kill();
        Stopped::Killed
    }

    /// SIGKILL to the whole group, then waits until it is gone: a crash, as far as the
    /// process can tell.
    pub fn kill(mut self) {
        self.kill_group_and_reap();
    }

    fn kill_group_and_reap(&mut self) {
        if self.reaped {
            return;
        }
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let _ = self.child.wait();
        self.reaped = true;
        wait_group_gone(self.pgid);
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill_group_and_reap();
    }
}

/// Makes the child of `command` ask for `signal` when its parent dies, and refuse to exec
/// if the parent died before it asked.
// The workspace denies unsafe code; this is its one exception. `pre_exec` is unsafe because
// its closure runs between fork and exec, where only async-signal-safe calls are allowed.
// Ours makes two plain system calls (prctl, getppid) and builds its error from a raw errno,
// which allocates nothing.
#[allow(unsafe_code)]
fn arm_parent_death(command: &mut Command, signal: Signal) {
    use std::os::unix::process::CommandExt;

    let parent = getpid();
    // SAFETY: see above: nothing but async-signal-safe system calls, no allocation, no locks.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(signal).map_err(io::Error::from)?;
            if getppid() != parent {
                // The parent died before the signal was armed: nobody would stop this child.
                return Err(io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Runs `job` on the spawner thread: one thread, started on first use and never ended, that
/// forks every supervised child, so that the parent-death signal means "this process died"
/// and never "some thread ended". Callers wait for the result (a fork and exec: milliseconds,
/// as long as `Command::spawn` always blocks).
fn on_spawner_thread<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    type Job = Box<dyn FnOnce() + Send>;
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("gauntlet-spawner".into())
            .spawn(move || queue.into_iter().for_each(|job| job()))
            .ok()
            .map(|_| jobs)
    });
    let spawner = spawner
        .as_ref()
        .ok_or_else(|| io::Error::other("the process spawner thread could not be started"))?;
    let (reply, result) = mpsc::sync_channel(1);
    spawner
        .send(Box::new(move || {
            let _ = reply.send(job());
        }))
        .map_err(|_| io::Error::other("the process spawner thread is gone"))?;
    result
        .recv()
        .map_err(|_| io::Error::other("the process spawner thread dropped a job"))
}

/// Waits until no live process is left in group `pgid`. Postgres backends are children of the
/// postmaster, not ours, so waiting for the postmaster is not enough: a backend still exiting
/// keeps the shared memory attached, and a restart in that window fails with "pre-existing
/// shared memory block is still in use" (seen on a loaded machine). Zombies do not count: they
/// hold no memory, and whether they are reaped depends on the machine's init.
fn wait_group_gone(pgid: Pid) {
    let deadline = Instant::now() + GROUP_EXIT_DEADLINE;
    while group_has_live_members(pgid) {
        if Instant::now() >= deadline {
            tracing::warn!(pgid = pgid.as_raw(), "killed processes are still exiting");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether any non-zombie process has process group `pgid` (from `/proc/*/stat`).
fn group_has_live_members(pgid: Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Some(stat) = std::fs::read_to_string(entry.path().join("stat")).ok() else {
            return false;
        };
        // Fields after the parenthesised command name: state (3), ppid (4), pgrp (5).
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid.as_raw()) && state != Some("Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper() -> Command {
        // A shell with a grandchild it never waits for, like a postmaster's backends.
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & wait"]);
        command
    }

    fn wait_seen(pgid: Pid) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !group_has_live_members(pgid) {
            assert!(Instant::now() < deadline, "group never seen");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_killed_group_is_waited_for_until_its_members_are_gone() {
        let child = Supervised::spawn(sleeper(), Signal::SIGKILL).expect("sh");
        let pgid = child.pgid;
        wait_seen(pgid);
        child.kill();
        assert!(!group_has_live_members(pgid));
    }

    #[test]
    fn the_child_leads_a_process_group_of_its_own() {
        let child = Supervised::spawn(sleeper(), Signal::SIGKILL).expect("sh");
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        // Fields after the parenthesised command name: state, ppid, pgrp.
        let pgrp: i32 = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(pgrp, child.pgid.as_raw());
        assert_ne!(pgrp, getpid().as_raw());
    }

    #[test]
    fn a_child_forked_for_a_thread_that_ended_outlives_that_thread() {
        let child = std::thread::spawn(|| Supervised::spawn(sleeper(), Signal::SIGKILL))
            .join()
            .expect("thread")
            .expect("sh");
        // Had the short-lived thread forked it, the kernel would SIGKILL it now that the
        // thread is gone; give that signal every chance to arrive.
        let pgid = child.pgid;
        let observed = Instant::now() + Duration::from_millis(300);
        let mut child = child;
        while Instant::now() < observed {
            assert!(!child.has_exited(), "the child died with the thread");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(group_has_live_members(pgid));
    }

    #[tokio::test]
    async fn a_stop_signal_that_is_obeyed_ends_in_exited_and_nothing_of_the_group_is_left() {
        let child = Supervised::spawn(sleeper(), Signal::SIGKILL).expect("sh");
        let pgid = child.pgid;
        wait_seen(pgid);
        // SIGTERM ends the shell (no trap); its `sleep` is the straggler the stop must kill.
        let stopped = child.stop(Signal::SIGTERM, Duration::from_secs(5)).await;
        assert!(matches!(stopped, Stopped::Exited(Some(_))), "{stopped:?}");
        assert!(!group_has_live_members(pgid));
    }
}
