//! The acknowledged-write ledger, read back after the attack.
//!
//! Personas send every create (clock-in, leave request) with a fresh `Idempotency-Key` and
//! report it to the recorder: acknowledged with its id, or unanswered. Here each one is
//! looked up directly in the provisioned Postgres (the authority: the row, and the key row the
//! service stores in the same transaction) and, for attendance, through the API as each
//! tenant's HR admin sees it. An acknowledged write missing from either is `lost`; a key whose
//! stored response names another row than the one acknowledged is `duplicated`; an unanswered
//! write whose key committed is `unacknowledged_but_present` (informational).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet_reports::model::LedgerSection;
use gauntlet_reports::{Threshold, parse_threshold};
use gauntlet_scenarios::hrms::{Endpoint, Fixture, Role};
use gauntlet_scenarios::personas::Write;
use sqlx::Connection;

/// Lost and duplicated writes named in the report, at most.
const MAX_EXAMPLES: usize = 5;
/// The whole read-back through the API gives up after this (the direct check still counts).
const API_BUDGET: Duration = Duration::from_secs(5);

/// Default thresholds of a run that keeps a ledger, unless the spec already has them.
pub fn add_default_thresholds(thresholds: &mut Vec<Threshold>) {
    for (text, metric) in [
        (
            "ledger.lost == 0",
            gauntlet_reports::threshold::Metric::LedgerLost,
        ),
        (
            "ledger.duplicated == 0",
            gauntlet_reports::threshold::Metric::LedgerDuplicated,
        ),
    ] {
        if !thresholds
            .iter()
            .any(|t| t.metric == metric && t.phase.is_none())
        {
            // Constants: a parse failure is a bug caught by the test below.
            if let Ok(t) = parse_threshold(text) {
                thresholds.push(t);
            }
        }
    }
}

/// The ledger read back: the section, and the ids of the acknowledged writes it found lost.
pub struct ReadBack {
    /// The report's ledger section.
    pub section: LedgerSection,
    /// Ids of every lost acknowledged write (the section names a few).
    pub lost_ids: BTreeSet<String>,
}

/// Reads every ledgered write back and fills the ledger section.
pub async fn verify(
    writes: Vec<Write>,
    base_url: &str,
    fixture: &Fixture,
    postgres: &url::Url,
) -> anyhow::Result<ReadBack> {
    let mut lost_ids = BTreeSet::new();
    let acked: Vec<&Write> = writes
        .iter()
        .filter(|w| w.acked && w.id.is_some())
        .collect();
    let unanswered: Vec<&Write> = writes.iter().filter(|w| !w.acked).collect();
    let db = read_database(postgres, &writes).await?;
    let api = read_api(base_url, fixture, &acked).await;
    // Debug, not info: a log line after the attack must not be the one that finds stderr
    // closed (tracing-subscriber then reports the failure with a panicking `eprintln!`).
    tracing::debug!(
        acked = acked.len(),
        through_api = api.len(),
        "ledger read back from Postgres and the API"
    );
    let mut section = LedgerSection {
        enabled: true,
        acked: acked.len() as u64,
        ..LedgerSection::default()
    };
    for w in &acked {
        let id = w.id.as_deref().unwrap_or_default();
        let in_db = db.rows.contains(id);
        // Only writes the API read-back covered can be missing from it.
        let in_api = api.get(id).copied().unwrap_or(true);
        if in_db && in_api {
            section.verified += 1;
        } else {
            section.lost += 1;
            lost_ids.insert(id.to_owned());
            if section.examples.len() < MAX_EXAMPLES {
                let missing = if in_db { "the API" } else { "Postgres" };
                section.examples.push(format!(
                    "lost: {} id {id} (key {}) missing from {missing}",
                    w.endpoint.name(),
                    w.idempotency_key
                ));
            }
        }
        if let Some(stored) = db.keys.get(&w.idempotency_key).and_then(Option::as_deref)
            && stored != id
        {
            section.duplicated += 1;
            if section.examples.len() < MAX_EXAMPLES {
                section.examples.push(format!(
                    "duplicated: key {} acknowledged as {id} but stored as {stored}",
                    w.idempotency_key
                ));
            }
        }
    }
    section.unacknowledged_but_present = unanswered
        .iter()
        .filter(|w| db.keys.contains_key(&w.idempotency_key))
        .count() as u64;
    Ok(ReadBack { section, lost_ids })
}

/// What Postgres holds for the ledgered writes.
struct Stored {
    /// Ids of ledgered rows that exist.
    rows: BTreeSet<String>,
    /// Idempotency keys that committed, with the id their stored response names.
    keys: BTreeMap<String, Option<String>>,
}

