//! Allowances for `gauntlet report compare`, parsed from text like `p95=10%,error_rate=0.5pp`.

use std::fmt;

/// A metric compare can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompareMetric {
    /// Median latency (relative allowance).
    P50,
    /// 90th percentile latency (relative allowance).
    P90,
    /// 95th percentile latency (relative allowance).
    P95,
    /// 99th percentile latency (relative allowance).
    P99,
    /// 99.9th percentile latency (relative allowance).
    P999,
    /// Error rate (allowance in percentage points).
    ErrorRate,
    /// Throughput; a drop is the regression (relative allowance).
    Rps,
}

const NAMES: [(&str, CompareMetric); 7] = [
    ("p50", CompareMetric::P50),
    ("p90", CompareMetric::P90),
    ("p95", CompareMetric::P95),
    ("p99", CompareMetric::P99),
    ("p999", CompareMetric::P999),
    ("error_rate", CompareMetric::ErrorRate),
    ("rps", CompareMetric::Rps),
];

impl CompareMetric {
    /// Name as written in allowances.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }

    /// The quantile for latency metrics.
    pub fn quantile(self) -> Option<f64> {
        match self {
            CompareMetric::P50 => Some(0.50),
            CompareMetric::P90 => Some(0.90),
            CompareMetric::P95 => Some(0.95),
            CompareMetric::P99 => Some(0.99),
            CompareMetric::P999 => Some(0.999),
            CompareMetric::ErrorRate | CompareMetric::Rps => None,
        }
    }
}

/// How much worse a metric may get before it counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allowance {
    /// Relative change, as a fraction (`10%` -> 0.10).
    Relative(f64),
    /// Absolute change of a rate, as a fraction (`0.5pp` -> 0.005).
    Points(f64),
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowance::Relative(x) => write!(f, "{}%", crate::format::fixed(x * 100.0, 2)),
            Allowance::Points(x) => write!(f, "{}pp", crate::format::fixed(x * 100.0, 2)),
        }
    }
}

/// The allowances to judge, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowances(pub Vec<(CompareMetric, Allowance)>);

impl fmt::Display for Allowances {
    /// The text form `Allowances::from_str` parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (metric, allowance)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}={allowance}", metric.name())?;
        }
        Ok(())
    }
}

impl Default for Allowances {
    /// `p95=10%,p99=10%,error_rate=0.5pp,rps=10%`.
    fn default() -> Self {
        Allowances(vec![
            (CompareMetric::P95, Allowance::Relative(0.10)),
            (CompareMetric::P99, Allowance::Relative(0.10)),
            (CompareMetric::ErrorRate, Allowance::Points(0.005)),
            (CompareMetric::Rps, Allowance::Relative(0.10)),
        ])
    }
}

/// What went wrong parsing allowances.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceErrorKind {
    /// Not one of p50, p90, p95, p99, p999, error_rate, rps.
    #[error("unknown metric (expected p50, p90, p95, p99, p999, error_rate or rps)")]
    UnknownMetric,
    /// Missing `=`.
    #[error("expected `=`")]
    ExpectedEquals,
    /// Missing or malformed number.
    #[error("expected a non-negative number")]
    ExpectedNumber,
    /// Wrong unit for the metric.
    #[error("latency and rps take `%`, error_rate takes `pp`")]
    WrongUnit,
}

/// An allowance list that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at column {column}, found {found:?}")]
pub struct AllowanceParseError {
    /// What went wrong.
    pub kind: AllowanceErrorKind,
    /// Byte offset of the problem.
    pub offset: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// The offending item text.
    pub found: String,
}

impl std::str::FromStr for Allowances {
    type Err = AllowanceParseError;

    /// Parse `metric=N%` / `error_rate=Npp` items separated by commas; empty text gives none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Vec::new();
        let mut offset = 0;
        for item in s.split(',') {
            let start = offset + (item.len() - item.trim_start().len());
            offset += item.len() + 1;
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            out.push(parse_item(s, item, start)?);
        }
        Ok(Allowances(out))
    }
}

fn parse_item(
    whole: &str,
    item: &str,
    start: usize,
) -> Result<(CompareMetric, Allowance), AllowanceParseError> {
    let err = |kind, at: usize| AllowanceParseError {
        kind,
        offset: at,
        column: whole[..at].chars().count() + 1,
        found: item.to_owned(),
    };
    let Some((name, value)) = item.split_once('=') else {
        return Err(err(AllowanceErrorKind::ExpectedEquals, start + item.len()));
    };
    let metric = NAMES
        .iter()
        .find(|(n, _)| *n == name.trim())
        .map(|(_, m)| *m)
        .ok_or_else(|| err(AllowanceErrorKind::UnknownMetric, start))?;
    let value_at = start + name.len() + 1;
    let value = value.trim();
    let (num, unit) = value.split_at(
        value
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(value.len()),
    );
    let n: f64 = num
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| err(AllowanceErrorKind::ExpectedNumber, value_at))?;
    let allowance = match (metric, unit.trim()) {
        (CompareMetric::ErrorRate, "pp") => Allowance::Points(n / 100.0),
        (CompareMetric::ErrorRate, _) => return Err(err(AllowanceErrorKind::WrongUnit, value_at)),
        (_, "%") => Allowance::Relative(n / 100.0),
        _ => return Err(err(AllowanceErrorKind::WrongUnit, value_at)),
    };
    Ok((metric, allowance))
}
