//! The service's settings for a local run, and the same settings as a child's environment.

use std::time::Duration;

use anyhow::Context;
use gauntlet_testcontainers::Stack;
use hrms::config::{Argon2Settings, InjectedLatency, Settings};
use hrms::defects::Defects;

use super::proxies::{Proxies, through};

/// Load-test settings: cheap password hashing (the run measures the API, not argon2) and
/// everything else as in production, rate limits included. Dependencies are reached through
/// the fault proxies when there are any.
pub(super) fn for_run(stack: &Stack, proxies: Option<&Proxies>, defects: Defects) -> Settings {
    let mut s = Settings {
        defects,
        ..Settings::default()
    };
    s.server.bind = ([127, 0, 0, 1], 0).into();
    s.server.shutdown_grace = Duration::from_secs(5);
    s.database.url = stack.postgres.url().clone();
    s.redis.url = stack.redis.url().clone();
    if let Some(p) = proxies {
        s.database.url = through(&s.database.url, &p.postgres);
        s.redis.url = through(&s.redis.url, &p.redis);
    }
    s.auth.argon2 = Argon2Settings::CHEAP;
    s
}

/// Seeded defects are ordinary service configuration: the local service takes
/// `HRMS__DEFECTS__*` from the environment, as the `hrms` binary does.
pub fn defects_from_env() -> anyhow::Result<Defects> {
    Ok(settings_from_env("HRMS__DEFECTS__")?.defects)
}

/// The service's settings from the environment's variables under `prefix` only, read as the
/// `hrms` binary reads them (defaults for everything else).
fn settings_from_env(prefix: &str) -> anyhow::Result<Settings> {
    let vars = std::env::vars().filter(|(k, _)| k.starts_with(prefix));
    Settings::load_from(None, vars).with_context(|| format!("reading {prefix}*"))
}

/// `HRMS__SERVER__INJECTED_LATENCY__MIN`/`__MAX` from the environment, as the `hrms` binary
/// reads them: a known delay on every request, to calibrate the generator against
/// (docs/open-model.md). The only server setting a local run takes from the environment.
pub(super) fn injected_latency_from_env() -> anyhow::Result<Option<InjectedLatency>> {
    Ok(settings_from_env("HRMS__SERVER__INJECTED_LATENCY__")?
        .server
        .injected_latency)
}

/// The child's environment for `settings`, in the service's own variable names; the child
/// inherits no other `HRMS*` variable, so these are all its settings. The JWT secret is
/// chosen here, once per run: a service left to generate its own would reject every token
/// issued before a restart.
pub(super) fn child_env(settings: &Settings) -> Vec<(String, String)> {
    let argon2 = settings.auth.argon2;
    let jwt_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let defects = settings.defects.enabled().into_iter().map(|name| {
        (
            format!("HRMS__DEFECTS__{}", name.to_uppercase()),
            "true".into(),
        )
    });
    [
        ("DATABASE_URL", settings.database.url.to_string()),
        ("REDIS_URL", settings.redis.url.to_string()),
        ("JWT_SECRET", jwt_secret),
        ("HRMS_ARGON2_M_COST", argon2.m_cost.to_string()),
        ("HRMS_ARGON2_T_COST", argon2.t_cost.to_string()),
        ("HRMS_ARGON2_P_COST", argon2.p_cost.to_string()),
        (
            "HRMS__SERVER__SHUTDOWN_GRACE",
            format!("{}ms", settings.server.shutdown_grace.as_millis()),
        ),
        // The harness migrated before seeding; a restart need not take the lock again.
        ("HRMS__DATABASE__MIGRATE", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(defects)
    .chain(settings.server.injected_latency.into_iter().flat_map(|l| {
        [("MIN", l.min), ("MAX", l.max)].map(|(bound, d)| {
            (
                format!("HRMS__SERVER__INJECTED_LATENCY__{bound}"),
                format!("{}us", d.as_micros()),
            )
        })
    }))
    .chain(
        settings
            .auth
            .operator_token
            .as_ref()
            .map(|t| ("OPERATOR_TOKEN".to_owned(), t.expose().to_owned())),
    )
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_gets_the_defects_switched_on_in_names_the_service_reads_back() {
        let mut settings = Settings::default();
        settings.defects.rate_limit_by_ip = true;
        let env = child_env(&settings);
        let defects: Vec<_> = env
            .iter()
            .filter(|(k, _)| k.starts_with("HRMS__DEFECTS__"))
            .cloned()
            .collect();
        assert_eq!(
            defects,
            [(
                "HRMS__DEFECTS__RATE_LIMIT_BY_IP".to_owned(),
                "true".to_owned()
            )]
        );
        let read = Settings::load_from(None, defects).expect("the service parses them");
        assert_eq!(read.defects, settings.defects);
    }
}
