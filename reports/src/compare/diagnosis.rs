//! Diagnosis deltas beside the latency deltas: per endpoint both runs diagnosed, what changed
//! in where the time went ("GET /employees: queries per request 3.0 → 52.0"), and the causes
//! the new run names that the base did not. Information, not a verdict: the latency metrics
//! judge, these say where a regression comes from.

use crate::model::{DiagnosisSection, EndpointDiagnosis};

/// A per-request time that changed by less than this is not mentioned, µs.
const MIN_TIME_CHANGE_US: u64 = 1_000;
/// Nor one that changed by less than this factor (either way).
const MIN_FACTOR: f64 = 1.5;

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn moved(b: u64, n: u64) -> bool {
    let (lo, hi) = (b.min(n), b.max(n));
    hi - lo >= MIN_TIME_CHANGE_US && hi as f64 >= lo as f64 * MIN_FACTOR
}

fn endpoint(b: &EndpointDiagnosis, n: &EndpointDiagnosis) -> Option<String> {
    let mut parts = Vec::new();
    let (qb, qn) = (b.queries_per_request, n.queries_per_request);
    if (qn - qb).abs() >= 1.0 && qn.max(qb) >= qn.min(qb) * MIN_FACTOR {
        parts.push(format!("queries per request {qb:.1} → {qn:.1}"));
    }
    for (what, vb, vn) in [
        ("DB time", b.db_us, n.db_us),
        ("pool wait", b.pool_wait_us, n.pool_wait_us),
        ("Redis time", b.redis_us, n.redis_us),
        ("service time", b.service_us, n.service_us),
    ] {
        if moved(vb, vn) {
            parts.push(format!("{what} {} → {} per request", ms(vb), ms(vn)));
        }
    }
    (!parts.is_empty()).then(|| format!("{}: {}", n.name, parts.join("; ")))
}

/// The lines; empty when either run has no diagnosis or nothing moved.
pub fn lines(base: &DiagnosisSection, new: &DiagnosisSection) -> Vec<String> {
    if !base.enabled || !new.enabled {
        return Vec::new();
    }
    let mut out: Vec<String> = new
        .endpoints
        .iter()
        .filter_map(|n| {
            let b = base.endpoints.iter().find(|b| b.name == n.name)?;
            endpoint(b, n)
        })
        .collect();
    out.extend(
        new.causes
            .iter()
            .filter(|c| !base.causes.contains(c))
            .map(|c| format!("new cause: {c}")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(queries: f64, db_us: u64, pool_wait_us: u64) -> EndpointDiagnosis {
        EndpointDiagnosis {
            name: "GET /employees".to_owned(),
            requests: 100,
            mean_us: db_us + pool_wait_us + 500,
            db_us,
            pool_wait_us,
            service_us: 500,
            queries_per_request: queries,
            ..EndpointDiagnosis::default()
        }
    }

    fn section(e: EndpointDiagnosis) -> DiagnosisSection {
        DiagnosisSection {
            enabled: true,
            endpoints: vec![e],
            ..DiagnosisSection::default()
        }
    }

    #[test]
    fn says_what_moved_and_nothing_when_nothing_did() {
        let base = section(e(2.0, 1_500, 100));
        let noise = section(e(2.0, 1_900, 300));
        assert!(lines(&base, &noise).is_empty());
        let n_plus_one = section(e(52.0, 30_000, 100));
        assert_eq!(
            lines(&base, &n_plus_one),
            [
                "GET /employees: queries per request 2.0 → 52.0; DB time 1.5 ms → 30.0 ms per request"
            ]
        );
        assert!(lines(&DiagnosisSection::default(), &n_plus_one).is_empty());
    }
}
