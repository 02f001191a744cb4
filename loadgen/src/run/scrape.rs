//! The service's Prometheus `/metrics`: fetched and parsed here, once, for both readers —
//! the request counts of the cross-check (below) and the monitor's gauges (`monitor.rs`).
//!
//! Counts are scraped once before the attack and once after; the difference per
//! `METHOD /route` is what the attack sent, and must equal what the harness recorded. Health
//! and metrics routes are left out: the harness polls them itself.
//!
//! The parser is ours (see ARCHITECTURE.md, "Where we wrote our own"): the published ones
//! either drop samples whose label values contain `}` — every templated route, such as
//! `/employees/{id}` — or come with a licence or a dependency tree out of proportion to
//! reading a few dozen lines.

use std::collections::BTreeMap;
use std::time::Duration;

/// Counter family the reference service exports (OpenMetrics adds `_total`).
const FAMILY: &str = "hrms_http_requests_total";

/// Histogram family of the service's request durations: its `_sum` and `_count` per route
/// give the service's own mean for the cross-check's latency columns.
const DURATION: &str = "hrms_http_request_duration_seconds";

/// Requests per `METHOD /route`, all statuses together.
pub type Counts = BTreeMap<String, u64>;

/// The service's own timing of one `METHOD /route`, all statuses together.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Requests the duration histogram counted.
    pub count: f64,
    /// Seconds it summed over them.
    pub seconds: f64,
}

/// Service timings per `METHOD /route`.
pub type Timings = BTreeMap<String, Timing>;

/// What one scrape of `/metrics` yields for the cross-check.
#[derive(Debug, Clone, Default)]
pub struct Scraped {
    pub counts: Counts,
    pub timings: Timings,
}

impl Scraped {
    /// `after - before` for both maps.
    pub fn delta(before: &Scraped, after: &Scraped) -> Scraped {
        let timings = after
            .timings
            .iter()
            .filter_map(|(k, a)| {
                let b = before.timings.get(k).copied().unwrap_or_default();
                let count = a.count - b.count;
                (count > 0.0).then(|| {
                    let seconds = (a.seconds - b.seconds).max(0.0);
                    (k.clone(), Timing { count, seconds })
                })
            })
            .collect();
        Scraped {
            counts: delta(&before.counts, &after.counts),
            timings,
        }
    }
}

/// `GET url` within `timeout`; the body of a successful answer.
pub async fn fetch(client: &reqwest::Client, url: &str, timeout: Duration) -> Option<String> {
    let response = client.get(url).timeout(timeout).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

/// Fetches and reads `/metrics`; `None` when the target has no such endpoint or no
/// `hrms_http_requests_total` family (a deployment that is not the reference service).
pub async fn scrape(client: &reqwest::Client, base: &str) -> Option<Scraped> {
    let text = fetch(client, &format!("{base}/metrics"), Duration::from_secs(5)).await?;
    samples(&text).any(|s| s.name == FAMILY).then(|| Scraped {
        counts: parse(&text),
        timings: parse_timings(&text),
    })
}

/// `METHOD /route` of a sample, unless it is a route the harness polls itself.
fn load_route(s: &Sample<'_>) -> Option<String> {
    let (method, route) = (s.label("method")?, s.label("route")?);
    let own = route == "/metrics" || route.starts_with("/health");
    (!own && s.value >= 0.0).then(|| format!("{method} {route}"))
}

/// Sums `hrms_http_requests_total{method=..,route=..,status=..} N` by method and route.
pub fn parse(text: &str) -> Counts {
    let mut counts = Counts::new();
    for s in samples(text).filter(|s| s.name == FAMILY) {
        if let Some(key) = load_route(&s) {
            // Counters render as integers or floats depending on the client library.
            *counts.entry(key).or_default() += s.value as u64;
        }
    }
    counts
}

/// Sums the duration histogram's `_count` and `_sum` by method and route.
pub fn parse_timings(text: &str) -> Timings {
    let (count, sum) = (format!("{DURATION}_count"), format!("{DURATION}_sum"));
    let mut timings = Timings::new();
    for s in samples(text) {
        let is_count = s.name == count;
        if !is_count && s.name != sum {
            continue;
        }
        if let Some(key) = load_route(&s) {
            let t = timings.entry(key).or_default();
            if is_count {
                t.count += s.value;
            } else {
                t.seconds += s.value;
            }
        }
    }
    timings
}

/// `after - before`, per key, dropping zeros.
pub fn delta(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// One sample line: `name{label="value",...} value [timestamp]`.
#[derive(Debug, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// Label values unescaped (`\"`, `\\`, `\n`).
    pub labels: Vec<(&'a str, String)>,
    pub value: f64,
}

impl Sample<'_> {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of a Prometheus (or OpenMetrics) text exposition, in order. Comments (`# HELP`,
/// `# TYPE`, `# EOF`) and blank lines carry nothing we read; a malformed line is skipped
/// rather than failing the scrape, as one odd line must not blind the monitor.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(sample)
}

/// The lines of an exposition that are neither a sample this parser reads nor a comment
/// (`# HELP`, `# TYPE`, `# UNIT`, `# EOF`), with their 1-based numbers: `gauntlet verify`
/// holds `/metrics` to the format where the monitor forgives.
pub fn malformed(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            let comment = ["# HELP ", "# TYPE ", "# UNIT "]
                .iter()
                .any(|p| line.starts_with(p))
                || line == "# EOF";
            !(line.is_empty() || comment || sample(line).is_some())
        })
        .map(|(i, line)| (i + 1, line))
        .collect()
}

