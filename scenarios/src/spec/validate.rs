//! Turning the raw file shape into a [`ScenarioSpec`], checking what serde cannot.
//!
//! Field paths here are written out by hand (`stages[2].duration`) because we know exactly
//! which field we are checking; spans come from the `Spanned` values kept in [`super::raw`].

use std::ops::Range;
use std::time::Duration;

use gauntlet_chaos::{EntryField, ScheduledFault};
use toml::Spanned;

use super::error::{Problem, SpecError};
use super::model::{
    ExpectedAlert, PersonaWeights, ProfileName, ProfileSize, ScenarioSpec, Stage, ThinkTime,
    Threshold, UserTarget,
};
use super::raw::{RawChaos, RawPersonas, RawProfile, RawSpec, RawStage, RawThinkTime};

/// No single duration in a spec may exceed this. Every run must stop by itself, and a bound
/// also keeps sums and scaling far from `Duration` overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Largest percentage user target: 100 × the profile's peak is already far past any sane
/// stress step, and a bound keeps user counts from saturating.
pub const MAX_PERCENT: f64 = 10_000.0;

/// The only spec format version this build reads.
pub const SPEC_VERSION: i64 = 1;

/// Where errors point: the origin for the message and the source for line/column.
pub(crate) struct Ctx<'a> {
    pub origin: &'a str,
    pub source: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        span: Range<usize>,
        path: impl Into<String>,
        problem: Problem,
    ) -> SpecError {
        SpecError::at(self.origin, self.source, span, path, problem)
    }

    /// Accepts exactly `version = 1`; anything else gets a message that names the version.
    pub fn check_version(&self, version: Option<&Spanned<toml::Value>>) -> Result<(), SpecError> {
        let Some(version) = version else {
            return Err(self.err(0..0, "version", Problem::MissingVersion));
        };
        match version.get_ref() {
            toml::Value::Integer(SPEC_VERSION) => Ok(()),
            other => Err(self.err(
                version.span(),
                "version",
                Problem::UnsupportedVersion {
                    found: other.to_string(),
                },
            )),
        }
    }

    pub fn spec(&self, name: &str, raw: RawSpec) -> Result<ScenarioSpec, SpecError> {
        let description = self.non_empty(&raw.description, "description")?;
        let stages = self.stages(raw.stages)?;
        let total: Duration = stages.iter().map(|s| s.duration).sum();
        let chaos = raw
            .chaos
            .iter()
            .enumerate()
            .map(|(i, c)| self.fault(i, c, total))
            .collect::<Result<Vec<_>, _>>()?;
        let chaos_spans = raw.chaos.iter().map(|c| c.fault.span()).collect();
        let noisy_neighbour = self.noisy_neighbour(raw.noisy_neighbour, &stages)?;
        Ok(ScenarioSpec {
            name: name.to_owned(),
            origin: self.origin.to_owned(),
            source: self.source.to_owned(),
            description,
            kind: raw.kind.unwrap_or_default(),
            default_profile: raw.default_profile.unwrap_or(ProfileName::Small),
            profiles: [
                merge(ProfileName::Small, raw.profiles.small),
                merge(ProfileName::Medium, raw.profiles.medium),
                merge(ProfileName::Enterprise, raw.profiles.enterprise),
            ],
            stages,
            personas: self.personas(raw.personas)?,
            think_time: self.think_time(raw.think_time)?,
            thresholds: raw.thresholds.iter().map(|t| self.threshold(t)).collect(),
            chaos,
            chaos_spans,
            service_process: raw.service_process,
            isolation_sweeps: raw.isolation_sweeps.unwrap_or(true),
            noisy_neighbour,
            drill: raw
                .drill
                .as_ref()
                .map(|d| self.drill(d, total))
                .transpose()?,
            expect_alerts: raw.expect_alerts.map(|names| {
                names
                    .iter()
                    .map(|n| ExpectedAlert {
                        name: n.get_ref().trim().to_owned(),
                        span: n.span(),
                    })
                    .collect()
            }),
        })
    }

    fn non_empty(&self, value: &Spanned<String>, path: &str) -> Result<String, SpecError> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            return Err(self.err(value.span(), path, Problem::Empty));
        }
        Ok(text.to_owned())
    }

    pub(super) fn duration(
        &self,
        value: &Spanned<String>,
        path: &str,
    ) -> Result<Duration, SpecError> {
        let text = value.get_ref();
        let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
            let problem = Problem::InvalidDuration {
                text: text.clone(),
                reason: e.to_string(),
            };
            self.err(value.span(), path, problem)
        })?;
        if parsed > MAX_DURATION {
            let problem = Problem::DurationTooLong {
                text: text.clone(),
                max: MAX_DURATION,
            };
            return Err(self.err(value.span(), path, problem));
        }
        Ok(parsed)
    }

    pub(super) fn positive_duration(
        &self,
        value: &Spanned<String>,
        path: &str,
    ) -> Result<Duration, SpecError> {
        let d = self.duration(value, path)?;
        if d.is_zero() {
            return Err(self.err(value.span(), path, Problem::ZeroDuration));
        }
        Ok(d)
    }

    fn stages(&self, raw: Option<Spanned<Vec<RawStage>>>) -> Result<Vec<Stage>, SpecError> {
        let Some(raw) = raw else {
            return Err(self.err(0..0, "stages", Problem::NoStages));
        };
        if raw.get_ref().is_empty() {
            return Err(self.err(raw.span(), "stages", Problem::NoStages));
        }
        let stages = raw
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, stage)| self.stage(i, stage))
            .collect::<Result<Vec<_>, _>>()?;
        // One model per scenario: goose runs a users curve or a pre-allocated pool, not both.
        let model = |s: &Stage| {
            if s.rate.is_some() {
                "arrival-rate"
            } else {
                "a users stage"
            }
        };
        if let Some((i, s)) = stages
            .iter()
            .enumerate()
            .find(|(_, s)| s.rate.is_some() != stages[0].rate.is_some())
        {
            let problem = Problem::MixedModels {
                this: model(s),
                first: model(&stages[0]),
            };
            let raw_stage = &raw.get_ref()[i];
            return Err(self.err(raw_stage.name.span(), format!("stages[{i}]"), problem));
        }
        Ok(stages)
    }

    fn stage(&self, i: usize, raw: &RawStage) -> Result<Stage, SpecError> {
        let path = |field: &str| format!("stages[{i}].{field}");
        let rate = self.stage_rate(i, raw)?;
        let users = match (&raw.users, rate) {
            (_, Some(_)) => self.max_users(i, raw)?,
            (Some(users), None) => self.users(users, &path("users"))?,
            (None, None) => return Err(self.err(raw.name.span(), path("users"), Problem::NoLoad)),
        };
        Ok(Stage {
            name: self.non_empty(&raw.name, &path("name"))?,
            kind: raw.kind,
            duration: self.positive_duration(&raw.duration, &path("duration"))?,
            users,
            rate,
        })
    }

    pub(super) fn users(
        &self,
        value: &Spanned<toml::Value>,
        path: &str,
    ) -> Result<UserTarget, SpecError> {
        let target = match value.get_ref() {
            toml::Value::Integer(n) => u32::try_from(*n)
                .ok()
                .filter(|n| *n > 0)
                .map(UserTarget::Absolute),
            toml::Value::String(text) => parse_percent(text).map(UserTarget::PeakFraction),
            _ => None,
        };
        target.ok_or_else(|| {
            let found = value.get_ref().to_string();
            self.err(value.span(), path, Problem::InvalidUsers { found })
        })
    }

    fn personas(&self, raw: Option<Spanned<RawPersonas>>) -> Result<PersonaWeights, SpecError> {
        let Some(raw) = raw else {
            return Ok(PersonaWeights::default());
        };
        let span = raw.span();
        let p = raw.into_inner();
        let weights = PersonaWeights {
            employee: p.employee,
            manager: p.manager,
            hr_admin: p.hr_admin,
            prober: p.prober,
        };
        let total = u64::from(p.employee) + u64::from(p.manager) + u64::from(p.hr_admin);
        if total + u64::from(p.prober) == 0 {
            return Err(self.err(span, "personas", Problem::ZeroWeights));
        }
        Ok(weights)
    }

    fn think_time(&self, raw: Option<RawThinkTime>) -> Result<ThinkTime, SpecError> {
        let Some(raw) = raw else {
            return Ok(ThinkTime::default());
        };
        let min = self.duration(&raw.min, "think_time.min")?;
        let max = self.duration(&raw.max, "think_time.max")?;
        if min > max {
            let problem = Problem::ThinkTimeInverted { min, max };
            return Err(self.err(raw.min.span(), "think_time.min", problem));
        }
        Ok(ThinkTime { min, max })
    }

    fn threshold(&self, raw: &Spanned<String>) -> Threshold {
        let span = raw.span();
        let text = raw.get_ref().clone();
        // A plain "..." or '...' literal has the text's exact bytes right after the opening
        // quote; with escapes or multi-line quotes the offsets would drift, so we don't map.
        let literal = self.source.get(span.clone()).unwrap_or("");
        let plain = literal.len() == text.len() + 2
            && literal.get(1..literal.len() - 1) == Some(text.as_str());
        Threshold {
            text_start: plain.then_some(span.start + 1),
            text,
            span,
        }
    }

    fn fault(
        &self,
        i: usize,
        raw: &RawChaos,
        total: Duration,
    ) -> Result<ScheduledFault, SpecError> {
        let path = |field: &str| format!("chaos[{i}].{field}");
        let start = self.duration(&raw.start, &path("start"))?;
        if start >= total {
            let problem = Problem::FaultAfterEnd { start, total };
            return Err(self.err(raw.start.span(), path("start"), problem));
        }
        let fault = self.non_empty(&raw.fault, &path("fault"))?;
        let target = self.non_empty(&raw.target, &path("target"))?;
        let duration = self.positive_duration(&raw.duration, &path("duration"))?;
        let attributes = raw
            .attributes
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
            .collect();
        ScheduledFault::parse(&fault, &target, attributes, start, duration).map_err(|e| {
            // Errors about the entry as a whole point at its first line, its `fault` value.
            let (span, field) = match e.field() {
                EntryField::Fault => (raw.fault.span(), "fault".to_owned()),
                EntryField::Target => (raw.fault.span(), "target".to_owned()),
                EntryField::Attribute(key) => (
                    attribute_span(raw, key).unwrap_or(raw.fault.span()),
                    format!("attributes.{key}"),
                ),
            };
            self.err(span, path(&field), Problem::Fault(Box::new(e)))
        })
    }
}

/// Where attribute `key` of a chaos entry is written (its key, which starts the line a user
/// looks for); `None` for a required attribute that is absent.
fn attribute_span(raw: &RawChaos, key: &str) -> Option<Range<usize>> {
    raw.attributes
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, _)| k.span())
}

/// `"150%"` → 1.5; `None` unless > 0 and at most [`MAX_PERCENT`].
fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim_end();
    let value: f64 = number.parse().ok()?;
    (value > 0.0 && value <= MAX_PERCENT).then_some(value / 100.0)
}

fn merge(name: ProfileName, raw: Option<RawProfile>) -> ProfileSize {
    let default = name.default_size();
    let Some(raw) = raw else { return default };
    ProfileSize {
        tenants: raw.tenants.map_or(default.tenants, |n| n.get()),
        employees_per_tenant: raw
            .employees_per_tenant
            .map_or(default.employees_per_tenant, |n| n.get()),
        peak_users: raw.peak_users.map_or(default.peak_users, |n| n.get()),
    }
}
