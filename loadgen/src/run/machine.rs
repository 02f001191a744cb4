//! The machine a run shares, once a second from `/proc`: how much CPU the whole machine used,
//! how much of it the run's own processes used, the difference (CPU used by something else,
//! which makes a comparison with another run meaningless), steal and the load average.
//!
//! "The run's own processes" are process trees: this process (the generator, an in-process
//! service, a `--service-process` child, native Postgres and Redis, which are its children),
//! plus the roots it is given — a container's main process, or the process listening on a
//! loopback `--target`'s port. Each sample walks `/proc` once (a few hundred small reads).

use std::collections::{HashMap, HashSet};

use gauntlet_reports::model::EnvironmentSample;
use procfs::{Current, CurrentSI};

/// Cumulative counters at one instant.
struct Snapshot {
    busy: u64,
    steal: u64,
    total: u64,
    /// CPU ticks of every process in the run's trees.
    own: HashMap<i32, u64>,
}

/// Samples the machine; [`MachineMeter::sample`] gives the second since the previous call.
pub struct MachineMeter {
    roots: Vec<i32>,
    cpus: u32,
    last: Snapshot,
}

impl MachineMeter {
    /// Starts measuring now; `None` where `/proc` cannot be read (not Linux).
    pub fn start(extra_roots: &[u32]) -> Option<MachineMeter> {
        let mut roots = vec![std::process::id() as i32];
        roots.extend(extra_roots.iter().map(|p| *p as i32));
        let cpus = procfs::KernelStats::current().ok()?.cpu_time.len() as u32;
        let last = snapshot(&roots)?;
        Some(MachineMeter { roots, cpus, last })
    }

    /// Online CPUs.
    pub fn cpus(&self) -> u32 {
        self.cpus
    }

    /// The interval since the last sample, stamped `unix_s`.
    pub fn sample(&mut self, unix_s: u64) -> Option<EnvironmentSample> {
        let now = snapshot(&self.roots)?;
        let total = now.total.saturating_sub(self.last.total);
        if total == 0 {
            return None;
        }
        let cpus = f64::from(self.cpus.max(1));
        // Percent of one core: a share of all CPU time, times the cores.
        let of_one_core = |ticks: u64| ticks as f64 / total as f64 * cpus * 100.0;
        let own: u64 = now
            .own
            .iter()
            .map(|(pid, t)| t.saturating_sub(self.last.own.get(pid).copied().unwrap_or(0)))
            .sum();
        let machine = of_one_core(now.busy.saturating_sub(self.last.busy));
        let run = of_one_core(own).min(cpus * 100.0);
        let sample = EnvironmentSample {
            unix_s,
            machine_cpu_percent: machine,
            run_cpu_percent: run,
            elsewhere_cpu_percent: (machine - run).max(0.0),
            steal_percent: now.steal.saturating_sub(self.last.steal) as f64 / total as f64 * 100.0,
            load1: procfs::LoadAverage::current().map_or(0.0, |l| f64::from(l.one)),
        };
        self.last = now;
        Some(sample)
    }
}

fn snapshot(roots: &[i32]) -> Option<Snapshot> {
    let t = procfs::KernelStats::current().ok()?.total;
    let (iowait, irq, softirq, steal) = (
        t.iowait.unwrap_or(0),
        t.irq.unwrap_or(0),
        t.softirq.unwrap_or(0),
        t.steal.unwrap_or(0),
    );
    let busy = t.user + t.nice + t.system + irq + softirq;
    Some(Snapshot {
        busy,
        steal,
        total: busy + t.idle + iowait + steal,
        own: own_ticks(roots),
    })
}

/// CPU ticks (user + system, with reaped children's) of every process in the trees under
/// `roots`.
fn own_ticks(roots: &[i32]) -> HashMap<i32, u64> {
    let Ok(all) = procfs::process::all_processes() else {
        return HashMap::new();
    };
    let stats: Vec<(i32, i32, u64)> = all
        .filter_map(|p| p.ok()?.stat().ok())
        // A child's CPU moves to its parent's `cutime`/`cstime` once it is reaped: counted
        // there, a short-lived helper process is not lost between two samples.
        .map(|s| {
            let reaped = u64::try_from(s.cutime.max(0) + s.cstime.max(0)).unwrap_or(0);
            (s.pid, s.ppid, s.utime + s.stime + reaped)
        })
        .collect();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, ppid, _) in &stats {
        children.entry(*ppid).or_default().push(*pid);
    }
    let mut tree: HashSet<i32> = HashSet::new();
    let mut stack: Vec<i32> = roots.to_vec();
    while let Some(pid) = stack.pop() {
        if tree.insert(pid) {
            stack.extend(children.get(&pid).into_iter().flatten());
        }
    }
    stats
        .into_iter()
        .filter(|(pid, _, _)| tree.contains(pid))
        .map(|(pid, _, ticks)| (pid, ticks))
        .collect()
}

/// The process serving `base_url` when it is on this machine (a loopback host).
pub fn loopback_target_pid(base_url: &str) -> Option<u32> {
    let url = url::Url::parse(base_url).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(d) => d == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !loopback {
        return None;
    }
    listener_pid(url.port_or_known_default()?)
}

/// The process listening on `port` on this machine (a loopback `--target`), when this user
/// may see it: its CPU is the service's, not someone else's.
pub fn listener_pid(port: u16) -> Option<u32> {
    let listening: HashSet<u64> = procfs::net::tcp()
        .into_iter()
        .chain(procfs::net::tcp6())
        .flatten()
        .filter(|e| e.state == procfs::net::TcpState::Listen && e.local_address.port() == port)
        .map(|e| e.inode)
        .collect();
    if listening.is_empty() {
        return None;
    }
    procfs::process::all_processes()
        .ok()?
        .filter_map(Result::ok)
        .find(|p| {
            p.fd().is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| {
                    matches!(fd.target, procfs::process::FDTarget::Socket(inode) if listening.contains(&inode))
                })
            })
        })
        .map(|p| p.pid as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_counts_as_the_runs_own_cpu() {
        let mut meter = MachineMeter::start(&[]).expect("/proc is readable");
        // A child of this process spinning for half a second.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "end=$(($(date +%s%N) + 500000000)); while [ $(date +%s%N) -lt $end ]; do :; done",
            ])
            .spawn()
            .expect("sh runs");
        child.wait().expect("child ends");
        let s = meter.sample(0).expect("a sample");
        assert!(s.run_cpu_percent > 10.0, "{s:?}");
        assert!(s.machine_cpu_percent >= s.run_cpu_percent * 0.9, "{s:?}");
        assert!(meter.cpus() >= 1);
    }
}
