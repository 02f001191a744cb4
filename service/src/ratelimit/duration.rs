//! `Duration` in configuration: a humantime-style string (`"50ms"`, `"1.5s"`, `"2m"`), as the
//! rest of the service's config writes durations, or a plain number of seconds (`0.05`), which
//! is what an environment override like `HRMS__RATE_LIMIT__REDIS_TIMEOUT=0.05` parses to.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

use super::config::ConfigError;

/// Writes the shortest exact form: `"2s"`, `"50ms"` or `"1500us"`.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let text = if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    };
    s.serialize_str(&text)
}

/// Reads either form; negative, non-finite or unit-less strings are refused.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"50ms\" or \"2s\", or a number of seconds")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(v).map_err(|_| E::custom(ConfigError::BadDuration(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_secs)
            .map_err(|_| E::custom(ConfigError::BadDuration(v as f64)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).ok_or_else(|| E::custom(format_args!("invalid duration `{v}`")))
    }
}

/// `<number><unit>` with unit ns, us, ms, s, m or h; the number may have a fraction.
fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let secs_per_unit = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(value * secs_per_unit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(parse("50ms"), Some(Duration::from_millis(50)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse(" 2m "), Some(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("250us"), Some(Duration::from_micros(250)));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["", "5", "ms", "-1s", "1d", "1.2.3s", "NaNs"] {
            assert_eq!(parse(bad), None, "accepted {bad:?}");
        }
    }
}