async fn read_database(url: &url::Url, writes: &[Write]) -> anyhow::Result<Stored> {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        sqlx::PgConnection::connect(url.as_str()),
    )
    .await
    .context("connecting to Postgres for the ledger: timed out")?
    .context("connecting to Postgres for the ledger")?;
    let ids_of = |endpoint: Endpoint| -> Vec<String> {
        writes
            .iter()
            .filter(|w| w.endpoint == endpoint)
            .filter_map(|w| w.id.clone())
            .collect()
    };
    let mut rows = BTreeSet::new();
    for (query, endpoint) in [
        (
            "SELECT id::text FROM attendance WHERE id::text = ANY($1)",
            Endpoint::ClockIn,
        ),
        (
            "SELECT id::text FROM leave_requests WHERE id::text = ANY($1)",
            Endpoint::RequestLeave,
        ),
    ] {
        let found: Vec<(String,)> = sqlx::query_as(query)
            .bind(ids_of(endpoint))
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("reading {} rows back", endpoint.name()))?;
        rows.extend(found.into_iter().map(|(id,)| id));
    }
    let keys: Vec<String> = writes.iter().map(|w| w.idempotency_key.clone()).collect();
    let found: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT key, response_body->>'id' FROM idempotency_keys WHERE key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut conn)
    .await
    .context("reading idempotency keys back")?;
    let _ = conn.close().await;
    Ok(Stored {
        rows,
        keys: found.into_iter().collect(),
    })
}

/// Attendance ids as each tenant's HR admin reads them: id → found. Employees the read-back
/// could not cover (budget spent, 429s, errors) are left out rather than counted as lost.
async fn read_api(base_url: &str, fixture: &Fixture, acked: &[&Write]) -> BTreeMap<String, bool> {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(_) => return BTreeMap::new(),
    };
    let started = Instant::now();
    let mut by_tenant: BTreeMap<usize, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for w in acked.iter().filter(|w| w.endpoint == Endpoint::ClockIn) {
        if let (Some(t), Some(e), Some(id)) = (w.tenant, &w.employee_id, &w.id) {
            by_tenant
                .entry(t)
                .or_default()
                .entry(e.clone())
                .or_default()
                .push(id.clone());
        }
    }
    let mut out = BTreeMap::new();
    for (tenant, employees) in by_tenant {
        let Some(token) = login_hr_admin(&client, base_url, fixture, tenant).await else {
            continue;
        };
        for (employee, ids) in employees {
            if started.elapsed() > API_BUDGET {
                return out;
            }
            let url = format!("{base_url}/employees/{employee}/attendance");
            let Some(seen) = get_ids(&client, &url, &token).await else {
                continue;
            };
            for id in ids {
                let found = seen.contains(&id);
                out.insert(id, found);
            }
        }
    }
    out
}

pub(crate) async fn login_hr_admin(
    client: &reqwest::Client,
    base_url: &str,
    fixture: &Fixture,
    tenant: usize,
) -> Option<String> {
    let admin = fixture
        .tenants
        .get(tenant)?
        .users
        .iter()
        .find(|u| u.role == Role::HrAdmin)?;
    let body = serde_json::json!({"email": admin.email, "password": admin.password});
    for _ in 0..3 {
        let r = client
            .post(format!("{base_url}/auth/login"))
            .json(&body)
            .send()
            .await
            .ok()?;
        if r.status().as_u16() == 429 {
            tokio::time::sleep(retry_after(&r)).await;
            continue;
        }
        let json: serde_json::Value = r.json().await.ok()?;
        return json.get("access_token")?.as_str().map(str::to_owned);
    }
    None
}

/// The ids of one employee's shifts; `None` when the API would not say (after three tries).
async fn get_ids(client: &reqwest::Client, url: &str, token: &str) -> Option<BTreeSet<String>> {
    for _ in 0..3 {
        let r = client.get(url).bearer_auth(token).send().await.ok()?;
        if r.status().as_u16() == 429 {
            tokio::time::sleep(retry_after(&r)).await;
            continue;
        }
        if !r.status().is_success() {
            return None;
        }
        let shifts: Vec<serde_json::Value> = r.json().await.ok()?;
        return Some(
            shifts
                .iter()
                .filter_map(|s| s.get("id")?.as_str().map(str::to_owned))
                .collect(),
        );
    }
    None
}

/// The server's `Retry-After`, capped at one second so the read-back stays short.
fn retry_after(r: &reqwest::Response) -> Duration {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map_or(Duration::from_millis(200), Duration::from_secs)
        .min(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_are_added_once() {
        let mut t = Vec::new();
        add_default_thresholds(&mut t);
        assert_eq!(t.len(), 2);
        add_default_thresholds(&mut t);
        assert_eq!(t.len(), 2);
    }
}
