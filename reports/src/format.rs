//! Deterministic, human-friendly formatting of numbers shared by all renderers.

use crate::model::ValueUnit;

/// A latency in microseconds as `0`, `850us`, `12.3ms`, `1.25s` (3 significant digits at most).
pub fn duration_us(us: u64) -> String {
    if us == 0 {
        "0".to_owned()
    } else if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{}ms", trim(us as f64 / 1e3))
    } else if us < 60_000_000 {
        format!("{}s", trim(us as f64 / 1e6))
    } else {
        format!("{}m", trim(us as f64 / 60e6))
    }
}

/// A value of `unit`: durations via [`duration_us`], ratios as percent, others as numbers.
pub fn value(v: f64, unit: ValueUnit) -> String {
    match unit {
        ValueUnit::Microseconds => duration_us(v.max(0.0).round() as u64),
        ValueUnit::Ratio => percent(v),
        ValueUnit::Count => trim(v),
        ValueUnit::PerSecond => format!("{}/s", trim(v)),
        ValueUnit::PerMinute => format!("{}/min", trim(v)),
    }
}

/// A fraction as a percentage with up to two decimals: `0.0123` -> `1.23%`.
pub fn percent(fraction: f64) -> String {
    format!("{}%", fixed(fraction * 100.0, 2))
}

/// A number with at most 3 significant digits after the point, trailing zeros removed.
pub fn trim(v: f64) -> String {
    let decimals = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    fixed(v, decimals)
}

/// `v` with `decimals` decimals, trailing zeros (and a trailing point) removed.
pub fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}
