//! The file's shape exactly as serde reads it.
//!
//! Every struct denies unknown fields so a typo (`duraton = "5s"`) is an error rather than a
//! silently ignored key. Values that need checking beyond their TOML type (durations, user
//! counts, free-text names) stay `Spanned` here so that [`super::model`] can still point at the
//! line when it rejects them.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use serde::Deserialize;
use toml::Spanned;

use super::model::{ProfileName, ScenarioKind, StageKind};

/// Read first, on its own and tolerant of any other key, so that a file written for a newer
/// format gets "unsupported version" rather than a confusing unknown-field error.
#[derive(Deserialize)]
pub(crate) struct VersionProbe {
    pub version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpec {
    /// Already checked by [`VersionProbe`]; listed so that it is not an unknown field.
    #[allow(dead_code)]
    pub version: toml::Value,
    pub description: Spanned<String>,
    pub kind: Option<ScenarioKind>,
    pub default_profile: Option<ProfileName>,
    #[serde(default)]
    pub profiles: RawProfiles,
    pub personas: Option<Spanned<RawPersonas>>,
    pub think_time: Option<RawThinkTime>,
    pub stages: Option<Spanned<Vec<RawStage>>>,
    #[serde(default)]
    pub thresholds: Vec<Spanned<String>>,
    #[serde(default)]
    pub chaos: Vec<RawChaos>,
    #[serde(default)]
    pub service_process: bool,
    /// `false` skips the cross-tenant sweeps before and after the load.
    pub isolation_sweeps: Option<bool>,
    pub noisy_neighbour: Option<RawNoisyNeighbour>,
    pub drill: Option<RawDrill>,
    /// Alert rules the run's faults must fire; every other rule must stay silent.
    pub expect_alerts: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNoisyNeighbour {
    pub stage: Spanned<String>,
    pub rate: Option<Spanned<String>>,
}

/// `[drill]`: a backup-and-restore drill run beside the load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDrill {
    pub strategy: super::model::DrillStrategy,
    pub backup_every: Spanned<String>,
    pub archive_timeout: Option<Spanned<String>>,
    pub disaster: super::model::DrillDisaster,
    pub disaster_at: Spanned<String>,
    #[serde(default)]
    pub archive: super::model::ArchiveHealth,
}

/// Per-profile overrides; a profile not named here keeps its built-in size.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfiles {
    pub small: Option<RawProfile>,
    pub medium: Option<RawProfile>,
    pub enterprise: Option<RawProfile>,
}

/// `NonZeroU32` makes serde reject 0 and negative numbers with the value's own span.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    pub tenants: Option<NonZeroU32>,
    pub employees_per_tenant: Option<NonZeroU32>,
    pub peak_users: Option<NonZeroU32>,
}

/// Once a `[personas]` table is written, a persona it leaves out gets weight 0: the table is
/// the whole mix, not a patch on the default one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPersonas {
    #[serde(default)]
    pub employee: u32,
    #[serde(default)]
    pub manager: u32,
    #[serde(default)]
    pub hr_admin: u32,
    #[serde(default)]
    pub prober: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThinkTime {
    pub min: Spanned<String>,
    pub max: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStage {
    pub name: Spanned<String>,
    pub kind: StageKind,
    pub duration: Spanned<String>,
    /// An integer (absolute) or a string such as "150%" (of the profile's peak users).
    /// Closed model; an arrival-rate stage writes `rate` (or `from`/`to`) instead.
    pub users: Option<Spanned<toml::Value>>,
    /// Open model: iterations started per second, held (`"200/s"`).
    pub rate: Option<Spanned<String>>,
    /// Open model, ramped: the rate at the stage's start (default: the previous stage's).
    pub from: Option<Spanned<String>>,
    /// Open model, ramped: the rate at the stage's end.
    pub to: Option<Spanned<String>>,
    /// Open model: at most this many virtual users busy at once (like `users`: an integer
    /// or a percentage of peak users); an arrival with none free is dropped and counted.
    pub max_users: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChaos {
    pub fault: Spanned<String>,
    pub target: Spanned<String>,
    pub start: Spanned<String>,
    pub duration: Spanned<String>,
    /// Keys and values keep their spans so an error about one attribute points at its line.
    #[serde(default)]
    pub attributes: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}
