//! Arrival-rate (open-model) stages: iterations started on a schedule, whether or not earlier
//! ones have returned, by a pool of pre-allocated virtual users.
//!
//! ```toml
//! [[stages]]
//! name = "steady"
//! kind = "hold"
//! duration = "1m"
//! rate = "200/s"       # held; or ramped: from = "50/s", to = "200/s"
//! max_users = 300      # pool ceiling for this stage (default: 100% of peak users)
//! ```
//!
//! An *iteration* is one persona action (one goose transaction, usually one request), so a
//! rate is close to requests per second. The semantics follow k6's `constant-arrival-rate` and
//! `ramping-arrival-rate` executors: an arrival that finds no free user (or `max_users`
//! already busy) is not queued but dropped and counted (`dropped_iterations`).
//!
//! [`ArrivalPlan`] is plain data (rates, durations, pool sizes), so a plan can be split across
//! processes by dividing its rates and pools.

use std::time::Duration;

use toml::Spanned;

use super::error::{Problem, SpecError};
use super::model::{RateTarget, UserTarget};
use super::raw::RawStage;
use super::validate::Ctx;

/// The highest rate a stage may ask for, per second: far beyond what one generator core
/// sustains, a bound so that schedules stay finite and sane.
pub const MAX_RATE: f64 = 100_000.0;

/// `"200/s"`, `"90/m"` (per minute) → iterations per second; `None` unless within
/// `0..=MAX_RATE` (0 only makes sense as a ramp's end point, and is allowed there).
pub fn parse_rate(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, per) = if let Some(n) = text.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("/m") {
        (n, 60.0)
    } else {
        return None;
    };
    let v: f64 = number.trim_end().parse().ok()?;
    let rate = v / per;
    (rate.is_finite() && (0.0..=MAX_RATE).contains(&rate)).then_some(rate)
}

impl Ctx<'_> {
    /// The stage's rate, when it is an arrival-rate stage (`rate`, or `to` with an optional
    /// `from`); `None` for a users stage. Exactly one of the two models per stage.
    pub(crate) fn stage_rate(
        &self,
        i: usize,
        raw: &RawStage,
    ) -> Result<Option<RateTarget>, SpecError> {
        let path = |field: &str| format!("stages[{i}].{field}");
        let rate = |v: &Spanned<String>, field: &str| {
            parse_rate(v.get_ref()).ok_or_else(|| {
                let problem = Problem::InvalidRate {
                    text: v.get_ref().clone(),
                };
                self.err(v.span(), path(field), problem)
            })
        };
        let open = raw.rate.is_some() || raw.from.is_some() || raw.to.is_some();
        if !open {
            if let Some(m) = &raw.max_users {
                return Err(self.err(m.span(), path("max_users"), Problem::MaxUsersWithoutRate));
            }
            return Ok(None);
        }
        if let Some(users) = &raw.users {
            return Err(self.err(users.span(), path("users"), Problem::UsersAndRate));
        }
        let target = match (&raw.rate, &raw.from, &raw.to) {
            (Some(held), None, None) => {
                let r = rate(held, "rate")?;
                RateTarget {
                    from: Some(r),
                    to: r,
                }
            }
            (Some(_), Some(other), _) | (Some(_), None, Some(other)) => {
                return Err(self.err(other.span(), path("rate"), Problem::RateAndRamp));
            }
            (None, from, Some(to)) => RateTarget {
                from: from.as_ref().map(|f| rate(f, "from")).transpose()?,
                to: rate(to, "to")?,
            },
            (None, Some(from), None) => {
                return Err(self.err(from.span(), path("to"), Problem::RampWithoutTo));
            }
            (None, None, None) => unreachable!("checked above: the stage is open"),
        };
        Ok(Some(target))
    }

    /// An arrival stage's pool ceiling, as a user target (default: the profile's peak).
    pub(crate) fn max_users(&self, i: usize, raw: &RawStage) -> Result<UserTarget, SpecError> {
        match &raw.max_users {
            None => Ok(UserTarget::PeakFraction(1.0)),
            Some(v) => self.users(v, &format!("stages[{i}].max_users")),
        }
    }
}

/// One arrival-rate stage as a run executes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalStage {
    /// Offset of the stage's start from the start of the schedule.
    pub start: Duration,
    /// Length (whole seconds, as goose runs stages).
    pub duration: Duration,
    /// Iterations per second at the stage's start.
    pub from_rps: f64,
    /// Iterations per second at its end (equal to `from_rps` for a hold).
    pub to_rps: f64,
    /// Most users busy at once in this stage.
    pub max_users: u32,
}

/// The whole open-model schedule of a run: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalPlan {
    /// Stages back to back from offset 0.
    pub stages: Vec<ArrivalStage>,
}

