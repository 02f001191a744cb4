//! What operations read: `/metrics` well-formed (`run/scrape.rs`'s parser, strictly), every
//! service metric the alert rules name present there, the rules file loading, and the
//! OpenAPI document valid.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use reqwest::Method;

use super::Context;
use super::support::{Finding, send};
use crate::run::alerts::rules;
use crate::run::scrape;

/// Malformed lines shown in the evidence.
const SHOWN: usize = 5;

pub async fn exposition(ctx: &Context<'_>) -> Finding {
    let seen = match send(ctx.request(Method::GET, "/metrics")).await {
        Ok(seen) => seen,
        Err(e) => return Finding::error(&e),
    };
    let content_type = seen.header("content-type").unwrap_or("absent").to_owned();
    let samples = scrape::samples(&seen.body).count();
    let bad = scrape::malformed(&seen.body);
    let mut evidence = vec![format!(
        "GET /metrics → {} {content_type}: {} lines, {samples} samples",
        seen.status.as_u16(),
        seen.body.lines().count()
    )];
    let mut problems: Vec<String> = bad
        .iter()
        .take(SHOWN)
        .map(|(n, line)| format!("line {n} is neither a sample nor a comment: {line}"))
        .collect();
    if !seen.status.is_success() {
        problems.insert(0, format!("GET /metrics {}", seen.brief()));
    }
    if samples == 0 {
        problems.push("no samples".into());
    }
    let openmetrics = content_type.starts_with("application/openmetrics-text");
    if openmetrics && seen.body.trim_end().lines().last() != Some("# EOF") {
        problems.push("OpenMetrics without its closing `# EOF`".into());
    }
    if !(openmetrics || content_type.starts_with("text/plain")) {
        problems.push(format!(
            "content type {content_type} is not an exposition format"
        ));
    }
    if bad.len() > SHOWN {
        evidence.push(format!("{} malformed lines in all", bad.len()));
    }
    Finding::judge(
        format!("{samples} samples, every line well-formed"),
        problems,
        evidence,
    )
}

