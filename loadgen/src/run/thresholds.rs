//! Thresholds of a run: the spec's, parsed with positions, plus defaults for what every run
//! should hold and the spec left unsaid.

use gauntlet_reports::threshold::Metric;
use gauntlet_reports::{Threshold, parse_threshold};
use gauntlet_scenarios::ScenarioSpec;
use gauntlet_scenarios::spec::ScenarioKind;

/// Why a threshold was refused; the message starts with `file:line:column`.
#[derive(Debug, thiserror::Error)]
#[error("{position}: invalid threshold {text:?}")]
pub struct ThresholdError {
    /// `origin:line:column` of the problem in the spec.
    pub position: String,
    /// The threshold as written.
    pub text: String,
    /// The parser's error.
    #[source]
    pub source: gauntlet_reports::ThresholdParseError,
}

/// Defaults: a run without an error-rate budget would pass with every request failing, and a
/// multi-tenant run without a leak budget would pass while leaking.
const DEFAULT_ERROR_RATE: &str = "http.error_rate < 1%";
const DEFAULT_LEAKS: &str = "probes.leaks == 0";
/// On a run meant to stay healthy (no faults, not pushed past its limits), a probe that could
/// not conclude is the service failing it: a 5xx, no answer, a payroll run that never
/// completes (how a job that trips over the tenant walls shows).
const DEFAULT_PROBE_FAILURES: &str = "probes.failures == 0";
/// A noisy neighbour nobody judges is a probe that cannot fail: by default the others may
/// not be refused for the flood's sake, and the flood (twice its plan's limit by default, so
/// about half of it over the limit) must have been held to its plan.
const DEFAULT_OTHERS_LIMITED: &str = "tenant.*.rate_limited < 1%";
const DEFAULT_FLOOD_LIMITED: &str = "noisy_neighbour.rate_limited > 20%";

/// The spec's thresholds in order, then the defaults it does not already cover.
/// `probes` says whether the run probes (two or more tenants).
pub fn for_run(spec: &ScenarioSpec, probes: bool) -> Result<Vec<Threshold>, ThresholdError> {
    let mut out = Vec::with_capacity(spec.thresholds().len() + 2);
    for t in spec.thresholds() {
        let parsed = parse_threshold(&t.text).map_err(|source| ThresholdError {
            position: spec.describe_position(t.source_offset(source.offset)),
            text: t.text.clone(),
            source,
        })?;
        out.push(parsed);
    }
    let covers = |metric: Metric| {
        out.iter().any(|t| {
            t.metric == metric && t.phase.is_none() && t.endpoint.is_none() && t.tenant.is_none()
        })
    };
    let covers_each_tenant = |metric: Metric| {
        out.iter().any(|t| {
            t.metric == metric && t.tenant == Some(gauntlet_reports::threshold::TenantScope::Each)
        })
    };
    let mut defaults = Vec::new();
    if !covers(Metric::Http(
        gauntlet_reports::threshold::HttpMetric::ErrorRate,
    )) {
        defaults.push(DEFAULT_ERROR_RATE);
    }
    if probes && !covers(Metric::ProbeLeaks) {
        defaults.push(DEFAULT_LEAKS);
    }
    // A drill is an outage by design, like a fault.
    let healthy_run = spec.chaos().is_empty()
        && spec.drill().is_none()
        && matches!(
            spec.kind(),
            ScenarioKind::Smoke | ScenarioKind::Load | ScenarioKind::Endurance
        );
    if probes && healthy_run && !covers(Metric::ProbeFailures) {
        defaults.push(DEFAULT_PROBE_FAILURES);
    }
    if spec.noisy_neighbour().is_some() {
        let rate_limited = Metric::Http(gauntlet_reports::threshold::HttpMetric::RateLimited);
        if !covers_each_tenant(rate_limited) {
            defaults.push(DEFAULT_OTHERS_LIMITED);
        }
        if !covers(Metric::NoisyNeighbourRateLimited) {
            defaults.push(DEFAULT_FLOOD_LIMITED);
        }
    }
    for text in defaults {
        // Constants of this module: a parse failure is a bug caught by the test below.
        if let Ok(t) = parse_threshold(text) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_are_added_once() {
        assert!(parse_threshold(DEFAULT_ERROR_RATE).is_ok());
        assert!(parse_threshold(DEFAULT_LEAKS).is_ok());
        assert!(parse_threshold(DEFAULT_PROBE_FAILURES).is_ok());
        assert!(parse_threshold(DEFAULT_OTHERS_LIMITED).is_ok());
        assert!(parse_threshold(DEFAULT_FLOOD_LIMITED).is_ok());
        let smoke = ScenarioSpec::load("smoke").unwrap();
        let all = for_run(&smoke, true).unwrap();
        assert_eq!(
            all.len(),
            smoke.thresholds().len(),
            "smoke already covers all three"
        );
    }

    #[test]
    fn probe_failures_fail_healthy_runs_only() {
        let spec = |kind: &str, chaos: &str| {
            let text = format!(
                "version = 1\ndescription = \"x\"\nkind = \"{kind}\"\n\
                 [[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"10s\"\nusers = 1\n{chaos}"
            );
            ScenarioSpec::from_toml_str(&text, "t.toml").unwrap()
        };
        let has_default = |s: &ScenarioSpec| {
            for_run(s, true)
                .unwrap()
                .iter()
                .any(|t| t.metric == Metric::ProbeFailures)
        };
        assert!(has_default(&spec("smoke", "")));
        assert!(has_default(&spec("load", "")));
        assert!(!has_default(&spec("stress", "")));
        let fault = "[[chaos]]\nfault = \"kill\"\ntarget = \"postgres\"\nstart = \"2s\"\nduration = \"2s\"\n";
        assert!(!has_default(&spec("load", fault)));
        assert!(
            !for_run(&spec("load", ""), false)
                .unwrap()
                .iter()
                .any(|t| t.metric == Metric::ProbeFailures),
            "no probes, no probe thresholds"
        );
    }

    #[test]
    fn a_noisy_neighbour_is_always_judged() {
        let text = "version = 1\ndescription = \"x\"\nthresholds = [\"tenant.*.error_rate < 1%\"]\n\
            [[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"10s\"\nusers = 1\n\
            [noisy_neighbour]\nstage = \"a\"\n";
        let spec = ScenarioSpec::from_toml_str(text, "n.toml").unwrap();
        let written: Vec<String> = for_run(&spec, true)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        for expected in [
            DEFAULT_OTHERS_LIMITED,
            DEFAULT_FLOOD_LIMITED,
            DEFAULT_ERROR_RATE,
        ] {
            assert!(
                written.iter().any(|w| w == expected),
                "{expected} in {written:?}"
            );
        }
    }

    #[test]
    fn a_bad_threshold_names_file_line_and_column() {
        let text = "version = 1\ndescription = \"x\"\nthresholds = [\n  \"http.p95 < 3 parsecs\",\n]\n\
            [[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"1s\"\nusers = 1\n";
        let spec = ScenarioSpec::from_toml_str(text, "bad.toml").unwrap();
        let err = for_run(&spec, false).unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:4:"), "{err}");
    }
}