fn sample(line: &str) -> Option<Sample<'_>> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() {
        return None;
    }
    let mut labels = Vec::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = label_set(after_brace, &mut labels)?;
    }
    // The value, then an optional timestamp we do not need. `f64` reads `+Inf` and `NaN`.
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// Reads `a="x",b="y"}` into `labels`; returns what follows the closing brace.
fn label_set<'a>(mut rest: &'a str, labels: &mut Vec<(&'a str, String)>) -> Option<&'a str> {
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some(after);
        }
        let (name, after) = rest.split_once('=')?;
        let (value, after) = quoted(after.trim_start().strip_prefix('"')?)?;
        labels.push((name.trim(), value));
        rest = after;
    }
}

/// A label value up to its closing quote, unescaped; and what follows the quote.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_statuses_and_skips_own_routes() {
        let text = "# TYPE hrms_http_requests counter\n\
            hrms_http_requests_total{method=\"GET\",route=\"/employees/{id}\",status=\"200\"} 3\n\
            hrms_http_requests_total{method=\"GET\",route=\"/employees/{id}\",status=\"404\"} 2\n\
            hrms_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 9\n\
            hrms_http_requests_total{method=\"GET\",route=\"/health/ready\",status=\"200\"} 9\n\
            hrms_http_request_duration_seconds_count{method=\"GET\",route=\"/x\",status=\"200\"} 1\n";
        let counts = parse(text);
        let timings = parse_timings(&format!(
            "{text}hrms_http_request_duration_seconds_sum{{method=\"GET\",route=\"/x\",status=\"200\"}} 0.25\n\
             hrms_http_request_duration_seconds_count{{method=\"GET\",route=\"/x\",status=\"500\"}} 3\n\
             hrms_http_request_duration_seconds_sum{{method=\"GET\",route=\"/x\",status=\"500\"}} 0.5\n\
             hrms_http_request_duration_seconds_sum{{method=\"GET\",route=\"/metrics\",status=\"200\"}} 9\n"
        ));
        let x = Timing {
            count: 4.0,
            seconds: 0.75,
        };
        assert_eq!(timings, Timings::from([("GET /x".to_owned(), x)]));
        assert_eq!(counts.len(), 1);
        assert_eq!(counts["GET /employees/{id}"], 5);
        let before = Counts::from([("GET /employees/{id}".to_owned(), 2)]);
        assert_eq!(delta(&before, &counts)["GET /employees/{id}"], 3);
    }

    #[test]
    fn label_values_keep_braces_commas_and_escapes() {
        let text = "# HELP x a help line } with { braces\n\
            x{route=\"/a/{id},b\",note=\"say \\\"hi\\\"\\\\ \\n\"} 1.5e3 1700000000000\n\
            y 2\n\
            z{a=\"1\",} +Inf\n\
            # EOF\n";
        let all: Vec<Sample> = samples(text).collect();
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(all[0].name, "x");
        assert_eq!(all[0].label("route"), Some("/a/{id},b"));
        assert_eq!(all[0].label("note"), Some("say \"hi\"\\ \n"));
        assert_eq!(all[0].value, 1500.0);
        assert_eq!(
            (all[1].name, all[1].labels.len(), all[1].value),
            ("y", 0, 2.0)
        );
        assert_eq!(all[2].label("a"), Some("1"));
        assert!(all[2].value.is_infinite());
    }

    #[test]
    fn malformed_names_the_lines_that_are_neither_samples_nor_comments() {
        let text = "# HELP a x\n# TYPE a gauge\na 1\n# stray comment\nb{c=\"1\"\n# EOF\n";
        assert_eq!(malformed(text), [(4, "# stray comment"), (5, "b{c=\"1\"")]);
    }

    #[test]
    fn malformed_lines_are_skipped_not_fatal() {
        let text = "good 1\n{nameless=\"x\"} 1\nunclosed{a=\"1 2\nnovalue{a=\"1\"}\nbad abc\nalso_good 2\n";
        let names: Vec<&str> = samples(text).map(|s| s.name).collect();
        assert_eq!(names, ["good", "also_good"]);
    }
}
