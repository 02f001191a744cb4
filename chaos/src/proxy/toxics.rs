//! The toxic set as the copy path sees it.
//!
//! Writers (add/remove/clear/down) publish a whole new immutable [`Snapshot`] through an
//! `ArcSwap`; each direction of each connection keeps a [`DirState`] that folds the snapshot
//! into a small [`Plan`] and only recomputes it when the snapshot version changes. The hot path
//! therefore costs one lock-free load and an integer compare per chunk.

use crate::fault::{Direction, Toxic, ToxicKind};
use std::time::Duration;
use tokio::time::Instant;

/// Identifies one added toxic for as long as the proxy lives; names can be reused after a
/// removal, ids never are, so a connection can tell "same name, new toxic" apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToxicId(pub(crate) u64);

/// One toxic installed on the proxy.
#[derive(Debug, Clone)]
pub(crate) struct ActiveToxic {
    pub(crate) id: ToxicId,
    pub(crate) name: String,
    pub(crate) toxic: Toxic,
}

/// Everything a pipe needs to know about the proxy's fault state, immutable once published.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// Bumped on every publish; pipes compare it to skip recomputation.
    pub(crate) version: u64,
    /// In insertion order.
    pub(crate) toxics: Vec<ActiveToxic>,
    /// `down` is set: existing connections must be cut.
    pub(crate) down: bool,
    /// The proxy is shutting down: existing connections must be cut.
    pub(crate) closing: bool,
}

/// Slicer parameters in the units the pipe uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice {
    pub(crate) average: usize,
    pub(crate) variation: usize,
    pub(crate) delay: Duration,
}

/// What one direction must currently do to its data; the fold of all applicable toxics.
///
/// Several toxics of one kind combine in the way a chain of them would behave: latencies add,
/// the slowest bandwidth wins, the earliest deadline wins, the smallest data limit wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Fixed delay and jitter added to every chunk.
    pub(crate) latency: Option<(Duration, Duration)>,
    /// Bytes per second.
    pub(crate) bandwidth: Option<u64>,
    pub(crate) slicer: Option<Slice>,
    /// A `timeout` toxic is active: stop reading. `Some(deadline)` closes the connection then.
    pub(crate) hold: Option<Option<Instant>>,
    /// A `reset_peer` toxic is active: reset the connection at this instant.
    pub(crate) reset_at: Option<Instant>,
    /// Close the connection once the direction's byte counter reaches this value.
    pub(crate) limit_at: Option<u64>,
    /// Delay before propagating EOF.
    pub(crate) slow_close: Duration,
    /// `down` or shutdown: end the connection now.
    pub(crate) cut: bool,
}

impl Plan {
    /// The earliest instant at which the plan itself ends the connection.
    pub(crate) fn timer(&self) -> Option<Instant> {
        match (self.reset_at, self.hold.flatten()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when no toxic touches this direction's data and the connection is not being cut:
    /// bytes may then bypass user space entirely (see `splice.rs`).
    #[cfg(target_os = "linux")]
    pub(crate) fn is_clear(&self) -> bool {
        self.latency.is_none()
            && self.bandwidth.is_none()
            && self.slicer.is_none()
            && self.hold.is_none()
            && self.reset_at.is_none()
            && self.limit_at.is_none()
            && self.slow_close.is_zero()
            && !self.cut
    }

    /// True when data must be cut into paced pieces rather than written in one go.
    pub(crate) fn paces(&self) -> bool {
        self.bandwidth.is_some() || self.slicer.is_some()
    }

    /// Size of the next piece to write out of `remaining` bytes.
    pub(crate) fn piece_len(&self, remaining: usize) -> usize {
        let want = match (self.slicer, self.bandwidth) {
            (Some(s), _) => {
                let lo = s.average.saturating_sub(s.variation).max(1);
                let hi = s.average.saturating_add(s.variation).max(lo);
                rand::random_range(lo..=hi)
            }
            // About 20 pieces a second: smooth enough to measure, few enough timer wake-ups.
            (None, Some(rate)) => usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1),
            (None, None) => remaining,
        };
        want.min(remaining)
    }

    /// A jittered latency sample for one chunk, if a latency toxic applies.
    pub(crate) fn sample_latency(&self) -> Option<Duration> {
        let (base, jitter) = self.latency?;
        if jitter.is_zero() {
            return Some(base);
        }
        let j = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX);
        let b = u64::try_from(base.as_micros()).unwrap_or(u64::MAX);
        let sample = rand::random_range(b.saturating_sub(j)..=b.saturating_add(j));
        Some(Duration::from_micros(sample))
    }
}

