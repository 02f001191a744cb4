//! Reading Prometheus's alerts API (`GET /api/v1/alerts`) every second and keeping what each
//! alert rule did: when its condition first held (pending), when it fired, when it resolved.
//! Prometheus does the evaluating; this only writes down the states it reports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::watch;

/// How often the API is read: Prometheus evaluates the rules at the same interval.
const INTERVAL: Duration = Duration::from_secs(1);
/// Shorter than the interval, so one slow answer does not delay the next read.
const TIMEOUT: Duration = Duration::from_millis(900);

/// `GET /api/v1/alerts`, the parts we read.
#[derive(Deserialize)]
struct AlertsResponse {
    data: AlertsData,
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<ApiAlert>,
}

#[derive(Deserialize)]
struct ApiAlert {
    labels: BTreeMap<String, String>,
    state: String,
}

/// The state of one rule, over all its label sets: firing if any fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Condition false.
    Inactive,
    /// Condition true, waiting out `for:`.
    Pending,
    /// Firing.
    Firing,
}

/// A change of a rule's state, seen at `unix_us`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When the read that saw it happened.
    pub unix_us: u64,
    /// The rule.
    pub alert: String,
    /// The state it changed to.
    pub to: State,
}

/// What the watcher saw.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Every change, in time order.
    pub transitions: Vec<Transition>,
    /// Reads that failed (no answer, not JSON).
    pub failed_reads: u64,
}

impl Observed {
    /// Whether any rule is pending or firing at the last read.
    pub fn any_active(&self) -> bool {
        let mut last: BTreeMap<&str, State> = BTreeMap::new();
        for t in &self.transitions {
            last.insert(&t.alert, t.to);
        }
        last.values().any(|s| *s != State::Inactive)
    }
}

/// The alerts API read every second in a task, until [`Watcher::stop`].
pub struct Watcher {
    seen: Arc<Mutex<Observed>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Starts reading `{prometheus}/api/v1/alerts`; bounded by `max_reads` even if never
    /// stopped.
    pub fn start(prometheus: &str, max_reads: u64) -> Watcher {
        let seen = Arc::new(Mutex::new(Observed::default()));
        let (stop, mut stopped) = watch::channel(false);
        let url = format!("{}/api/v1/alerts", prometheus.trim_end_matches('/'));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let client = reqwest::Client::new();
                let mut current: BTreeMap<String, State> = BTreeMap::new();
                let mut ticker = tokio::time::interval(INTERVAL);
                for _ in 0..max_reads {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stopped.changed() => break,
                    }
                    let now = super::super::now_unix_us();
                    match read(&client, &url).await {
                        Some(states) => {
                            let changes = diff(&mut current, states, now);
                            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                            seen.transitions.extend(changes);
                        }
                        None => seen.lock().unwrap_or_else(|e| e.into_inner()).failed_reads += 1,
                    }
                }
            }
        });
        Watcher { seen, stop, task }
    }

    /// What has been seen so far.
    pub fn snapshot(&self) -> Observed {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps reading until no rule is pending or firing, `limit` has passed or `give_up` says
    /// so (Ctrl-C): an alert that fired during the run gets the chance to resolve, on the
    /// clock of its own rule.
    pub async fn settle(&self, limit: Duration, give_up: impl Fn() -> bool) {
        let deadline = Instant::now() + limit;
        while self.snapshot().any_active() && Instant::now() < deadline && !give_up() {
            tokio::time::sleep(INTERVAL).await;
        }
    }

    /// Stops reading and returns everything seen.
    pub async fn stop(self) -> Observed {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// One read: each alert rule's state over its label sets.
async fn read(client: &reqwest::Client, url: &str) -> Option<BTreeMap<String, State>> {
    let answer = client.get(url).timeout(TIMEOUT).send().await.ok()?;
    let body: AlertsResponse = answer.error_for_status().ok()?.json().await.ok()?;
    let mut states: BTreeMap<String, State> = BTreeMap::new();
    for alert in body.data.alerts {
        let Some(name) = alert.labels.get("alertname") else {
            continue;
        };
        let state = match alert.state.as_str() {
            "firing" => State::Firing,
            "pending" => State::Pending,
            _ => State::Inactive,
        };
        let entry = states.entry(name.clone()).or_insert(State::Inactive);
        *entry = (*entry).max(state);
    }
    Some(states)
}

/// The changes from `current` to `next` (a rule missing from `next` is inactive), applied.
fn diff(
    current: &mut BTreeMap<String, State>,
    next: BTreeMap<String, State>,
    unix_us: u64,
) -> Vec<Transition> {
    let mut changes = Vec::new();
    for (alert, state) in current.iter_mut() {
        let to = next.get(alert).copied().unwrap_or(State::Inactive);
        if *state != to {
            changes.push(Transition {
                unix_us,
                alert: alert.clone(),
                to,
            });
            *state = to;
        }
    }
    for (alert, to) in next {
        if let std::collections::btree_map::Entry::Vacant(slot) = current.entry(alert) {
            changes.push(Transition {
                unix_us,
                alert: slot.key().clone(),
                to,
            });
            slot.insert(to);
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_that_disappears_from_the_api_has_resolved() {
        let mut current = BTreeMap::new();
        let first = diff(&mut current, [("A".to_owned(), State::Pending)].into(), 1);
        assert_eq!(first.len(), 1);
        let second = diff(&mut current, [("A".to_owned(), State::Firing)].into(), 2);
        assert_eq!(second[0].to, State::Firing);
        let third = diff(&mut current, BTreeMap::new(), 3);
        assert_eq!(
            third,
            [Transition {
                unix_us: 3,
                alert: "A".to_owned(),
                to: State::Inactive
            }]
        );
        assert!(diff(&mut current, BTreeMap::new(), 4).is_empty());
    }
}
