//! What the noise model of `compare` reads besides the whole-run statistics: the machine the
//! run shared (so a run on a machine busy with something else is "not comparable" rather than
//! "regressed") and each endpoint's per-second means (so a change is tested over the seconds,
//! not read off one histogram). Both sections are additive: reports written before them parse
//! with the sections empty, and compare then falls back to what those reports have.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The machine while the run went on, sampled each second by the monitor from `/proc`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnvironmentSection {
    /// True when the machine was sampled (Linux, a local monitor); false leaves compare
    /// without an opinion on comparability.
    pub enabled: bool,
    /// Online CPUs: a machine's full CPU is `cpus × 100` percent of one core.
    pub cpus: u32,
    /// One sample per second of the attack, in time order.
    pub samples: Vec<EnvironmentSample>,
    /// Means and peaks over the samples; `null` without samples.
    pub summary: Option<EnvironmentSummary>,
}

/// One second of the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnvironmentSample {
    /// When, unix time in whole seconds.
    pub unix_s: u64,
    /// CPU the whole machine used (`/proc/stat`: all but idle, iowait and steal), percent of
    /// one core.
    pub machine_cpu_percent: f64,
    /// CPU of the processes this run monitors (the generator, an in-process or child service,
    /// native or containerised Postgres and Redis, a loopback `--target`), percent of one core.
    pub run_cpu_percent: f64,
    /// `machine − run`, never negative: CPU taken by something else on the machine.
    pub elsewhere_cpu_percent: f64,
    /// Time the hypervisor gave this machine's CPUs to someone else, percent of all CPU time.
    pub steal_percent: f64,
    /// `/proc/loadavg`'s one-minute load average.
    pub load1: f64,
}

/// The environment samples summarised; what the comparability bounds are checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnvironmentSummary {
    /// Samples summarised.
    pub samples: u32,
    /// Mean machine CPU, percent of one core.
    pub machine_cpu_percent_mean: f64,
    /// Mean CPU of the run's own processes, percent of one core.
    pub run_cpu_percent_mean: f64,
    /// Mean CPU used elsewhere on the machine, percent of one core.
    pub elsewhere_cpu_percent_mean: f64,
    /// Highest one-second CPU used elsewhere, percent of one core.
    pub elsewhere_cpu_percent_max: f64,
    /// Mean steal, percent of all CPU time.
    pub steal_percent_mean: f64,
    /// Highest one-minute load average seen.
    pub load1_max: f64,
}

impl EnvironmentSection {
    /// A section from samples, with its summary.
    pub fn from_samples(cpus: u32, samples: Vec<EnvironmentSample>) -> EnvironmentSection {
        let summary = summarize(&samples);
        EnvironmentSection {
            enabled: true,
            cpus,
            samples,
            summary,
        }
    }
}

fn summarize(samples: &[EnvironmentSample]) -> Option<EnvironmentSummary> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len() as f64;
    let mean = |f: fn(&EnvironmentSample) -> f64| samples.iter().map(f).sum::<f64>() / n;
    let max = |f: fn(&EnvironmentSample) -> f64| samples.iter().map(f).fold(0.0, f64::max);
    Some(EnvironmentSummary {
        samples: samples.len() as u32,
        machine_cpu_percent_mean: mean(|s| s.machine_cpu_percent),
        run_cpu_percent_mean: mean(|s| s.run_cpu_percent),
        elsewhere_cpu_percent_mean: mean(|s| s.elsewhere_cpu_percent),
        elsewhere_cpu_percent_max: max(|s| s.elsewhere_cpu_percent),
        steal_percent_mean: mean(|s| s.steal_percent),
        load1_max: max(|s| s.load1),
    })
}

/// One endpoint's requests second by second: the sample a test over the seconds compares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointSeries {
    /// Endpoint name, as in `endpoints`.
    pub name: String,
    /// Seconds covered by each point: 1, or more when a long run's series was coarsened to
    /// keep at most [`MAX_SERIES_POINTS`] points per endpoint.
    pub interval_s: u32,
    /// One point per interval with at least one request, in time order.
    pub points: Vec<EndpointSecond>,
}

/// The most points one endpoint's series keeps; longer runs merge adjacent seconds, so the
/// section stays bounded (15 endpoints × 600 points is ~300 KB of JSON) whatever the length.
pub const MAX_SERIES_POINTS: usize = 600;

/// One interval of one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointSecond {
    /// Start of the interval, unix time in whole seconds.
    pub unix_s: u64,
    /// Requests completed in it.
    pub count: u64,
    /// Failed requests in it.
    pub errors: u64,
    /// Mean latency in it, microseconds (rounded).
    pub mean_us: u64,
}
