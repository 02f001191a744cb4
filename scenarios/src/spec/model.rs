//! The validated scenario spec: what a spec file means once every value has been checked.
//!
//! A [`ScenarioSpec`] can only be obtained through [`ScenarioSpec::from_toml_str`] or
//! [`ScenarioSpec::load`], so holding one means durations parsed, user counts are positive,
//! weights are not all zero and the version is understood.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use gauntlet_chaos::ScheduledFault;
use serde::Deserialize;

use super::error::{SpecError, line_column};

/// The three load profiles every spec can be run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileName {
    /// A laptop: a couple of tenants, a few dozen users.
    Small,
    /// A CI runner or a workstation: hundreds of users.
    Medium,
    /// The claim under test: at least 1,000 concurrent users across many tenants.
    Enterprise,
}

impl ProfileName {
    /// All profiles, smallest first.
    pub const ALL: [ProfileName; 3] = [
        ProfileName::Small,
        ProfileName::Medium,
        ProfileName::Enterprise,
    ];

    /// The name as written in spec files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Small => "small",
            ProfileName::Medium => "medium",
            ProfileName::Enterprise => "enterprise",
        }
    }

    /// Size used when a spec does not override it. Enterprise's peak is the 1,000 concurrent
    /// users the production-readiness claim was made for.
    pub fn default_size(self) -> ProfileSize {
        let (tenants, employees_per_tenant, peak_users) = match self {
            ProfileName::Small => (2, 50, 20),
            ProfileName::Medium => (5, 200, 200),
            ProfileName::Enterprise => (20, 1_000, 1_000),
        };
        ProfileSize {
            tenants,
            employees_per_tenant,
            peak_users,
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProfileName {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProfileName::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| SpecError::UnknownProfile { name: s.to_owned() })
    }
}

/// What a scenario is for, as its spec declares it (`kind = "stress"`); it decides which of
/// the report's analyses apply, whatever the spec is called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// A quick check that everything answers.
    Smoke,
    /// Expected load (also what chaos experiments run their faults under).
    #[default]
    Load,
    /// Past the expected peak in steps: every stage is judged on its own and the report
    /// names the breaking point.
    Stress,
    /// A sudden jump (the spike analysis applies to any spec with a spike stage).
    Spike,
    /// Long and steady: the report states the trends of the service's gauges.
    Endurance,
}

/// How much data is seeded and how many users the profile expects at peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileSize {
    /// Tenants seeded; cross-tenant probes need at least two to mean anything.
    pub tenants: u32,
    /// Employees seeded per tenant.
    pub employees_per_tenant: u32,
    /// Expected peak concurrent users; percentage user targets are relative to this.
    pub peak_users: u32,
}

/// A stage's kind is the report's [`StageKind`]: the stress and spike analyses judge stages
/// by it, and the report's schema lists it.
pub use gauntlet_reports::model::StageKind;

/// A stage's user count, as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UserTarget {
    /// An exact number of users, whatever the profile (smoke uses this).
    Absolute(u32),
    /// A fraction of the profile's peak users (`"150%"` is 1.5); always finite and > 0.
    PeakFraction(f64),
}

/// An arrival-rate stage's rate, iterations per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateTarget {
    /// At the stage's start; `None`: where the previous stage ended (0 for the first).
    pub from: Option<f64>,
    /// At the stage's end (a held rate has `from == Some(to)`).
    pub to: f64,
}

/// One stage of the user curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Name shown in reports, e.g. `step-150`.
    pub name: String,
    /// How users move to the target.
    pub kind: StageKind,
    /// Unscaled length; never zero.
    pub duration: Duration,
    /// Users at the end of the stage; for an arrival-rate stage, its `max_users`.
    pub users: UserTarget,
    /// The arrival rate, for an open-model stage.
    pub rate: Option<RateTarget>,
}

