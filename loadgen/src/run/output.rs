//! The run's files (report.json, report.md, report.html, junit.xml, and the sidecars
//! crosscheck.json, analysis.json and the service's own service.log) and the console summary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use gauntlet_reports::{Report, render};
use serde::Serialize;

use crate::exit::Failure;
use crate::logging::service_log::{self, ServiceLog};

/// Request counts per endpoint as three independent observers saw them: the harness's own
/// recorder, goose's metrics, and the service's `/metrics` (when it has one).
#[derive(Debug, Clone, Serialize)]
pub struct CrossCheck {
    /// One row per endpoint any observer saw.
    pub endpoints: Vec<CrossCheckRow>,
    /// Sum of the harness column (the requests in the report's endpoint statistics).
    pub harness_total: u64,
    /// Sum of the probe column.
    pub probe_total: u64,
    /// Sum of the flood column.
    pub flood_total: u64,
    /// Sum of the goose column, when goose's metrics were available.
    pub goose_total: Option<u64>,
    /// Sum of the setup column.
    pub setup_total: u64,
    /// Sum of the service column, when the service exposes `/metrics`.
    pub service_total: Option<u64>,
    /// True when every row agrees among the observers that were available.
    pub consistent: bool,
    /// Mean time spent recording one request, nanoseconds.
    pub recording_overhead_ns: f64,
}

/// One endpoint's counts.
#[derive(Debug, Clone, Serialize)]
pub struct CrossCheckRow {
    /// `METHOD /route`.
    pub endpoint: String,
    /// Requests the harness recorded into the endpoint statistics.
    pub harness: u64,
    /// Probe requests (the prober persona's and the sweeps'): the harness sent and counted
    /// them, goose and the service count them, but they are never endpoint samples or errors.
    pub probe: u64,
    /// Requests of the noisy neighbour's flood: the service counts them, goose and the
    /// endpoint statistics do not.
    pub flood: u64,
    /// Requests goose counted (its metrics leave out the setup and sweeps).
    pub goose: Option<u64>,
    /// Requests of the setup and sweeps, which goose does not count.
    pub setup: u64,
    /// Requests the service counted (after minus before the attack).
    pub service: Option<u64>,
    /// Mean latency of the harness's samples (response time, as in the report), µs.
    pub harness_mean_us: Option<u64>,
    /// Mean of the service's own request-duration histogram over the same window, µs
    /// (`_sum / _count`; probe and flood requests of the route included). Beside the
    /// harness's mean it shows what the network and the generator added.
    pub service_mean_us: Option<u64>,
}

impl CrossCheck {
    /// Joins the count maps. `probe` counts requests that are in neither `harness` nor the
    /// report's statistics but that every other observer saw.
    pub fn new(
        harness: &BTreeMap<String, u64>,
        probe: &BTreeMap<String, u64>,
        flood: &BTreeMap<String, u64>,
        setup: &BTreeMap<String, u64>,
        goose: Option<&BTreeMap<String, u64>>,
        service: Option<&BTreeMap<String, u64>>,
        recording_overhead_ns: f64,
    ) -> CrossCheck {
        let mut names: BTreeSet<&String> = harness
            .keys()
            .chain(probe.keys())
            .chain(flood.keys())
            .collect();
        names.extend(goose.into_iter().flat_map(|g| g.keys()));
        names.extend(service.into_iter().flat_map(|s| s.keys()));
        let get = |m: Option<&BTreeMap<String, u64>>, k: &String| {
            m.map(|m| m.get(k).copied().unwrap_or(0))
        };
        let endpoints: Vec<CrossCheckRow> = names
            .into_iter()
            .map(|k| CrossCheckRow {
                endpoint: k.clone(),
                harness: harness.get(k).copied().unwrap_or(0),
                probe: probe.get(k).copied().unwrap_or(0),
                flood: flood.get(k).copied().unwrap_or(0),
                goose: get(goose, k),
                setup: setup.get(k).copied().unwrap_or(0),
                service: get(service, k),
                harness_mean_us: None,
                service_mean_us: None,
            })
            .collect();
        let consistent = endpoints.iter().all(|r| {
            let sent = r.harness + r.probe;
            r.goose.is_none_or(|g| g + r.setup == sent)
                && r.service.is_none_or(|s| s == sent + r.flood)
        });
        CrossCheck {
            harness_total: endpoints.iter().map(|r| r.harness).sum(),
            probe_total: endpoints.iter().map(|r| r.probe).sum(),
            flood_total: endpoints.iter().map(|r| r.flood).sum(),
            goose_total: goose.map(|g| g.values().sum()),
            setup_total: setup.values().sum(),
            service_total: service.map(|s| s.values().sum()),
            consistent,
            recording_overhead_ns,
            endpoints,
        }
    }