/// Per-connection memory of one toxic: whether the dice said it applies, and when and at which
/// byte count this direction first saw it (deadlines and data limits count from there).
#[derive(Debug, Clone, Copy)]
struct Seen {
    id: ToxicId,
    applies: bool,
    since: Instant,
    bytes_at: u64,
}

/// The toxic view of one direction of one connection.
#[derive(Debug)]
pub(crate) struct DirState {
    dir: Direction,
    /// Version of the snapshot `plan` was built from; `None` before the first build.
    version: Option<u64>,
    seen: Vec<Seen>,
    pub(crate) plan: Plan,
}

impl DirState {
    /// A state for `dir` that has seen nothing yet.
    pub(crate) fn new(dir: Direction) -> Self {
        Self {
            dir,
            version: None,
            seen: Vec::new(),
            plan: Plan::default(),
        }
    }

    /// Rebuilds the plan if `snap` is newer than the one it was built from. `bytes` is this
    /// direction's byte counter, the origin for `limit_data` toxics seen for the first time.
    pub(crate) fn refresh(&mut self, snap: &Snapshot, bytes: u64) {
        if self.version == Some(snap.version) {
            return;
        }
        self.version = Some(snap.version);
        let now = Instant::now();
        let mut plan = Plan {
            cut: snap.down || snap.closing,
            ..Plan::default()
        };
        let mut seen = Vec::with_capacity(snap.toxics.len());
        for active in snap.toxics.iter().filter(|a| a.toxic.stream == self.dir) {
            let entry = match self.seen.iter().find(|s| s.id == active.id) {
                Some(s) => *s,
                None => Seen {
                    id: active.id,
                    applies: roll(active.toxic.toxicity.get()),
                    since: now,
                    bytes_at: bytes,
                },
            };
            seen.push(entry);
            if entry.applies {
                fold(&mut plan, &active.toxic.kind, entry);
            }
        }
        // Entries of removed toxics are dropped, so re-adding under the same name rolls again.
        self.seen = seen;
        self.plan = plan;
    }
}

/// Decides whether a toxic with probability `p` applies to this connection.
fn roll(p: f64) -> bool {
    if p >= 1.0 {
        true
    } else if p <= 0.0 {
        false
    } else {
        rand::random_bool(p)
    }
}

/// Adds one toxic's effect to `plan`.
fn fold(plan: &mut Plan, kind: &ToxicKind, seen: Seen) {
    let min_instant = |cur: Option<Instant>, new: Instant| Some(cur.map_or(new, |c| c.min(new)));
    match *kind {
        ToxicKind::Latency { latency, jitter } => {
            let (l, j) = plan.latency.unwrap_or_default();
            plan.latency = Some((l + latency, j + jitter));
        }
        ToxicKind::Bandwidth { rate } => {
            let bytes = rate.saturating_mul(1000);
            plan.bandwidth = Some(plan.bandwidth.map_or(bytes, |b| b.min(bytes)));
        }
        ToxicKind::Timeout { timeout } => {
            let deadline = (!timeout.is_zero()).then(|| seen.since + timeout);
            plan.hold = Some(match (plan.hold.flatten(), deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            });
        }
        ToxicKind::ResetPeer { timeout } => {
            plan.reset_at = min_instant(plan.reset_at, seen.since + timeout);
        }
        ToxicKind::Slicer {
            average_size,
            size_variation,
            delay,
        } => {
            // Validation guarantees average_size > 0; the first slicer wins, as the outermost
            // of a chain would decide the final write sizes anyway.
            plan.slicer.get_or_insert(Slice {
                average: usize::try_from(average_size).unwrap_or(usize::MAX),
                variation: usize::try_from(size_variation).unwrap_or(usize::MAX),
                delay,
            });
        }
        ToxicKind::LimitData { bytes } => {
            let at = seen.bytes_at.saturating_add(bytes);
            plan.limit_at = Some(plan.limit_at.map_or(at, |l| l.min(at)));
        }
        ToxicKind::SlowClose { delay } => plan.slow_close += delay,
    }
}
