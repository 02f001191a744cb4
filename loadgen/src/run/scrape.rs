//! Request counts as the service saw them, from its Prometheus `/metrics`.
//!
//! Scraped once before the attack and once after; the difference per `METHOD /route` is what
//! the attack sent, and must equal what the harness recorded. Health and metrics routes are
//! left out: the harness polls them itself.

use std::collections::BTreeMap;
use std::time::Duration;

/// Counter family the reference service exports (OpenMetrics adds `_total`).
const FAMILY: &str = "hrms_http_requests_total{";

/// Requests per `METHOD /route`, all statuses together.
pub type Counts = BTreeMap<String, u64>;

/// Fetches and parses `/metrics`; `None` when the target has no such endpoint or no
/// `hrms_http_requests_total` family (a deployment that is not the reference service).
pub async fn scrape(client: &reqwest::Client, base: &str) -> Option<Counts> {
    let response = client
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    let counts = parse(&text);
    text.contains(FAMILY).then_some(counts)
}

/// Sums `hrms_http_requests_total{method=..,route=..,status=..} N` by method and route.
pub fn parse(text: &str) -> Counts {
    let mut counts = Counts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(FAMILY) else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once('}') else {
            continue;
        };
        let (Some(method), Some(route)) = (label(labels, "method"), label(labels, "route")) else {
            continue;
        };
        if route == "/metrics" || route.starts_with("/health") {
            continue;
        }
        let value = value.split_whitespace().next().unwrap_or("");
        // Counters render as integers or floats depending on the client library.
        let Some(n) = value.parse::<f64>().ok().filter(|n| *n >= 0.0) else {
            continue;
        };
        *counts.entry(format!("{method} {route}")).or_default() += n as u64;
    }
    counts
}

/// The value of `name="..."` in a label set (values here never contain quotes).
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let len = labels[start..].find('"')?;
    Some(&labels[start..start + len])
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
        assert_eq!(counts.len(), 1);
        assert_eq!(counts["GET /employees/{id}"], 5);
        let before = Counts::from([("GET /employees/{id}".to_owned(), 2)]);
        assert_eq!(delta(&before, &counts)["GET /employees/{id}"], 3);
    }
}
