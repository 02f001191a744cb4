//! Episodes of a dependency being unavailable, from the service's one-event-per-503 log.
//!
//! Under a fault the service logs a WARN for every request it answers 503; at a few hundred
//! requests a second that is a flood no one reads. The terminal gets one line per episode
//! instead: a stretch of such events with no gap longer than [`GAP_US`]. So each dependency
//! gives at most one line per [`GAP_US`], whatever the load.

use std::collections::BTreeMap;

/// A pause this long (1 s) ends an episode: longer than the gaps between failing requests
/// under any load worth testing, shorter than the gap between two faults of a schedule.
pub const GAP_US: u64 = 1_000_000;

/// One stretch of a dependency failing requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// As the service names it (`postgres`, `redis`).
    pub dependency: String,
    /// First and last failed request, unix time in microseconds.
    pub first_unix_us: u64,
    pub last_unix_us: u64,
    /// Requests answered 503 in between (one event each).
    pub requests: u64,
}

impl Episode {
    /// `postgres unavailable 10.0–18.5 s: 105 requests answered 503`, offsets from `origin`.
    pub fn line(&self, origin_unix_us: u64) -> String {
        let secs = |us: u64| us.saturating_sub(origin_unix_us) as f64 / 1e6;
        let plural = if self.requests == 1 { "" } else { "s" };
        format!(
            "{} unavailable {:.1}–{:.1} s: {} request{plural} answered 503",
            self.dependency,
            secs(self.first_unix_us),
            secs(self.last_unix_us),
            self.requests
        )
    }
}

/// Open episodes per dependency, and the ones that ended and are not yet printed.
#[derive(Debug, Default)]
pub struct Episodes {
    open: BTreeMap<String, Episode>,
    ended: Vec<Episode>,
}

impl Episodes {
    /// One failed request of `dependency` at `at_unix_us`.
    pub fn record(&mut self, dependency: &str, at_unix_us: u64) {
        if let Some(e) = self.open.get_mut(dependency) {
            if at_unix_us.saturating_sub(e.last_unix_us) <= GAP_US {
                e.last_unix_us = e.last_unix_us.max(at_unix_us);
                e.requests += 1;
                return;
            }
            self.ended.extend(self.open.remove(dependency));
        }
        self.open.insert(
            dependency.to_owned(),
            Episode {
                dependency: dependency.to_owned(),
                first_unix_us: at_unix_us,
                last_unix_us: at_unix_us,
                requests: 1,
            },
        );
    }

    /// The episodes that have ended by `now_unix_us` (quiet for longer than [`GAP_US`]), in
    /// the order they started; they are forgotten here.
    pub fn take_ended(&mut self, now_unix_us: u64) -> Vec<Episode> {
        let idle: Vec<String> = self
            .open
            .iter()
            .filter(|(_, e)| now_unix_us.saturating_sub(e.last_unix_us) > GAP_US)
            .map(|(d, _)| d.clone())
            .collect();
        for dependency in idle {
            self.ended.extend(self.open.remove(&dependency));
        }
        let mut ended = std::mem::take(&mut self.ended);
        ended.sort_by_key(|e| e.first_unix_us);
        ended
    }

    /// Every episode, ended or not (the run is over).
    pub fn take_all(&mut self) -> Vec<Episode> {
        self.take_ended(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn a_flood_of_failures_is_one_episode_with_its_count() {
        let mut e = Episodes::default();
        // 250 failures 32 ms apart: 8 s of a dead Postgres at ~30 requests a second.
        for i in 0..250 {
            e.record("postgres", 10 * S + i * 32_000);
        }
        assert!(e.take_ended(18 * S).is_empty(), "still failing: not ended");
        let ended = e.take_ended(20 * S);
        assert_eq!(ended.len(), 1);
        assert_eq!(
            ended[0].line(0),
            "postgres unavailable 10.0–18.0 s: 250 requests answered 503"
        );
        assert!(e.take_all().is_empty());
    }

    #[test]
    fn a_gap_longer_than_a_second_starts_a_new_episode_per_dependency() {
        let mut e = Episodes::default();
        e.record("postgres", 2 * S);
        e.record("redis", 2 * S + 100);
        e.record("postgres", 3 * S);
        e.record("postgres", 5 * S);
        let lines: Vec<String> = e.take_all().iter().map(|x| x.line(S)).collect();
        assert_eq!(
            lines,
            [
                "postgres unavailable 1.0–2.0 s: 2 requests answered 503",
                "redis unavailable 1.0–1.0 s: 1 request answered 503",
                "postgres unavailable 4.0–4.0 s: 1 request answered 503",
            ]
        );
    }
}
