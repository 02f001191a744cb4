//! A run as one part of a split run (`gauntlet run --shard I/N --start-at TIME`): its share of
//! the plan, the instant all parts begin load, and what its report says about both.
//!
//! The split itself is `gauntlet_scenarios::LoadPlan::shard`'s; this module only wires it
//! into a run. A part always drives a `--target`: N parts that each provisioned their own
//! stack would be N small runs against N services, not one load split over N generators.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gauntlet_reports::Report;
use gauntlet_reports::model::ShardInfo;
use gauntlet_scenarios::spec::Shard;
use gauntlet_scenarios::{LoadPlan, ProfileName, ScenarioSpec};
use sha2::{Digest, Sha256};

use super::signal::Interrupt;
use crate::exit::Failure;

/// The farthest ahead a `--start-at` may lie. A start hours away is almost surely a mistake
/// (milliseconds given as seconds, a wrong day), and a part would sit idle until then.
pub const MAX_LEAD: Duration = Duration::from_secs(3600);

/// `--start-at`: when every part of a split run begins load, as unix microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartAt {
    unix_us: u64,
}

/// Why a `--start-at` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartAtError {
    /// Neither RFC 3339 nor unix seconds.
    #[error(
        "invalid start time {0:?}: expected RFC 3339 (`2026-12-07T08:00:00Z`) or unix seconds (`1796630400`)"
    )]
    Syntax(String),
    /// Too far ahead to be meant.
    #[error("start time {given} is more than {} s from now; a split run starts within the hour", MAX_LEAD.as_secs())]
    TooFar {
        /// The value as given.
        given: String,
    },
}

impl StartAt {
    /// The instant `lead` from now.
    pub fn after(lead: Duration) -> StartAt {
        StartAt {
            unix_us: super::now_unix_us() + u64::try_from(lead.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// Unix microseconds.
    pub fn unix_us(self) -> u64 {
        self.unix_us
    }
}

impl fmt::Display for StartAt {
    /// Unix seconds with microseconds, which [`FromStr`] reads back exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.unix_us / 1_000_000,
            self.unix_us % 1_000_000
        )
    }
}

impl FromStr for StartAt {
    type Err = StartAtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let unix_us = match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(at) => u64::try_from(at.timestamp_micros()).ok(),
            Err(_) => unix_seconds_us(text),
        }
        .ok_or_else(|| StartAtError::Syntax(s.to_owned()))?;
        let horizon = super::now_unix_us() + u64::try_from(MAX_LEAD.as_micros()).unwrap_or(0);
        if unix_us > horizon {
            return Err(StartAtError::TooFar {
                given: s.to_owned(),
            });
        }
        Ok(StartAt { unix_us })
    }
}

