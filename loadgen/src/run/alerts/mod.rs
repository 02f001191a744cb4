//! The seed's six alerts, evaluated in every run by a real Prometheus.
//!
//! [`rules`] is the rules file (`service/alerts/hrms.rules.yml`, embedded); a local run starts
//! [`prometheus::LocalPrometheus`] loaded with it (every `for:` scaled like the stages), a
//! `--target` run may name its own (`--prometheus URL`, loaded with the exported rules). The
//! [`watch::Watcher`] reads the alerts API every second; after the load it keeps reading until
//! nothing is pending or firing (bounded), so alerts that fired get to resolve. What it saw
//! becomes the report's `alerts` section and lines on the chaos timeline ([`section`]).
//!
//! A spec's `expect_alerts = [...]` becomes one threshold per rule ([`expectations`]):
//! `alert.<name>.fired == 1` for an expected rule (never firing is an *alerting gap*),
//! `== 0` for every other (firing is a *noisy alert*).

mod container;
pub mod prometheus;
pub mod rules;
pub mod watch;

use std::time::Duration;

use gauntlet_reports::model::{AlertRecord, AlertsSection, ChaosEvent, ChaosEventKind};
use gauntlet_reports::{Report, Threshold};
use gauntlet_scenarios::ScenarioSpec;
use gauntlet_testcontainers::ProvisionConfig;

use anyhow::Context;
use prometheus::{LocalPrometheus, Scrape};

use super::signal::Interrupt;
use super::sut::Sut;
use super::{Prepared, RunConfig, Target};
use crate::exit::Failure;
use watch::{Observed, State, Watcher};

/// How long the watcher waits after the load for pending and firing alerts to resolve. Not
/// scaled: the rules' rate windows (30 s) are not, and an error-rate alert resolves only when
/// the last errors have left its window.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(45);

/// The Prometheus a run reads its alerts from: one it started, or a deployment's.
pub struct Alerting {
    local: Option<LocalPrometheus>,
    url: String,
    names: Vec<String>,
    expected: Vec<String>,
}

impl Alerting {
    /// Starts a Prometheus for the local service at `service` (and node_exporter when
    /// Postgres's data directory is on this machine), loaded with the rules scaled by `scale`.
    pub async fn start_local(
        scrape: &Scrape<'_>,
        scale: f64,
        provision: &ProvisionConfig,
        spec: &ScenarioSpec,
    ) -> anyhow::Result<Alerting> {
        let rules = rules::scaled(rules::RULES, scale)?;
        let local =
            LocalPrometheus::start(scrape, &rules, provision.changes, &provision.observer).await?;
        tracing::info!(url = %local.url, disk = ?local.disk_mount, "prometheus started");
        Ok(Alerting {
            url: local.url.clone(),
            local: Some(local),
            names: rules::alert_names(rules::RULES)?,
            expected: expected_names(spec),
        })
    }

    /// A deployment's Prometheus (`--prometheus`), assumed loaded with the exported rules.
    pub fn remote(url: &url::Url, spec: &ScenarioSpec) -> anyhow::Result<Alerting> {
        Ok(Alerting {
            local: None,
            url: url.as_str().trim_end_matches('/').to_owned(),
            names: rules::alert_names(rules::RULES)?,
            expected: expected_names(spec),
        })
    }

    /// Starts reading the alerts API every second, at most `max_reads` times.
    pub fn watch(&self, max_reads: u64) -> Watcher {
        Watcher::start(&self.url, max_reads)
    }

    /// After the load: lets what is pending or firing resolve (up to [`SETTLE_LIMIT`]; an
    /// interrupted run stops waiting at once), stops
    /// the watcher and the local Prometheus. Call before the service stops, or its going away
    /// would fire the health alert.
    pub async fn finish(self, watcher: Watcher, interrupt: &Interrupt) -> Finished {
        watcher.settle(SETTLE_LIMIT, || interrupt.is_set()).await;
        let observed = watcher.stop().await;
        if let Some(local) = self.local {
            local.stop().await;
        }
        Finished {
            observed,
            url: self.url,
            names: self.names,
            expected: self.expected,
        }
    }
}