/// Relative weights of the personas; never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonaWeights {
    /// Reads own profile, payslips, requests leave.
    pub employee: u32,
    /// Reads the team, approves leave.
    pub manager: u32,
    /// Writes employees and runs tenant-wide reports.
    pub hr_admin: u32,
    /// Tries cross-tenant access; small by default because each probe is a security check,
    /// not load.
    pub prober: u32,
}

impl Default for PersonaWeights {
    fn default() -> Self {
        PersonaWeights {
            employee: 70,
            manager: 20,
            hr_admin: 8,
            prober: 2,
        }
    }
}

/// Pause between a user's requests, drawn uniformly from `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThinkTime {
    /// Shortest pause.
    pub min: Duration,
    /// Longest pause; never below `min`.
    pub max: Duration,
}

impl Default for ThinkTime {
    fn default() -> Self {
        ThinkTime {
            min: Duration::from_millis(500),
            max: Duration::from_secs(2),
        }
    }
}

/// A drill's strategy and disaster are the report's own enums (the drill section names them),
/// one definition rather than two kept in step.
pub use gauntlet_reports::model::{DrillDisaster, DrillStrategy};

/// What the WAL archive command does: copy, or the seeded silent failure that a drill must
/// catch (`archive = "silently_broken"`: exits 0 without copying).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveHealth {
    /// Every finished WAL segment is copied into the archive.
    #[default]
    Copy,
    /// SEEDED FAULT: the command exits 0 without copying.
    SilentlyBroken,
}

/// `[drill]`: backups on a schedule while the load runs, a disaster at a planned offset, a
/// restore into a new server, with RTO and RPO measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    /// How backups are taken.
    pub strategy: DrillStrategy,
    /// The first backup at the start of the load, then one every this long (scaled).
    pub backup_every: Duration,
    /// `archive_timeout` of the server (WAL strategy; not scaled: it is a server setting).
    pub archive_timeout: Duration,
    /// What destroys the data.
    pub disaster: DrillDisaster,
    /// When, from the start of the load (scaled).
    pub disaster_at: Duration,
    /// The archive command's health (a seeded fault for the drill's own tests).
    pub archive: ArchiveHealth,
}

/// A threshold exactly as written; the reports crate parses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression, e.g. `http.p95 < 300ms`.
    pub text: String,
    /// Byte span of the whole TOML string literal (quotes included) in the spec's source.
    pub span: Range<usize>,
    /// Where `text` begins in the source, when the literal is a plain one-line string whose
    /// bytes equal `text` (no escapes), so inner offsets map one-to-one.
    pub(crate) text_start: Option<usize>,
}

impl Threshold {
    /// Maps a byte offset inside [`Threshold::text`] (e.g. where a threshold parser failed) to
    /// a byte offset in the spec's source; falls back to the literal's start when escapes
    /// make the mapping inexact.
    pub fn source_offset(&self, offset_in_text: usize) -> usize {
        match self.text_start {
            Some(start) => start + offset_in_text.min(self.text.len()),
            None => self.span.start,
        }
    }
}

/// A parsed and validated scenario spec.
#[derive(Debug, Clone)]
pub struct ScenarioSpec {
    pub(crate) name: String,
    pub(crate) origin: String,
    pub(crate) source: String,
    pub(crate) description: String,
    pub(crate) kind: ScenarioKind,
    pub(crate) default_profile: ProfileName,
    /// Indexed like [`ProfileName::ALL`]; defaults merged with the file's overrides.
    pub(crate) profiles: [ProfileSize; 3],
    pub(crate) stages: Vec<Stage>,
    pub(crate) personas: PersonaWeights,
    pub(crate) think_time: ThinkTime,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) chaos: Vec<ScheduledFault>,
    /// Byte span of each chaos entry's `fault` value, indexed like `chaos`.
    pub(crate) chaos_spans: Vec<Range<usize>>,
    pub(crate) service_process: bool,
    pub(crate) isolation_sweeps: bool,
    pub(crate) noisy_neighbour: Option<super::noisy::NoisyNeighbour>,
    pub(crate) drill: Option<Drill>,
    /// `expect_alerts = [...]`, when the spec states it.
    pub(crate) expect_alerts: Option<Vec<ExpectedAlert>>,
}

