//! The per-second series of a run: one open [`SecondBucket`] filling while requests complete,
//! closed into a compact [`SecondPoint`] when the clock moves on (part of [`crate::record`]'s
//! hot path, so it never allocates once the run is under way).

use hdrhistogram::Histogram;

use crate::histogram::{self, quantile_us};
use crate::model::SecondPoint;
use crate::record::Outcome;

/// Aggregation of one wall-clock second, all endpoints together.
#[derive(Debug, Clone)]
pub struct SecondBucket {
    unix_s: u64,
    count: u64,
    errors: u64,
    hist: Histogram<u64>,
}

impl SecondBucket {
    /// An empty bucket for the second `unix_s`.
    pub fn new(unix_s: u64) -> SecondBucket {
        SecondBucket {
            unix_s,
            count: 0,
            errors: 0,
            hist: histogram::new_histogram(),
        }
    }

    /// The second this bucket covers (unix seconds).
    pub fn unix_s(&self) -> u64 {
        self.unix_s
    }

    /// Record one request.
    #[inline]
    pub fn record(&mut self, latency_us: u64, outcome: Outcome) {
        self.hist.saturating_record(latency_us);
        self.count += 1;
        self.errors += u64::from(outcome.is_error());
    }

    /// Close the bucket into a series entry. With `keep_histogram`, the entry carries the
    /// encoded histogram; if encoding fails it is left out (merge then falls back to max).
    pub fn to_point(&self, keep_histogram: bool) -> SecondPoint {
        let h = &self.hist;
        SecondPoint {
            unix_s: self.unix_s,
            count: self.count,
            errors: self.errors,
            p50_us: quantile_us(h, 0.50),
            p95_us: quantile_us(h, 0.95),
            p99_us: quantile_us(h, 0.99),
            max_us: if h.is_empty() { 0 } else { h.max() },
            histogram: keep_histogram.then(|| histogram::encode(h).ok()).flatten(),
        }
    }

    /// Empty the bucket and move it to the second `unix_s` (reuses the histogram's memory).
    pub fn reset(&mut self, unix_s: u64) {
        self.unix_s = unix_s;
        self.count = 0;
        self.errors = 0;
        self.hist.reset();
    }
}

/// The per-second series: one open [`SecondBucket`] plus the closed seconds.
#[derive(Debug, Clone)]
pub struct SeriesRecorder {
    current: SecondBucket,
    points: Vec<SecondPoint>,
    keep_histograms: bool,
}

impl SeriesRecorder {
    /// A new series. `keep_histograms` stores each second's histogram (~100 B–2 KB per second)
    /// so merged reports get exact per-second percentiles.
    pub fn new(keep_histograms: bool) -> SeriesRecorder {
        SeriesRecorder {
            current: SecondBucket::new(0),
            points: Vec::new(),
            keep_histograms,
        }
    }

    /// The newest closed second (the open one is still filling).
    pub fn last_closed(&self) -> Option<&SecondPoint> {
        self.points.last()
    }

    /// Record a request that completed at `at_unix_us`. A sample stamped earlier than the open
    /// second (threads reporting slightly out of order) counts in the open second: the series
    /// never reopens a closed second.
    #[inline]
    pub fn record(&mut self, at_unix_us: u64, latency_us: u64, outcome: Outcome) {
        let second = at_unix_us / 1_000_000;
        if second > self.current.unix_s {
            self.close_current();
            self.current.reset(second);
        }
        self.current.record(latency_us, outcome);
    }

    fn close_current(&mut self) {
        if self.current.count > 0 {
            self.points
                .push(self.current.to_point(self.keep_histograms));
        }
    }

    /// Close the open second and return the series, in time order.
    pub fn finish(mut self) -> Vec<SecondPoint> {
        self.close_current();
        self.points
    }
}
