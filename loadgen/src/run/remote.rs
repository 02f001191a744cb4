//! `--target`: an existing deployment, with the tenants and credentials from a JSON file.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use gauntlet_scenarios::hrms::Fixture;

use crate::exit::Failure;

/// An unreachable target must fail fast: CI should not wait minutes to learn a URL is wrong.
pub const REACH_DEADLINE: Duration = Duration::from_secs(4);

/// Reads and checks the credentials file (bad input: exit 2).
pub fn load_fixture(path: &Path) -> Result<Fixture, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading credentials file {}", path.display()))
        .map_err(Failure::bad_input)?;
    Fixture::from_json(&text)
        .with_context(|| format!("credentials file {}", path.display()))
        .map_err(Failure::bad_input)
}

/// The base URL without a trailing slash, after checking the target answers HTTP at all
/// (any status counts: readiness is the deployment's business, reachability is ours).
pub async fn reach(url: &url::Url) -> Result<String, Failure> {
    let base = url.as_str().trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .connect_timeout(REACH_DEADLINE)
        .timeout(REACH_DEADLINE)
        .build()
        .context("building the HTTP client")
        .map_err(Failure::infrastructure)?;
    let probe = format!("{base}/health/live");
    let answer = tokio::time::timeout(REACH_DEADLINE, client.get(&probe).send()).await;
    match answer {
        Ok(Ok(_)) => Ok(base),
        Ok(Err(e)) => Err(Failure::infrastructure(
            anyhow::Error::new(e).context(format!("target {base} is not reachable")),
        )),
        Err(_) => Err(Failure::infrastructure(anyhow::anyhow!(
            "target {base} did not answer within {REACH_DEADLINE:?}"
        ))),
    }
}