pub async fn alert_inputs(ctx: &Context<'_>) -> Finding {
    let exprs = match rules::expressions(rules::RULES) {
        Ok(e) => e,
        Err(e) => return Finding::error(&anyhow::Error::new(e)),
    };
    let Some(text) = scrape::fetch(
        ctx.client(),
        &format!("{}/metrics", ctx.base_url),
        Duration::from_secs(5),
    )
    .await
    else {
        return Finding::fail("GET /metrics did not answer 200", Vec::new());
    };
    let exported: HashSet<&str> = scrape::samples(&text).map(|s| s.name).collect();
    let mut problems = Vec::new();
    let mut present = BTreeSet::new();
    let mut elsewhere = BTreeSet::new();
    for (alert, expr) in &exprs {
        for name in metric_names(expr) {
            if !name.starts_with("hrms_") {
                elsewhere.insert(name);
            } else if exported.contains(name.as_str()) {
                present.insert(name);
            } else {
                problems.push(format!(
                    "{alert} reads {name}, which /metrics does not export"
                ));
            }
        }
    }
    let evidence = vec![
        format!(
            "exported: {}",
            present.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        format!(
            "not the service's (Prometheus's own `up`, node_exporter's filesystem): {}",
            elsewhere.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ];
    Finding::judge(
        format!(
            "{} service metrics of {} rules all exported",
            present.len(),
            exprs.len()
        ),
        problems,
        evidence,
    )
}

/// PromQL words that look like metric names but are not: aggregation modifiers, set
/// operators, `bool`, `offset`.
const KEYWORDS: [&str; 11] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
];

/// The metric names an expression selects: identifiers that are not a function call, not a
/// keyword, not inside a label matcher `{…}`, a range `[…]` or a grouping `by (…)`. A
/// tokenizer, not an evaluator: nothing here computes what the expression means.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let (mut i, mut braces, mut brackets) = (0, 0_i32, 0_i32);
    let mut grouping_depth: Option<i32> = None;
    let mut parens = 0_i32;
    let mut after_grouping_word = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            '(' => {
                parens += 1;
                if after_grouping_word {
                    grouping_depth = Some(parens);
                }
                after_grouping_word = false;
            }
            ')' => {
                if grouping_depth == Some(parens) {
                    grouping_depth = None;
                }
                parens -= 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
                // `sum without (…) (…)`: an aggregation whose modifier comes before its
                // parenthesis is no more a metric than `sum(…)` is.
                let rest: String = chars[i..].iter().collect();
                let next_word = rest
                    .trim_start()
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default();
                let aggregation = matches!(next_word, "by" | "without");
                let in_selector = braces > 0 || brackets > 0 || grouping_depth.is_some();
                after_grouping_word = matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                );
                if !in_selector
                    && !aggregation
                    && next != Some('(')
                    && !KEYWORDS.contains(&word.as_str())
                {
                    names.insert(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

pub async fn rules_load() -> Finding {
    let names = match rules::alert_names(rules::RULES) {
        Ok(names) => names,
        Err(e) => return Finding::fail(format!("{}: {e}", rules::RULES_PATH), Vec::new()),
    };
    let parsed = format!("{} alerting rules: {}", names.len(), names.join(", "));
    let Some(promtool) = which("promtool") else {
        return match rules::scaled(rules::RULES, 1.0) {
            Ok(_) => Finding::pass(
                "parsed (promtool is not installed)",
                vec![parsed, "every `for:` is a Prometheus duration".into()],
            ),
            Err(e) => Finding::fail(format!("{}: {e}", rules::RULES_PATH), vec![parsed]),
        };
    };
    let checked = async {
        let path = std::env::temp_dir().join(format!(
            "gauntlet-verify-{}.rules.yml",
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, rules::RULES)?;
        let output = tokio::process::Command::new(&promtool)
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .await;
        let _ = std::fs::remove_file(&path);
        anyhow::Ok(output?)
    }
    .await;
    match checked {
        Ok(output) => {
            let said = String::from_utf8_lossy(&output.stdout)
                .trim()
                .replace('\n', " ");
            let line = format!(
                "{} check rules {}: {said}",
                promtool.display(),
                rules::RULES_PATH
            );
            if output.status.success() {
                Finding::pass("promtool check rules: SUCCESS", vec![line, parsed])
            } else {
                let err = String::from_utf8_lossy(&output.stderr)
                    .trim()
                    .replace('\n', " ");
                Finding::fail(format!("promtool refused the rules: {err}"), vec![line])
            }
        }
        Err(e) => Finding::error(&e),
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

pub async fn openapi_valid(ctx: &Context<'_>) -> Finding {
    let doc = match ctx.document().await {
        Ok(doc) => doc,
        Err(e) => return Finding::error(&e),
    };
    let parsed = match oas3::from_json(doc.to_string()) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Finding::fail(format!("not a valid OpenAPI 3.1 document: {e}"), Vec::new());
        }
    };
    let mut problems = Vec::new();
    if !parsed.openapi.starts_with("3.1") {
        problems.push(format!("openapi {} is not 3.1", parsed.openapi));
    }
    let mut ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            operations += 1;
            let label = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if !ids.insert(id.to_owned()) => {
                    problems.push(format!("{label}: operationId {id} is not unique"));
                }
                Some(_) => {}
                None => problems.push(format!("{label}: no operationId")),
            }
            if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
                problems.push(format!("{label}: no documented response"));
            }
        }
    }
    let evidence = vec![format!(
        "openapi {}, {} paths, {operations} operations",
        parsed.openapi,
        parsed.paths.as_ref().map_or(0, |p| p.len())
    )];
    Finding::judge(
        format!("OpenAPI {} with {operations} operations", parsed.openapi),
        problems,
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_leave_out_functions_labels_ranges_and_groupings() {
        let names = metric_names(
            "sum by (job) (rate(hrms_http_requests_total{job=\"hrms\", status=~\"5..\"}[30s]))\n\
             / on(instance) group_left sum without (route) (up{job=\"x\"}) > 0.05 \
             or 1 - node_filesystem_avail_bytes{volume=\"a\"} / node_filesystem_size_bytes > bool 0.85",
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "hrms_http_requests_total",
                "node_filesystem_avail_bytes",
                "node_filesystem_size_bytes",
                "up"
            ]
        );
    }

    #[test]
    fn the_committed_rules_name_the_service_gauges() {
        let all: BTreeSet<String> = rules::expressions(rules::RULES)
            .unwrap()
            .iter()
            .flat_map(|(_, e)| metric_names(e))
            .collect();
        for name in [
            "hrms_db_pool_in_use",
            "hrms_db_pool_max",
            "hrms_job_queue_depth",
            "hrms_rate_limit_usage_ratio",
            "hrms_dependency_up",
        ] {
            assert!(all.contains(name), "{name} in {all:?}");
        }
    }
}
