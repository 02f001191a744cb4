//! Each endpoint's per-second means, recorded beside its histogram: what compare's test over
//! the seconds reads (a histogram of the whole run cannot tell run-to-run variation from a
//! change, a sample of seconds can). One open second per endpoint, closed into a small point
//! when the clock moves on; no allocation once an endpoint's vector has grown.

use crate::model::{EndpointSecond, EndpointSeries, MAX_SERIES_POINTS};

/// The series of one endpoint while a run records it.
#[derive(Debug, Clone, Default)]
pub struct EndpointSeriesRecorder {
    open: Option<Open>,
    points: Vec<EndpointSecond>,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    unix_s: u64,
    count: u64,
    errors: u64,
    sum_us: u64,
}

impl EndpointSeriesRecorder {
    /// Record a request that completed at `at_unix_us`. Like the run-wide series, a sample
    /// stamped before the open second counts in the open second.
    #[inline]
    pub fn record(&mut self, at_unix_us: u64, latency_us: u64, error: bool) {
        let second = at_unix_us / 1_000_000;
        match &mut self.open {
            Some(o) if second <= o.unix_s => {
                o.count += 1;
                o.errors += u64::from(error);
                o.sum_us = o.sum_us.saturating_add(latency_us);
            }
            open => {
                if let Some(o) = open.take() {
                    self.points.push(close(o));
                }
                *open = Some(Open {
                    unix_s: second,
                    count: 1,
                    errors: u64::from(error),
                    sum_us: latency_us,
                });
            }
        }
    }

    /// Close the open second and return the series, coarsened to at most
    /// [`MAX_SERIES_POINTS`] points.
    pub fn finish(mut self, name: &str) -> EndpointSeries {
        if let Some(o) = self.open.take() {
            self.points.push(close(o));
        }
        let (interval_s, points) = coarsen(self.points, MAX_SERIES_POINTS);
        EndpointSeries {
            name: name.to_owned(),
            interval_s,
            points,
        }
    }
}

fn close(o: Open) -> EndpointSecond {
    EndpointSecond {
        unix_s: o.unix_s,
        count: o.count,
        errors: o.errors,
        mean_us: (o.sum_us as f64 / o.count.max(1) as f64).round() as u64,
    }
}

/// Merge points into intervals of whole seconds, as few as keeps the count at `max`; each
/// merged point's mean is the request-weighted mean of its seconds.
pub fn coarsen(points: Vec<EndpointSecond>, max: usize) -> (u32, Vec<EndpointSecond>) {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return (1, points);
    };
    if points.len() <= max {
        return (1, points);
    }
    let span = last.unix_s - first.unix_s + 1;
    let interval = span.div_ceil(max.max(1) as u64).max(1);
    let origin = first.unix_s;
    let mut out: Vec<EndpointSecond> = Vec::with_capacity(max);
    let mut sums: Vec<f64> = Vec::with_capacity(max);
    for p in points {
        let start = origin + (p.unix_s - origin) / interval * interval;
        let weighted = p.mean_us as f64 * p.count as f64;
        match out.last_mut() {
            Some(q) if q.unix_s == start => {
                q.count += p.count;
                q.errors += p.errors;
                if let Some(s) = sums.last_mut() {
                    *s += weighted;
                }
            }
            _ => {
                out.push(EndpointSecond { unix_s: start, ..p });
                sums.push(weighted);
            }
        }
    }
    for (q, s) in out.iter_mut().zip(sums) {
        q.mean_us = (s / q.count.max(1) as f64).round() as u64;
    }
    (interval as u32, out)
}

/// The series of several generator processes that drove the same service at once: counts
/// add and means weigh by requests, second by second. Inputs already coarsened cannot be
/// aligned second by second, so then the merged report has none (compare falls back).
pub fn merge<'a>(inputs: impl Iterator<Item = &'a [EndpointSeries]>) -> Vec<EndpointSeries> {
    use std::collections::BTreeMap;
    let mut by_name: BTreeMap<&str, BTreeMap<u64, (u64, u64, f64)>> = BTreeMap::new();
    for series in inputs {
        for s in series {
            if s.interval_s > 1 {
                return Vec::new();
            }
            let seconds = by_name.entry(&s.name).or_default();
            for p in &s.points {
                let e = seconds.entry(p.unix_s).or_default();
                e.0 += p.count;
                e.1 += p.errors;
                e.2 += p.mean_us as f64 * p.count as f64;
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, seconds)| {
            let points = seconds
                .into_iter()
                .map(|(unix_s, (count, errors, sum))| EndpointSecond {
                    unix_s,
                    count,
                    errors,
                    mean_us: (sum / count.max(1) as f64).round() as u64,
                })
                .collect();
            let (interval_s, points) = coarsen(points, MAX_SERIES_POINTS);
            EndpointSeries {
                name: name.to_owned(),
                interval_s,
                points,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_close_into_means_and_long_series_are_coarsened() {
        let mut r = EndpointSeriesRecorder::default();
        for s in 0..1_300u64 {
            r.record(s * 1_000_000, 1_000, false);
            r.record(s * 1_000_000 + 500_000, 3_000, s % 2 == 0);
        }
        let series = r.finish("GET /x");
        assert_eq!(series.interval_s, 3);
        assert_eq!(series.points.len(), 434);
        assert!(series.points.len() <= MAX_SERIES_POINTS);
        let p = series.points[0];
        assert_eq!((p.unix_s, p.count, p.errors, p.mean_us), (0, 6, 2, 2_000));
    }
}
