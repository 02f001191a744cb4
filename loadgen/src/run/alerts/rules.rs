//! The alerting rules file, `service/alerts/hrms.rules.yml`, embedded in the binary: printed
//! by `gauntlet alerts export`, loaded into each run's Prometheus with its `for:` durations
//! scaled like the run's stages.
//!
//! The file is read with a YAML parser and written back whole, so a deployment's rules and a
//! run's are the same text but for the durations; nothing here reads or evaluates PromQL.

use std::time::Duration;

use serde_yaml::Value;

/// The rules file as committed.
pub const RULES: &str = include_str!("../../../../service/alerts/hrms.rules.yml");

/// Where the rules file lives in the repository, for messages.
pub const RULES_PATH: &str = "service/alerts/hrms.rules.yml";

/// What is wrong with a rules file.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Not YAML at all.
    #[error("the rules file is not YAML")]
    Yaml(#[source] serde_yaml::Error),
    /// YAML, but not `groups: [{rules: [...]}]`.
    #[error("the rules file has no `groups[].rules[]` list")]
    Shape,
    /// A `for:` that is not a Prometheus duration.
    #[error("alert {alert}: `for: {value}` is not a Prometheus duration")]
    Duration {
        /// The rule.
        alert: String,
        /// The value as written.
        value: String,
    },
}

/// The names of the alerting rules (`alert:`), in file order.
pub fn alert_names(rules: &str) -> Result<Vec<String>, RulesError> {
    let doc: Value = serde_yaml::from_str(rules).map_err(RulesError::Yaml)?;
    let mut names = Vec::new();
    for rule in rule_list(&doc)? {
        if let Some(name) = rule.get("alert").and_then(Value::as_str) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Each alerting rule's name and expression, in file order (`gauntlet verify` reads which
/// metrics they name).
pub fn expressions(rules: &str) -> Result<Vec<(String, String)>, RulesError> {
    let doc: Value = serde_yaml::from_str(rules).map_err(RulesError::Yaml)?;
    let mut out = Vec::new();
    for rule in rule_list(&doc)? {
        if let (Some(name), Some(expr)) = (
            rule.get("alert").and_then(Value::as_str),
            rule.get("expr").and_then(Value::as_str),
        ) {
            out.push((name.to_owned(), expr.to_owned()));
        }
    }
    Ok(out)
}

/// The rules with every `for:` multiplied by `scale` (rounded to whole milliseconds), as
/// `--duration-scale` shrinks a run: a fault of 8 s × 0.3 must still outlast its alert's wait.
pub fn scaled(rules: &str, scale: f64) -> Result<String, RulesError> {
    let mut doc: Value = serde_yaml::from_str(rules).map_err(RulesError::Yaml)?;
    let groups = doc
        .get_mut("groups")
        .and_then(Value::as_sequence_mut)
        .ok_or(RulesError::Shape)?;
    for group in groups {
        let rules = group
            .get_mut("rules")
            .and_then(Value::as_sequence_mut)
            .ok_or(RulesError::Shape)?;
        for rule in rules {
            let alert = rule
                .get("alert")
                .and_then(Value::as_str)
                .unwrap_or("(recording rule)")
                .to_owned();
            let Some(value) = rule.get_mut("for") else {
                continue;
            };
            let written = value.as_str().unwrap_or_default().to_owned();
            let d = parse_duration(&written).ok_or_else(|| RulesError::Duration {
                alert: alert.clone(),
                value: written.clone(),
            })?;
            let ms = (d.as_secs_f64() * scale * 1000.0).round() as u64;
            *value = Value::String(format!("{ms}ms"));
        }
    }
    serde_yaml::to_string(&doc).map_err(RulesError::Yaml)
}

fn rule_list(doc: &Value) -> Result<Vec<&Value>, RulesError> {
    let groups = doc
        .get("groups")
        .and_then(Value::as_sequence)
        .ok_or(RulesError::Shape)?;
    let mut out = Vec::new();
    for group in groups {
        let rules = group
            .get("rules")
            .and_then(Value::as_sequence)
            .ok_or(RulesError::Shape)?;
        out.extend(rules);
    }
    Ok(out)
}

/// A Prometheus duration: one or more `<number><unit>` with units ms, s, m, h, d, w, y, largest
/// first (`1h30m`, `90s`, `500ms`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 7] = [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
        ("w", 604_800_000),
        ("y", 31_536_000_000),
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // `ms` before `m`, so that 500ms is not read as 500 minutes and an `s`.
        let (unit, factor) = UNITS.iter().find(|(u, _)| rest.starts_with(u)).copied()?;
        rest = &rest[unit.len()..];
        total_ms = total_ms.checked_add(number.checked_mul(factor)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_names_the_six_alerts_of_the_seed() {
        let names = alert_names(RULES).unwrap();
        assert_eq!(
            names,
            [
                "HrmsHighErrorRate",
                "HrmsHealthCheckFailing",
                "HrmsDbConnectionsHigh",
                "HrmsJobQueueBacklog",
                "PostgresDataDiskAlmostFull",
                "HrmsRateLimitNearlyExhausted",
            ]
        );
    }

    #[test]
    fn scaling_multiplies_every_for_and_keeps_the_rest() {
        let out = scaled(RULES, 0.5).unwrap();
        let doc: Value = serde_yaml::from_str(&out).unwrap();
        let rules = rule_list(&doc).unwrap();
        let error_rate = rules
            .iter()
            .find(|r| r.get("alert").and_then(Value::as_str) == Some("HrmsHighErrorRate"))
            .unwrap();
        assert_eq!(
            error_rate.get("for").and_then(Value::as_str),
            Some("2500ms")
        );
        assert!(
            error_rate["expr"]
                .as_str()
                .unwrap()
                .contains("hrms_http_requests_total")
        );
        assert_eq!(alert_names(&out).unwrap(), alert_names(RULES).unwrap());
    }

    #[test]
    fn prometheus_durations_parse_and_bad_ones_do_not() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }
}
