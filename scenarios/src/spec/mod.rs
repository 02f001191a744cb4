//! Scenario specs: the TOML format, its validation, and planning a run from it.
//!
//! Parsing happens in three passes so every error can name file, line, column and field:
//! 1. the document is parsed into a spanned tree (syntax errors; the tree later turns serde's
//!    byte spans into field paths),
//! 2. `version` is checked on its own, so future formats are refused with a clear message,
//! 3. serde reads the [`raw`] shape (unknown fields, wrong types) and [`validate`] checks the
//!    values (durations, user counts, weights) using the spans it kept.

mod arrival;
mod drill;
mod error;
mod model;
mod noisy;
mod plan;
mod raw;
mod shard;
mod validate;

use std::path::Path;

pub use arrival::{ArrivalPlan, ArrivalStage, MAX_RATE, parse_rate};
pub use drill::DEFAULT_ARCHIVE_TIMEOUT;
pub use error::{Problem, SpecError, line_column};
pub use model::{
    ArchiveHealth, Drill, DrillDisaster, DrillStrategy, ExpectedAlert, PersonaWeights, ProfileName,
    ProfileSize, RateTarget, ScenarioKind, ScenarioSpec, Stage, StageKind, ThinkTime, Threshold,
    UserTarget,
};
pub use noisy::{FloodRate, MAX_FLOOD_FRACTION, MAX_FLOOD_RPS, NoisyNeighbour};
pub use plan::{LoadPlan, MAX_DURATION_SCALE, MIN_STAGE, PersonaShares, PlannedStage, StageRate};
pub use shard::{PersonaCounts, Shard, ShardError, ShardPlan, apportion};
pub use validate::{MAX_DURATION, MAX_PERCENT, SPEC_VERSION};

use crate::builtin;

impl ScenarioSpec {
    /// Parses and validates a spec. `origin` is what error messages call the text: the file
    /// path as the user wrote it, or `builtin/<name>.toml`. The spec's name is its file stem.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<ScenarioSpec, SpecError> {
        let ctx = validate::Ctx {
            origin,
            source: text,
        };
        let tree =
            toml::de::DeTable::parse(text).map_err(|e| error::syntax_error(origin, text, &e))?;
        let probe: raw::VersionProbe = toml::from_str(text)
            .map_err(|e| error::schema_error(origin, text, tree.get_ref(), &e))?;
        ctx.check_version(probe.version.as_ref())?;
        let raw: raw::RawSpec = toml::from_str(text)
            .map_err(|e| error::schema_error(origin, text, tree.get_ref(), &e))?;
        let name = Path::new(origin)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(origin);
        ctx.spec(name, raw)
    }

    /// Loads a built-in scenario by name (`smoke`, `load`, ...) or a spec file by path. A
    /// built-in name wins over a file of the same name in the current directory; write
    /// `./smoke.toml` to mean the file.
    pub fn load(name_or_path: &str) -> Result<ScenarioSpec, SpecError> {
        if let Some(text) = builtin::source(name_or_path) {
            return ScenarioSpec::from_toml_str(text, &builtin::origin(name_or_path));
        }
        let path = Path::new(name_or_path);
        let looks_like_path = path.extension().is_some_and(|e| e == "toml")
            || name_or_path.contains(std::path::MAIN_SEPARATOR)
            || name_or_path.contains('/');
        if !looks_like_path {
            return Err(SpecError::UnknownScenario {
                name: name_or_path.to_owned(),
                known: builtin::names().join(", "),
            });
        }
        ScenarioSpec::load_path(path)
    }

    /// Reads and parses a spec file; the path as given becomes the origin in messages.
    pub fn load_path(path: &Path) -> Result<ScenarioSpec, SpecError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            origin: origin.clone(),
            source,
        })?;
        ScenarioSpec::from_toml_str(&text, &origin)
    }
}