    /// Fills the latency columns: the harness's per-endpoint means and the service's own.
    pub fn with_timings(
        mut self,
        harness: &[gauntlet_reports::model::EndpointReport],
        service: Option<&super::scrape::Timings>,
    ) -> CrossCheck {
        for row in &mut self.endpoints {
            row.harness_mean_us = harness
                .iter()
                .find(|e| e.name == row.endpoint && e.count > 0)
                .map(|e| e.latency.mean_us);
            row.service_mean_us = service
                .and_then(|s| s.get(&row.endpoint))
                .filter(|t| t.count > 0.0)
                .map(|t| (t.seconds / t.count * 1e6).round() as u64);
        }
        self
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        let show = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
        format!(
            "cross-check: harness {} (+{} probe, +{} flood) · goose {} (+{} setup) · service {} requests{}; recording {:.0} ns/request",
            self.harness_total,
            self.probe_total,
            self.flood_total,
            show(self.goose_total),
            self.setup_total,
            show(self.service_total),
            if self.consistent {
                ""
            } else {
                " — MISMATCH, see crosscheck.json"
            },
            self.recording_overhead_ns
        )
    }
}

/// `target/gauntlet/<scenario>-<UTC timestamp>/`.
pub fn default_dir(scenario: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    PathBuf::from("target/gauntlet").join(format!("{scenario}-{stamp}"))
}

/// Writes every file; returns (label, path) pairs for the summary.
pub fn write_all(
    dir: &Path,
    report: &Report,
    cross: &CrossCheck,
    sidecar: &super::Sidecar,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut written = write_reports(dir, report)?;
    let files = [
        (
            "cross-check",
            "crosscheck.json",
            serde_json::to_string_pretty(cross).context("crosscheck.json")?,
        ),
        (
            "analysis",
            "analysis.json",
            serde_json::to_string_pretty(sidecar).context("analysis.json")?,
        ),
    ];
    write_files(dir, files, &mut written)?;
    // Written while the run went on (`open_service_log`); listed with the others.
    if let Some(name) = &report.run.service_log {
        written.push(("service log", dir.join(name).display().to_string()));
    }
    Ok(written)
}

/// The report in every format (report.json, .md, .html, junit.xml): a run's files without
/// what only a run has (the cross-check, the monitor's samples), as a merge writes them.
pub fn write_reports(dir: &Path, report: &Report) -> anyhow::Result<Vec<(&'static str, String)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = [
        (
            "json",
            "report.json",
            render::json(report).context("report.json")?,
        ),
        ("markdown", "report.md", render::markdown::render(report)),
        ("html", "report.html", render::html::render(report)),
        (
            "junit",
            "junit.xml",
            render::junit::render(report).context("junit.xml")?,
        ),
    ];
    let mut written = Vec::with_capacity(files.len());
    write_files(dir, files, &mut written)?;
    Ok(written)
}

fn write_files<const N: usize>(
    dir: &Path,
    files: [(&'static str, &str, String); N],
    written: &mut Vec<(&'static str, String)>,
) -> anyhow::Result<()> {
    for (label, name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push((label, path.display().to_string()));
    }
    Ok(())
}

/// The reference service's own log in the run's directory, for a `local` run (a `--target`'s
/// log is not ours). An unwritable directory is bad input, found before anything starts.
pub fn open_service_log(
    local: bool,
    dir: &Path,
    quiet: bool,
) -> Result<Option<ServiceLog>, Failure> {
    if !local {
        return Ok(None);
    }
    ServiceLog::open(dir, quiet)
        .with_context(|| format!("creating the service log in {}", dir.display()))
        .map(Some)
        .map_err(Failure::bad_input)
}

/// Prints the episodes still open, stops diverting and names the file in the report.
pub fn close_service_log(report: &mut Report, log: Option<ServiceLog>) {
    if let Some(log) = log {
        report.run.service_log = Some(service_log::FILE_NAME.to_owned());
        log.close();
    }
}

/// The console summary (only its first line with `quiet`).
pub fn console(report: &Report, files: &[(&str, String)], quiet: bool) -> String {
    let pairs: Vec<(&str, &str)> = files.iter().map(|(l, p)| (*l, p.as_str())).collect();
    let text = render::console::render(report, &pairs);
    if quiet {
        text.lines().next().unwrap_or_default().to_owned() + "\n"
    } else {
        text
    }
}
