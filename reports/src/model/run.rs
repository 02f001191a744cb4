//! What ran, where, and how the service reached its dependencies.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Verdict;

/// Identification of the run: enough to reproduce it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Scenario name or path of the scenario file.
    pub scenario: String,
    /// Load profile (smoke, load, stress, spike, endurance, or a custom name).
    pub profile: String,
    /// Seed for data generation and user behaviour; the same seed replays the same run.
    pub seed: u64,
    /// The command line as typed (argv), for reproduction.
    pub command_line: Vec<String>,
    /// Versions of the components involved, e.g. `gauntlet`, `service`, `postgres`, `redis`.
    pub versions: BTreeMap<String, String>,
    /// Git revision of the code under test, when known.
    pub git_revision: Option<String>,
    /// How Postgres and Redis were provided; `null` when the run ended before they were.
    pub backend: Option<Backend>,
    /// What stood between the service and Postgres and Redis. Numbers taken through the fault
    /// proxies carry their cost, so a reader comparing runs must see which it was.
    pub wiring: Wiring,
    /// Base URL of the system under test.
    pub target: String,
    /// Start of measurement, unix time in microseconds. All `*_offset_us` count from here.
    pub started_at_unix_us: u64,
    /// End of measurement, unix time in microseconds.
    pub finished_at_unix_us: u64,
    /// Measured duration (`finished - started`), in microseconds.
    pub duration_us: u64,
    /// True when the run was stopped early (Ctrl-C, signal); the verdict is then `aborted`.
    pub interrupted: bool,
    /// The reference service's own log, relative to this report's directory
    /// (`service.log`); `null` when the run drove a `--target`, whose log is not the harness's.
    /// Defaulted when absent (it was added within `schema_version` 1, as an optional field).
    #[serde(default)]
    pub service_log: Option<String>,
    /// Which part of a split run this report is (`gauntlet run --shard I/N`); `null` for a
    /// whole run and for a merged one. Defaulted when absent (added within `schema_version` 1).
    #[serde(default)]
    pub shard: Option<ShardInfo>,
    /// The parts a merged report was made of, by index, each with its start skew; empty
    /// unless the report is the merge of a split run. Defaulted when absent.
    #[serde(default)]
    pub parts: Vec<ShardInfo>,
}

/// One part of a run split over several generator processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShardInfo {
    /// 0-based index of the part.
    pub index: u32,
    /// How many parts the run was split into.
    pub count: u32,
    /// SHA-256 (hex) of what the plan was made from: the spec's text, the profile and the
    /// duration scale. Parts of one run carry the same digest.
    pub scenario_digest: String,
    /// When all parts were told to begin load (`--start-at`), unix µs; `null` when the part
    /// started at once.
    pub start_at_unix_us: Option<u64>,
    /// When this part actually began load, minus `start_at_unix_us`, µs (negative: early);
    /// `null` without a `--start-at`.
    pub start_skew_us: Option<i64>,
    /// This part's verdict as the part judged it (on its own share), before any merge.
    pub verdict: Option<Verdict>,
}

/// Where Postgres and Redis came from. The report's own vocabulary: `gauntlet-reports`
/// depends on no other crate, so the runner maps the provisioner's backend onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Containers the harness started.
    Docker,
    /// Server processes the harness started.
    Native,
    /// Servers someone else runs (`--backend external`), or a `--target` deployment's own.
    External,
}

impl Backend {
    /// Lower-case name as it appears in the JSON (`"docker"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Docker => "docker",
            Backend::Native => "native",
            Backend::External => "external",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What stood between the service and its dependencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Wiring {
    /// The harness put nothing in the path: the numbers are the service's own.
    #[default]
    Direct,
    /// The service reached Postgres and Redis through the harness's in-process fault proxies
    /// (a run with faults, or `--through-proxies`).
    FaultProxies,
}

impl RunInfo {
    /// The backend and wiring in words, as the renderers show them:
    /// `native`, `docker, through fault proxies`, `none`.
    pub fn backend_description(&self) -> String {
        let backend = self.backend.map_or("none", Backend::as_str);
        match self.wiring {
            Wiring::Direct => backend.to_owned(),
            Wiring::FaultProxies => format!("{backend}, through fault proxies"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_the_backend_and_the_proxies_when_they_were_in_the_path() {
        let run = |backend, wiring| RunInfo {
            backend,
            wiring,
            ..RunInfo::default()
        };
        let native = Some(Backend::Native);
        assert_eq!(run(native, Wiring::Direct).backend_description(), "native");
        assert_eq!(
            run(Some(Backend::Docker), Wiring::FaultProxies).backend_description(),
            "docker, through fault proxies"
        );
        assert_eq!(run(None, Wiring::Direct).backend_description(), "none");
    }

    #[test]
    fn backend_and_wiring_serialise_as_lower_case_words() {
        let json = serde_json::to_value(RunInfo {
            backend: Some(Backend::External),
            wiring: Wiring::FaultProxies,
            ..RunInfo::default()
        })
        .unwrap();
        assert_eq!(json["backend"], "external");
        assert_eq!(json["wiring"], "fault_proxies");
    }
}