impl ArrivalPlan {
    /// Users to pre-allocate: the largest stage ceiling.
    pub fn pool(&self) -> u32 {
        self.stages.iter().map(|s| s.max_users).max().unwrap_or(0)
    }

    /// When the schedule ends.
    pub fn end(&self) -> Duration {
        self.stages
            .last()
            .map_or(Duration::ZERO, |s| s.start + s.duration)
    }

    /// Iterations the schedule starts in all.
    pub fn expected_iterations(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| (s.from_rps + s.to_rps) / 2.0 * s.duration.as_secs_f64())
            .sum()
    }

    /// Every scheduled start, in order, with the index of its stage: the k-th start of a
    /// stage is where the rate's integral from the stage's start reaches k (the first at the
    /// stage's start), so a held rate is evenly spaced and a ramp's spacing follows the rate.
    pub fn offsets(&self) -> impl Iterator<Item = (usize, Duration)> + '_ {
        self.stages.iter().enumerate().flat_map(|(i, s)| {
            let d = s.duration.as_secs_f64();
            (0u64..)
                .map(move |k| stage_offset(s.from_rps, s.to_rps, d, k as f64))
                .take_while(move |t| t.is_some_and(|t| t < d))
                .map(move |t| (i, s.start + Duration::from_secs_f64(t.unwrap_or(0.0))))
        })
    }
}

/// Seconds into a stage at which `k` iterations have been started, for a rate moving linearly
/// from `a` to `b` over `d` seconds: solves `a·t + (b−a)·t²/(2d) = k`. `None` when the rate
/// never gets there (a ramp down to 0, or a zero rate).
fn stage_offset(a: f64, b: f64, d: f64, k: f64) -> Option<f64> {
    let slope = (b - a) / d;
    if slope.abs() < 1e-12 {
        return (a > 0.0).then(|| k / a);
    }
    // slope/2·t² + a·t − k = 0; the root that starts at t = 0 for k = 0.
    let disc = a * a + 2.0 * slope * k;
    if disc < 0.0 {
        return None;
    }
    // Written as k·2 / (a + √disc) to keep precision when the slope is small.
    let denom = a + disc.sqrt();
    if denom <= 0.0 {
        return (k == 0.0).then_some(0.0);
    }
    Some(2.0 * k / denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(from: f64, to: f64, secs: u64) -> ArrivalStage {
        ArrivalStage {
            start: Duration::ZERO,
            duration: Duration::from_secs(secs),
            from_rps: from,
            to_rps: to,
            max_users: 10,
        }
    }

    #[test]
    fn rates_parse_per_second_and_per_minute_and_nonsense_is_refused() {
        assert_eq!(parse_rate("200/s"), Some(200.0));
        assert_eq!(parse_rate(" 90/m "), Some(1.5));
        assert_eq!(parse_rate("0/s"), Some(0.0));
        for bad in ["200", "-1/s", "fast/s", "1e9/s", "NaN/s", "inf/s", "5/h"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_held_rate_is_evenly_spaced_and_a_ramp_starts_the_planned_count() {
        let held = ArrivalPlan {
            stages: vec![stage(50.0, 50.0, 2)],
        };
        let offsets: Vec<_> = held.offsets().map(|(_, t)| t).collect();
        assert_eq!(offsets.len(), 100);
        assert_eq!(offsets[1], Duration::from_millis(20));
        assert_eq!(offsets[99], Duration::from_millis(1980));
        let ramp = ArrivalPlan {
            stages: vec![stage(0.0, 100.0, 4)],
        };
        // 0 → 100/s over 4 s starts 200 iterations, densest at the end.
        let offsets: Vec<_> = ramp.offsets().map(|(_, t)| t).collect();
        assert_eq!(offsets.len(), 200);
        assert!(offsets[1] - offsets[0] > offsets[199] - offsets[198]);
        assert_eq!(ramp.expected_iterations(), 200.0);
        let down = ArrivalPlan {
            stages: vec![stage(100.0, 0.0, 4)],
        };
        assert_eq!(down.offsets().count(), 200);
    }

    #[test]
    fn stages_follow_each_other_and_the_pool_is_the_largest_ceiling() {
        let mut second = stage(10.0, 10.0, 1);
        second.start = Duration::from_secs(2);
        second.max_users = 40;
        let plan = ArrivalPlan {
            stages: vec![stage(5.0, 5.0, 2), second],
        };
        let all: Vec<_> = plan.offsets().collect();
        assert_eq!(all.len(), 20);
        assert_eq!(all[10], (1, Duration::from_secs(2)));
        assert_eq!(plan.pool(), 40);
        assert_eq!(plan.end(), Duration::from_secs(3));
    }
}