/// What a run's alerting saw, ready for the report.
pub struct Finished {
    observed: Observed,
    url: String,
    names: Vec<String>,
    expected: Vec<String>,
}

impl Finished {
    /// Fills the report's `alerts` section and adds the alert events to the chaos timeline.
    pub fn fill(self, report: &mut Report) {
        if self.observed.failed_reads > 0 {
            tracing::warn!(
                failed = self.observed.failed_reads,
                "reads of the Prometheus alerts API failed"
            );
        }
        let (alerts, events) = section(
            &self.observed,
            &self.names,
            &self.expected,
            &self.url,
            report.run.started_at_unix_us,
        );
        report.alerts = alerts;
        report.chaos.events.extend(events);
        report.chaos.events.sort_by_key(|e| e.at_offset_us);
    }
}

fn expected_names(spec: &ScenarioSpec) -> Vec<String> {
    spec.expect_alerts()
        .unwrap_or_default()
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// A Prometheus for the run's alerts (started for a local run, named by `--prometheus` for a
/// `--target`); `None` with `--no-alerts` or a `--target` without one. Exit 3 when it cannot
/// start: the run would otherwise pass without the alerts it promises to check.
pub(super) async fn start(
    config: &RunConfig,
    prepared: &Prepared,
    sut: &Sut,
) -> Result<Option<Alerting>, Failure> {
    if !prepared.alerting {
        return Ok(None);
    }
    let alerting = match (&config.target, &config.prometheus) {
        (Target::Remote { .. }, Some(url)) => Alerting::remote(url, &prepared.spec),
        (Target::Local(provision), _) => {
            let postgres_data = match sut.stack() {
                Some(stack) => stack.postgres.data_disk().await,
                None => None,
            };
            let scrape = Scrape {
                service: sut.base_url(),
                postgres_data,
            };
            Alerting::start_local(&scrape, config.duration_scale, provision, &prepared.spec).await
        }
        (Target::Remote { .. }, None) => return Ok(None),
    };
    alerting
        .context("starting Prometheus for the alert rules")
        .map(Some)
        .map_err(Failure::infrastructure)
}

/// The thresholds `expect_alerts` stands for, or none when the spec does not say; an unknown
/// rule name is bad input naming its place in the spec.
/// Rules a spec's own design may fire without expecting them: whether they do depends on how
/// long its deliberate overload or outage lasts against the rule's `for:` and averaging
/// window, so neither "must fire" nor "must stay silent" would be a fair judgement. They are
/// judged only when the spec expects them.
/// - A noisy neighbour floods past its plan on purpose: the rate-limit usage alert is what
///   that looks like.
/// - A drill destroys the database on purpose: health and error rate are down until the
///   restore, for about its RTO.
fn may_fire(spec: &ScenarioSpec) -> Vec<&'static str> {
    let mut allowed = Vec::new();
    if spec.noisy_neighbour().is_some() {
        allowed.push("HrmsRateLimitNearlyExhausted");
    }
    if spec.drill().is_some() {
        allowed.extend(["HrmsHealthCheckFailing", "HrmsHighErrorRate"]);
    }
    allowed
}

pub(super) fn expectations(spec: &ScenarioSpec) -> Result<Vec<Threshold>, Failure> {
    let names = rules::alert_names(rules::RULES)
        .context("the embedded rules file")
        .map_err(Failure::infrastructure)?;
    expectations_among(spec, &names).map_err(Failure::bad_input)
}

fn expectations_among(spec: &ScenarioSpec, names: &[String]) -> anyhow::Result<Vec<Threshold>> {
    let Some(expected) = spec.expect_alerts() else {
        return Ok(Vec::new());
    };
    for e in expected {
        if !names.contains(&e.name) {
            anyhow::bail!(
                "{}: expect_alerts names {:?}, which is not a rule of {} (rules: {})",
                spec.describe_position(e.span.start),
                e.name,
                rules::RULES_PATH,
                names.join(", ")
            );
        }
    }
    names
        .iter()
        .filter(|name| {
            !may_fire(spec).contains(&name.as_str()) || expected.iter().any(|e| &e.name == *name)
        })
        .map(|name| {
            let fires = expected.iter().any(|e| &e.name == name);
            let text = format!("alert.{name}.fired == {}", u8::from(fires));
            text.parse::<Threshold>()
                .map_err(|e| anyhow::anyhow!("{text}: {e}"))
        })
        .collect()
}