/// An alert rule a spec expects its run to fire, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAlert {
    /// The rule's name (`alert:` in the rules file); the harness checks that it exists.
    pub name: String,
    /// Byte span of the TOML string in the spec's source, for `file:line:column` errors.
    pub span: Range<usize>,
}

impl ScenarioSpec {
    /// Short name: the built-in's name or the file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the spec came from, as used in error messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The TOML text, for mapping spans to positions.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// One-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// What the scenario is for (`load` unless the spec says otherwise).
    pub fn kind(&self) -> ScenarioKind {
        self.kind
    }

    /// Profile used when the caller does not choose one.
    pub fn default_profile(&self) -> ProfileName {
        self.default_profile
    }

    /// The size of `profile`, including this spec's overrides.
    pub fn profile(&self, profile: ProfileName) -> ProfileSize {
        let index = ProfileName::ALL
            .iter()
            .position(|p| *p == profile)
            .unwrap_or(0);
        self.profiles[index]
    }

    /// The stages, unscaled.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Persona weights as written (or the default mix).
    pub fn personas(&self) -> PersonaWeights {
        self.personas
    }

    /// Think time between a user's requests.
    pub fn think_time(&self) -> ThinkTime {
        self.think_time
    }

    /// Thresholds as written, with their spans.
    pub fn thresholds(&self) -> &[Threshold] {
        &self.thresholds
    }

    /// Scheduled faults, unscaled.
    pub fn chaos(&self) -> &[ScheduledFault] {
        &self.chaos
    }

    /// `origin:line:column` of chaos entry `index` (its `fault` value), for messages about an
    /// entry that parsed but that a run cannot execute (e.g. a service fault without a child
    /// service process).
    pub fn chaos_position(&self, index: usize) -> String {
        let at = self.chaos_spans.get(index).map_or(0, |s| s.start);
        self.describe_position(at)
    }

    /// `service_process = true`: the run needs the reference service in a child process
    /// (faults on the service itself), as if `--service-process` had been given.
    pub fn service_process(&self) -> bool {
        self.service_process
    }

    /// `isolation_sweeps = false` turns off the cross-tenant sweeps before and after the load
    /// (a latency calibration has no use for them); on unless the spec says so.
    pub fn isolation_sweeps(&self) -> bool {
        self.isolation_sweeps
    }

    /// The noisy-neighbour flood, when the spec has a `[noisy_neighbour]` section.
    pub fn noisy_neighbour(&self) -> Option<&super::noisy::NoisyNeighbour> {
        self.noisy_neighbour.as_ref()
    }

    /// The backup-and-restore drill (`[drill]`), when the spec is one.
    pub fn drill(&self) -> Option<&Drill> {
        self.drill.as_ref()
    }

    /// `expect_alerts = [...]`: the alert rules the run must fire (every other rule must stay
    /// silent); `None` when the spec says nothing about alerts, and nothing is expected of them.
    pub fn expect_alerts(&self) -> Option<&[ExpectedAlert]> {
        self.expect_alerts.as_deref()
    }

    /// Sum of the unscaled stage durations.
    pub fn total_duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// 1-based (line, column) of a byte offset in this spec's source, for messages about it
    /// (e.g. a threshold that another crate failed to parse).
    pub fn line_column(&self, byte: usize) -> (usize, usize) {
        line_column(&self.source, byte)
    }

    /// `origin:line:column` for a byte offset, the prefix every spec message starts with.
    pub fn describe_position(&self, byte: usize) -> String {
        let (line, column) = self.line_column(byte);
        format!("{}:{line}:{column}", self.origin)
    }
}
