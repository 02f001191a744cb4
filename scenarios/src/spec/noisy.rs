//! `[noisy_neighbour]`: one tenant floods past its plan's limit through a named stage while
//! the other tenants' requests are judged per tenant (`tenant.*.rate_limited`, ...).
//!
//! ```toml
//! [noisy_neighbour]
//! stage = "peak"   # the stage the flood runs through, start to end
//! rate = "200%"    # of the flooding tenant's sustained read limit, or absolute: "20/s"
//! ```

use super::error::Problem;
use super::model::Stage;
use super::raw::RawNoisyNeighbour;
use super::validate::Ctx;
use crate::spec::SpecError;

/// The highest flood rate a spec may ask for: a flood is a few times a plan's limit, not a
/// stress test of the generator (every request loop is bounded).
pub const MAX_FLOOD_RPS: f64 = 5_000.0;
/// The highest relative rate: ten times the plan's limit.
pub const MAX_FLOOD_FRACTION: f64 = 10.0;

/// How fast the noisy neighbour sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloodRate {
    /// Requests per second, as written (`"20/s"`).
    PerSecond(f64),
    /// A multiple of the flooding tenant's sustained read limit (`"200%"` is 2.0); the run
    /// needs to know that limit (the local service's table, or the credentials file).
    LimitFraction(f64),
}

impl FloodRate {
    /// The rate in requests per second, given the tenant's sustained limit when known.
    pub fn per_second(self, limit_rps: Option<f64>) -> Option<f64> {
        match self {
            FloodRate::PerSecond(r) => Some(r),
            FloodRate::LimitFraction(f) => limit_rps.map(|l| l * f),
        }
    }
}

/// A validated `[noisy_neighbour]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisyNeighbour {
    /// Index of the stage the flood runs through.
    pub stage: usize,
    /// That stage's name, for the report.
    pub stage_name: String,
    /// How fast it sends.
    pub rate: FloodRate,
}

/// `rate`'s default: twice the plan's limit, so about half the flood is refused by a limiter
/// that holds the tenant to its plan.
const DEFAULT_RATE: FloodRate = FloodRate::LimitFraction(2.0);

impl Ctx<'_> {
    pub(crate) fn noisy_neighbour(
        &self,
        raw: Option<RawNoisyNeighbour>,
        stages: &[Stage],
    ) -> Result<Option<NoisyNeighbour>, SpecError> {
        let Some(raw) = raw else { return Ok(None) };
        let name = raw.stage.get_ref().trim();
        let Some(stage) = stages.iter().position(|s| s.name == name) else {
            let problem = Problem::UnknownStage {
                name: name.to_owned(),
                known: stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            return Err(self.err(raw.stage.span(), "noisy_neighbour.stage", problem));
        };
        let rate = match &raw.rate {
            None => DEFAULT_RATE,
            Some(text) => parse_rate(text.get_ref()).ok_or_else(|| {
                let problem = Problem::InvalidFloodRate {
                    text: text.get_ref().clone(),
                };
                self.err(text.span(), "noisy_neighbour.rate", problem)
            })?,
        };
        Ok(Some(NoisyNeighbour {
            stage,
            stage_name: name.to_owned(),
            rate,
        }))
    }
}

/// `"200%"` or `"20/s"`; `None` unless positive and within the bounds above.
fn parse_rate(text: &str) -> Option<FloodRate> {
    let text = text.trim();
    if let Some(percent) = text.strip_suffix('%') {
        let v: f64 = percent.trim_end().parse().ok()?;
        let f = v / 100.0;
        return (f > 0.0 && f <= MAX_FLOOD_FRACTION).then_some(FloodRate::LimitFraction(f));
    }
    let per_second = text.strip_suffix("/s")?.trim_end();
    let v: f64 = per_second.parse().ok()?;
    (v > 0.0 && v <= MAX_FLOOD_RPS).then_some(FloodRate::PerSecond(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_both_forms_and_out_of_range_is_refused() {
        assert_eq!(parse_rate("200%"), Some(FloodRate::LimitFraction(2.0)));
        assert_eq!(parse_rate(" 20/s "), Some(FloodRate::PerSecond(20.0)));
        for bad in ["0%", "-5/s", "2000%", "20", "fast", "9000/s", "NaN/s"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    fn spec(section: &str) -> Result<crate::ScenarioSpec, SpecError> {
        let text = format!(
            "version = 1\ndescription = \"x\"\n\n[[stages]]\nname = \"peak\"\nkind = \"hold\"\n\
             duration = \"10s\"\nusers = 1\n\n[noisy_neighbour]\n{section}"
        );
        crate::ScenarioSpec::from_toml_str(&text, "n.toml")
    }

    #[test]
    fn the_section_is_checked_and_errors_name_line_and_field() {
        let ok = spec("stage = \"peak\"\n").unwrap();
        let n = ok.noisy_neighbour().unwrap();
        assert_eq!((n.stage, n.rate), (0, DEFAULT_RATE));
        let plan = ok.plan(crate::ProfileName::Small, 0.5).unwrap();
        assert_eq!(plan.noisy_neighbour.as_ref().map(|n| n.stage), Some(0));
        let err = spec("stage = \"peek\"\n").unwrap_err().to_string();
        assert!(err.starts_with("n.toml:11:"), "{err}");
        assert!(
            err.contains("noisy_neighbour.stage") && err.contains("peak"),
            "{err}"
        );
        let err = spec("stage = \"peak\"\nrate = \"lots\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("n.toml:12:") && err.contains("noisy_neighbour.rate"),
            "{err}"
        );
        let err = spec("stage = \"peak\"\ntenant = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tenant"), "unknown fields are refused: {err}");
    }

    #[test]
    fn a_relative_rate_needs_the_limit() {
        assert_eq!(
            FloodRate::LimitFraction(2.0).per_second(Some(10.0)),
            Some(20.0)
        );
        assert_eq!(FloodRate::LimitFraction(2.0).per_second(None), None);
        assert_eq!(FloodRate::PerSecond(7.0).per_second(None), Some(7.0));
    }
}