/// `1796630400` or `1796630400.25` as unix µs; digits only, so `-5` or `1e9` are refused.
fn unix_seconds_us(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    let secs: u64 = whole.parse().ok()?;
    let micros: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// Part `shard` of `plan` (the plan itself without a shard); too many parts for the plan's
/// users is bad input.
pub(super) fn split(plan: LoadPlan, shard: Option<Shard>) -> Result<LoadPlan, Failure> {
    match shard {
        None => Ok(plan),
        Some(shard) => plan.shard(shard).map_err(Failure::bad_input),
    }
}

/// SHA-256 of what a plan is made from: the spec's text, the profile and the duration scale
/// (the seed is compared on its own). Two parts with equal digests ran the same plan.
pub fn digest(spec: &ScenarioSpec, profile: ProfileName, duration_scale: f64) -> String {
    let mut hash = Sha256::new();
    hash.update(spec.source().as_bytes());
    hash.update(b"\0profile=");
    hash.update(profile.as_str().as_bytes());
    // The bits, not a decimal rendering: two scales that print alike are still told apart.
    hash.update(b"\0duration_scale=");
    hash.update(duration_scale.to_bits().to_be_bytes());
    hex::encode(hash.finalize())
}

/// The report's `run.shard` for a part; `None` for a whole run.
pub(super) fn info(
    shard: Option<Shard>,
    start_at: Option<StartAt>,
    spec: &ScenarioSpec,
    plan: &LoadPlan,
) -> Option<ShardInfo> {
    let shard = shard?;
    Some(ShardInfo {
        index: shard.index(),
        count: shard.count(),
        scenario_digest: digest(spec, plan.profile, plan.duration_scale),
        start_at_unix_us: start_at.map(StartAt::unix_us),
        start_skew_us: None,
        verdict: None,
    })
}

/// Waits until `start_at` (at once when it has passed, or on Ctrl-C, after which the attack
/// sees the interrupt and ends at once).
pub(super) async fn wait_for_start(start_at: Option<StartAt>, interrupt: &Interrupt) {
    let Some(at) = start_at else {
        return;
    };
    let target = UNIX_EPOCH + Duration::from_micros(at.unix_us());
    let Ok(left) = target.duration_since(SystemTime::now()) else {
        tracing::warn!(start_at = %at, "the start time had passed when this part was ready; starting now");
        return;
    };
    tracing::info!(start_at = %at, wait_s = left.as_secs_f64(), "waiting for the start time");
    tokio::select! {
        () = tokio::time::sleep(left) => {}
        () = interrupt.wait() => {}
    }
}

/// Records how far from `--start-at` this part's load actually began: its first virtual
/// user's first request (the instant the stages are aligned on), else the start of
/// measurement.
pub(super) fn record_start(report: &mut Report, began_unix_us: Option<u64>) {
    let fallback_unix_us = report.run.started_at_unix_us;
    let Some(info) = report.run.shard.as_mut() else {
        return;
    };
    let Some(at) = info.start_at_unix_us else {
        return;
    };
    let began = began_unix_us.unwrap_or(fallback_unix_us);
    let skew = i128::from(began) - i128::from(at);
    info.start_skew_us = Some(i64::try_from(skew).unwrap_or(i64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_parse_as_rfc3339_or_unix_seconds() {
        let now_s = super::super::now_unix_us() / 1_000_000;
        let unix: StartAt = format!("{now_s}").parse().unwrap();
        assert_eq!(unix.unix_us(), now_s * 1_000_000);
        let frac: StartAt = format!("{now_s}.25").parse().unwrap();
        assert_eq!(frac.unix_us(), now_s * 1_000_000 + 250_000);
        assert_eq!(frac.to_string().parse::<StartAt>().unwrap(), frac);
        let rfc: StartAt = "2020-01-02T03:04:05.5Z".parse().unwrap();
        assert_eq!(rfc.unix_us(), 1_577_934_245_500_000);
        let offset: StartAt = "2020-01-02T05:04:05.5+02:00".parse().unwrap();
        assert_eq!(offset, rfc);
    }

    #[test]
    fn malformed_or_far_start_times_are_refused_naming_the_value() {
        for bad in ["", "soon", "-5", "1e9", "12.1234567", "2020-01-02 03:04"] {
            let err = bad.parse::<StartAt>().unwrap_err();
            assert!(matches!(err, StartAtError::Syntax(_)), "{bad}: {err}");
        }
        // Milliseconds given for seconds: thousands of years ahead.
        let ms = super::super::now_unix_us() / 1_000;
        let err = ms.to_string().parse::<StartAt>().unwrap_err();
        assert!(err.to_string().contains(&ms.to_string()), "{err}");
    }

    #[test]
    fn the_digest_tells_profile_scale_and_spec_apart() {
        let smoke = ScenarioSpec::load("smoke").unwrap();
        let load = ScenarioSpec::load("load").unwrap();
        let d = digest(&smoke, ProfileName::Small, 0.1);
        assert_eq!(d, digest(&smoke, ProfileName::Small, 0.1));
        assert_eq!(d.len(), 64);
        assert_ne!(d, digest(&smoke, ProfileName::Medium, 0.1));
        assert_ne!(d, digest(&smoke, ProfileName::Small, 0.2));
        assert_ne!(d, digest(&load, ProfileName::Small, 0.1));
    }
}
