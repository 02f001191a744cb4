//! From a spec to a concrete [`LoadPlan`]: absolute user counts for one profile, durations
//! scaled for the time budget at hand, persona weights as shares.

use std::time::Duration;

use gauntlet_chaos::ScheduledFault;

use super::error::SpecError;
use super::model::{
    ProfileName, ProfileSize, ScenarioKind, ScenarioSpec, StageKind, ThinkTime, UserTarget,
};

/// Largest accepted `duration_scale`. Scaling exists to shrink runs for CI or stretch them a
/// little; beyond this, durations stop meaning anything and could overflow.
pub const MAX_DURATION_SCALE: f64 = 1_000.0;

/// A scaled stage never lasts less than this: shorter stages would be over before the
/// generator finished starting users, and reports bucket by the second.
pub const MIN_STAGE: Duration = Duration::from_secs(1);

/// A spec made concrete for one profile and one time scale.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// The spec's name.
    pub scenario: String,
    /// What the spec is for.
    pub kind: ScenarioKind,
    /// The profile planned for.
    pub profile: ProfileName,
    /// That profile's size (tenants and employees to seed, expected peak users).
    pub size: ProfileSize,
    /// The factor applied to every duration.
    pub duration_scale: f64,
    /// Stages in order, back to back.
    pub stages: Vec<PlannedStage>,
    /// Sum of the scaled stage durations: how long load is applied.
    pub total_duration: Duration,
    /// Highest user count any stage reaches (may exceed `size.peak_users` for stress).
    pub peak_users: u32,
    /// Persona weights normalised to shares that sum to 1.
    pub personas: PersonaShares,
    /// Think time; not scaled, because it shapes each user's behaviour, not the run's length.
    pub think_time: ThinkTime,
    /// Faults with scaled offsets and durations.
    pub chaos: Vec<ScheduledFault>,
    /// The noisy-neighbour flood; it runs through `stages[noisy_neighbour.stage]`.
    pub noisy_neighbour: Option<super::noisy::NoisyNeighbour>,
    /// Set on a part of a plan split with [`LoadPlan::shard`]; `None` for a whole plan.
    pub shard: Option<super::shard::ShardPlan>,
}

/// One stage with absolute users and scaled timing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStage {
    /// Stage name from the spec.
    pub name: String,
    /// How users move from `from_users` to `users`.
    pub kind: StageKind,
    /// Offset of the stage's start from the start of load.
    pub start: Duration,
    /// Scaled length, at least [`MIN_STAGE`].
    pub duration: Duration,
    /// Users when the stage starts (the previous stage's target; 0 for the first).
    pub from_users: u32,
    /// Users at the end of the stage; at least 1. For an arrival-rate stage, the run's whole
    /// pre-allocated pool (every rate stage holds it; the stage's own ceiling is in `rate`).
    pub users: u32,
    /// The arrival rate, for an open-model stage.
    pub rate: Option<StageRate>,
}

/// An open-model stage's schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageRate {
    /// Iterations per second at the stage's start.
    pub from_rps: f64,
    /// Iterations per second at its end.
    pub to_rps: f64,
    /// Most users busy at once in this stage.
    pub max_users: u32,
}

impl LoadPlan {
    /// The first stage that jumps users (or, open model, the arrival rate) up at once and has
    /// a stage before it: the spike the report measures recovery from, the stage before being
    /// its baseline.
    pub fn spike_stage(&self) -> Option<usize> {
        self.stages
            .iter()
            .enumerate()
            .position(|(i, s)| {
                let up = match (s.rate, i.checked_sub(1).and_then(|p| self.stages[p].rate)) {
                    (Some(r), Some(before)) => r.to_rps > before.to_rps,
                    (Some(_), None) => false,
                    (None, _) => s.users > s.from_users,
                };
                s.kind == StageKind::Spike && up
            })
            .filter(|i| *i > 0)
    }

    /// The open-model schedule, when the stages are arrival-rate stages; stage lengths are
    /// whole seconds (at least one), as goose runs them.
    pub fn arrival_plan(&self) -> Option<super::ArrivalPlan> {
        let mut start = Duration::ZERO;
        let stages = self
            .stages
            .iter()
            .map(|s| {
                let rate = s.rate?;
                let duration =
                    Duration::from_secs((s.duration.as_secs_f64().round() as u64).max(1));
                let stage = super::ArrivalStage {
                    start,
                    duration,
                    from_rps: rate.from_rps,
                    to_rps: rate.to_rps,
                    max_users: rate.max_users,
                };
                start += duration;
                Some(stage)
            })
            .collect::<Option<Vec<_>>>()?;
        (!stages.is_empty()).then_some(super::ArrivalPlan { stages })
    }
}