/// The report's `alerts` section and the timeline's alert events, from what the watcher saw.
/// `names` are the rules loaded (each gets a row, fired or not); `expected` come from the spec.
pub fn section(
    observed: &Observed,
    names: &[String],
    expected: &[String],
    prometheus: &str,
    started_unix_us: u64,
) -> (AlertsSection, Vec<ChaosEvent>) {
    let offset = |unix_us: u64| unix_us.saturating_sub(started_unix_us);
    let mut records: Vec<AlertRecord> = names
        .iter()
        .map(|name| AlertRecord {
            name: name.clone(),
            expected: expected.contains(name),
            ..AlertRecord::default()
        })
        .collect();
    let mut events = Vec::new();
    let mut last = std::collections::BTreeMap::<&str, State>::new();
    for t in &observed.transitions {
        // A rule Prometheus knows and our file does not (a deployment's own) gets a row too.
        if !records.iter().any(|r| r.name == t.alert) {
            records.push(AlertRecord {
                name: t.alert.clone(),
                ..AlertRecord::default()
            });
        }
        let Some(r) = records.iter_mut().find(|r| r.name == t.alert) else {
            continue;
        };
        let at = offset(t.unix_us);
        let was = last.insert(&t.alert, t.to).unwrap_or(State::Inactive);
        let (kind, words) = match t.to {
            State::Pending => {
                r.pending_at_offset_us.get_or_insert(at);
                (ChaosEventKind::AlertPending, "pending")
            }
            State::Firing => {
                r.pending_at_offset_us.get_or_insert(at);
                r.fired_at_offset_us.get_or_insert(at);
                r.resolved_at_offset_us = None;
                (ChaosEventKind::AlertFiring, "firing")
            }
            State::Inactive if was == State::Firing => {
                r.resolved_at_offset_us = Some(at);
                (ChaosEventKind::AlertResolved, "resolved")
            }
            // Pending that never fired: the condition did not hold for its `for:`.
            State::Inactive => (ChaosEventKind::Note, "inactive again (never fired)"),
        };
        events.push(ChaosEvent {
            at_offset_us: at,
            kind,
            target: "alerts".to_owned(),
            message: format!("alert {} {words}", t.alert),
        });
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    let section = AlertsSection {
        enabled: true,
        prometheus: Some(prometheus.to_owned()),
        alerts: records,
    };
    (section, events)
}

#[cfg(test)]
mod tests {
    use super::watch::Transition;
    use super::*;

    fn t(unix_us: u64, alert: &str, to: State) -> Transition {
        Transition {
            unix_us,
            alert: alert.to_owned(),
            to,
        }
    }

    #[test]
    fn pending_firing_and_resolved_land_in_the_record_and_on_the_timeline() {
        let observed = Observed {
            transitions: vec![
                t(2_000_000, "A", State::Pending),
                t(4_000_000, "A", State::Firing),
                t(9_000_000, "A", State::Inactive),
                t(5_000_000, "B", State::Pending),
                t(6_000_000, "B", State::Inactive),
            ],
            failed_reads: 0,
        };
        let names = ["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let (s, events) = section(&observed, &names, &["A".to_owned()], "p", 1_000_000);
        let a = &s.alerts[0];
        assert_eq!(
            (
                a.expected,
                a.pending_at_offset_us,
                a.fired_at_offset_us,
                a.resolved_at_offset_us
            ),
            (true, Some(1_000_000), Some(3_000_000), Some(8_000_000))
        );
        assert_eq!(s.alerts[1].fired_at_offset_us, None);
        assert_eq!(s.alerts[1].pending_at_offset_us, Some(4_000_000));
        assert_eq!(s.fired(), 1);
        assert_eq!(events.len(), 5);
        assert_eq!(events[2].kind, ChaosEventKind::AlertResolved);
    }
}
