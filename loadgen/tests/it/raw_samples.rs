//! The raw samples of runs (`--raw-samples` CSVs) as HDR histograms with the recorder's
//! settings, and the check that a report's summary is exactly that histogram's: how the merge
//! tests prove that merged percentiles are those of the union of the parts' samples.

use std::collections::BTreeMap;
use std::path::Path;

use gauntlet_reports::histogram::{new_histogram, quantile_us};
use hdrhistogram::Histogram;
use serde_json::Value;

/// Percentiles the report carries, with how to read each from a histogram.
const QUANTILES: [(&str, f64); 5] = [
    ("p50_us", 0.50),
    ("p90_us", 0.90),
    ("p95_us", 0.95),
    ("p99_us", 0.99),
    ("p999_us", 0.999),
];

/// `unix_us,"endpoint",status,latency_us` lines into per-endpoint histograms (and `all`),
/// with the number of lines read.
pub(crate) fn histograms_of<P: AsRef<Path>>(csvs: &[P]) -> (BTreeMap<String, Histogram<u64>>, u64) {
    let mut out: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut lines = 0;
    for path in csvs {
        let text = std::fs::read_to_string(path).expect("raw samples readable");
        let mut rows = text.lines();
        assert_eq!(rows.next(), Some("unix_us,endpoint,status,latency_us"));
        for row in rows {
            let (head, latency) = row.rsplit_once(',').expect("4 columns");
            let (head, _status) = head.rsplit_once(',').expect("4 columns");
            let (_at, endpoint) = head.split_once(',').expect("4 columns");
            let latency: u64 = latency.parse().expect("latency is a number");
            for key in [endpoint.trim_matches('"').to_owned(), "all".to_owned()] {
                out.entry(key)
                    .or_insert_with(new_histogram)
                    .saturating_record(latency);
            }
            lines += 1;
        }
    }
    (out, lines)
}

/// A report's endpoint (or total) summary `e` is exactly `h`'s: count, percentiles, max.
pub(crate) fn assert_summary_matches(e: &Value, h: &Histogram<u64>) {
    let name = &e["name"];
    assert_eq!(e["count"].as_u64(), Some(h.len()), "{name} count");
    for (key, q) in QUANTILES {
        let got = e["latency"][key].as_u64();
        assert_eq!(got, Some(quantile_us(h, q)), "{name} {key}");
    }
    assert_eq!(e["latency"]["max_us"].as_u64(), Some(h.max()), "{name} max");
}