impl PlannedStage {
    /// Offset of the stage's end from the start of load.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

/// Persona weights as fractions of all users; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonaShares {
    /// Share of employee users.
    pub employee: f64,
    /// Share of manager users.
    pub manager: f64,
    /// Share of HR admin users.
    pub hr_admin: f64,
    /// Share of cross-tenant probers.
    pub prober: f64,
}

impl ScenarioSpec {
    /// Makes the spec concrete for `profile`, multiplying every stage and fault duration by
    /// `duration_scale` (0.05 turns the one-hour endurance hold into three minutes).
    pub fn plan(&self, profile: ProfileName, duration_scale: f64) -> Result<LoadPlan, SpecError> {
        // Written so that NaN fails too: every comparison with NaN is false.
        if !(duration_scale > 0.0 && duration_scale <= MAX_DURATION_SCALE) {
            return Err(SpecError::InvalidScale {
                origin: self.origin.clone(),
                scale: duration_scale,
            });
        }
        let size = self.profile(profile);
        let mut stages = Vec::with_capacity(self.stages.len());
        let mut start = Duration::ZERO;
        let mut from_users = 0;
        // Open model: every stage holds the whole pool, the largest of the stages' ceilings.
        let pool = self
            .stages
            .iter()
            .filter(|s| s.rate.is_some())
            .map(|s| absolute_users(s.users, size.peak_users))
            .max();
        let mut from_rps = 0.0;
        for stage in &self.stages {
            let ceiling = absolute_users(stage.users, size.peak_users);
            let users = pool.unwrap_or(ceiling);
            let duration = scale(stage.duration, duration_scale).max(MIN_STAGE);
            let rate = stage.rate.map(|r| StageRate {
                from_rps: r.from.unwrap_or(from_rps),
                to_rps: r.to,
                max_users: ceiling,
            });
            stages.push(PlannedStage {
                name: stage.name.clone(),
                kind: stage.kind,
                start,
                duration,
                from_users,
                users,
                rate,
            });
            start += duration;
            from_users = users;
            from_rps = rate.map_or(0.0, |r| r.to_rps);
        }
        Ok(LoadPlan {
            scenario: self.name.clone(),
            kind: self.kind,
            profile,
            size,
            duration_scale,
            peak_users: stages.iter().map(|s| s.users).max().unwrap_or(0),
            total_duration: start,
            stages,
            personas: self.persona_shares(),
            think_time: self.think_time,
            chaos: self.planned_faults(duration_scale, start),
            noisy_neighbour: self.noisy_neighbour.clone(),
            shard: None,
        })
    }

    fn persona_shares(&self) -> PersonaShares {
        let w = self.personas;
        // Validation guarantees a non-zero total; the max() only keeps this total-free.
        let total = (f64::from(w.employee)
            + f64::from(w.manager)
            + f64::from(w.hr_admin)
            + f64::from(w.prober))
        .max(f64::MIN_POSITIVE);
        PersonaShares {
            employee: f64::from(w.employee) / total,
            manager: f64::from(w.manager) / total,
            hr_admin: f64::from(w.hr_admin) / total,
            prober: f64::from(w.prober) / total,
        }
    }

    fn planned_faults(&self, duration_scale: f64, total: Duration) -> Vec<ScheduledFault> {
        // Stage durations are rounded up to MIN_STAGE but fault offsets are not, so a scaled
        // fault can only move earlier relative to the stages; the clamp is belt and braces.
        let last_start = total.saturating_sub(Duration::from_millis(1));
        self.chaos
            .iter()
            .map(|fault| ScheduledFault {
                start: scale(fault.start, duration_scale).min(last_start),
                duration: scale(fault.duration, duration_scale).max(MIN_STAGE),
                ..fault.clone()
            })
            .collect()
    }
}

/// Resolves a target to a user count for a profile; a fraction rounds to the nearest user and
/// never below one, so "10%" of a tiny profile still runs someone.
fn absolute_users(target: UserTarget, peak_users: u32) -> u32 {
    match target {
        UserTarget::Absolute(n) => n,
        // `as` saturates for out-of-range floats; validation bounds the fraction anyway.
        UserTarget::PeakFraction(f) => ((f * f64::from(peak_users)).round() as u32).max(1),
    }
}

/// Scales a duration, rounded to whole milliseconds (finer precision means nothing to a load
/// generator). Inputs are bounded by validation, so this cannot overflow.
fn scale(d: Duration, factor: f64) -> Duration {
    let millis = (d.as_secs_f64() * 1_000.0 * factor).round();
    Duration::from_millis(millis as u64)
}
