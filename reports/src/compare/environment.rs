//! Whether two runs can be compared at all: a run on a machine that something else kept busy
//! measured that something as much as the service, and no noise model can tell the two apart.
//! Such a comparison is "not comparable" (exit 4), never "regressed".

use std::fmt;

use crate::format;
use crate::model::EnvironmentSection;

/// Above these a run's machine was too busy elsewhere to judge by.
///
/// What was measured on the project's 2-core machine (scripts/noise-experiment.sh, while
/// other builds shared it): every run saw 165–195 % of one core used elsewhere, the hog
/// runs (`yes > /dev/null` beside them) 173–176 % against 167–170 % for the runs before
/// them — a saturated machine has no idle CPU left for a hog to take, so "elsewhere" is the
/// signal and the hog only part of it — and the same clean code measured minutes apart
/// differed 3× in p95 there. A quiet machine could not be had for calibration; 25 % of one
/// core is the bound chosen instead: a quarter of what one busy process takes, well
/// below any of those, and above the kernel's own work for a run's loopback traffic, which
/// the run cannot attribute to itself. Steal above 5 % means the hypervisor, not the
/// service, set the pace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvironmentBounds {
    /// Mean CPU used elsewhere, percent of one core; `None` checks nothing.
    pub max_elsewhere_cpu_percent: Option<f64>,
    /// Mean steal, percent of all CPU time; `None` checks nothing.
    pub max_steal_percent: Option<f64>,
}

impl Default for EnvironmentBounds {
    /// `elsewhere=25%,steal=5%`.
    fn default() -> Self {
        EnvironmentBounds {
            max_elsewhere_cpu_percent: Some(25.0),
            max_steal_percent: Some(5.0),
        }
    }
}

impl EnvironmentBounds {
    /// No check at all (`off`): for a machine whose other load is known and accepted.
    pub const OFF: EnvironmentBounds = EnvironmentBounds {
        max_elsewhere_cpu_percent: None,
        max_steal_percent: None,
    };
}

impl fmt::Display for EnvironmentBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part =
            |name: &str, v: Option<f64>| v.map(|v| format!("{name}={}%", format::fixed(v, 1)));
        let parts: Vec<String> = [
            part("elsewhere", self.max_elsewhere_cpu_percent),
            part("steal", self.max_steal_percent),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

/// An environment bound list that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `off` or items like `elsewhere=25%` and `steal=5%`, found {found:?}")]
pub struct BoundsParseError {
    /// The offending item.
    pub found: String,
}

impl std::str::FromStr for EnvironmentBounds {
    type Err = BoundsParseError;

    /// `off`, or `elsewhere=N%` and/or `steal=N%` separated by commas (an item left out is
    /// not checked).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "off" {
            return Ok(EnvironmentBounds::OFF);
        }
        let mut out = EnvironmentBounds::OFF;
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let err = || BoundsParseError {
                found: item.to_owned(),
            };
            let (name, value) = item.split_once('=').ok_or_else(err)?;
            let v: f64 = value
                .trim()
                .strip_suffix('%')
                .and_then(|v| v.trim().parse().ok())
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(err)?;
            match name.trim() {
                "elsewhere" => out.max_elsewhere_cpu_percent = Some(v),
                "steal" => out.max_steal_percent = Some(v),
                _ => return Err(err()),
            }
        }
        Ok(out)
    }
}

/// Why one run's machine disqualifies it, with the numbers; `None` when it does not (or
/// when the run carries no environment: reports from before it, or a machine without
/// `/proc`, are given the benefit of the doubt).
pub fn busy_reason(side: &str, env: &EnvironmentSection, b: &EnvironmentBounds) -> Option<String> {
    let s = env.summary.filter(|_| env.enabled)?;
    let mut why = Vec::new();
    if let Some(max) = b.max_elsewhere_cpu_percent
        && s.elsewhere_cpu_percent_mean > max
    {
        why.push(format!(
            "{}% of one core used elsewhere on average (bound {}%; machine {}%, the run's own processes {}%, load average up to {})",
            format::fixed(s.elsewhere_cpu_percent_mean, 0),
            format::fixed(max, 0),
            format::fixed(s.machine_cpu_percent_mean, 0),
            format::fixed(s.run_cpu_percent_mean, 0),
            format::fixed(s.load1_max, 2),
        ));
    }
    if let Some(max) = b.max_steal_percent
        && s.steal_percent_mean > max
    {
        why.push(format!(
            "{}% steal (bound {}%)",
            format::fixed(s.steal_percent_mean, 1),
            format::fixed(max, 1)
        ));
    }
    (!why.is_empty()).then(|| format!("{side}: machine busy elsewhere: {}", why.join("; ")))
}
