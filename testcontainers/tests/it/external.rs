//! External servers belong to someone else: we connect, we never control.

use anyhow::ensure;
use gauntlet_testcontainers::{
    Backend, BackendChoice, ControlError, ProvisionConfig, ProvisionError, Stack,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_controls_say_not_supported() -> anyhow::Result<()> {
    // Someone else's servers: here, a native stack we started ourselves.
    let owner =
        Stack::provision(&ProvisionConfig::default().with_backend(BackendChoice::Native)).await?;
    let mut config = ProvisionConfig::default().with_backend(BackendChoice::External);
    config.external_postgres = Some(owner.postgres.url().clone());
    config.external_redis = Some(owner.redis.url().clone());
    let external = Stack::provision(&config).await?;
    assert_eq!(external.backend(), Backend::External);

    for server in [&external.postgres, &external.redis] {
        let results = [
            ("stop", server.stop().await),
            ("start", server.start().await),
            ("kill", server.kill().await),
            ("pause", server.pause().await),
            ("unpause", server.unpause().await),
            ("restart", server.restart().await),
        ];
        for (action, result) in results {
            match result {
                Err(ControlError::NotSupported {
                    action: a,
                    backend: Backend::External,
                }) => {
                    assert_eq!(a, action);
                }
                other => anyhow::bail!("{action} on an external server gave {other:?}"),
            }
        }
    }
    // The refusals did nothing to the real servers.
    let pong = crate::support::redis_cmd(
        owner.redis.url(),
        &["PING"],
        std::time::Duration::from_secs(5),
    )
    .await?;
    ensure!(pong.as_deref() == Some("PONG"));
    Ok(())
}

#[tokio::test]
async fn external_without_urls_names_the_missing_variable() {
    let config = ProvisionConfig::default().with_backend(BackendChoice::External);
    match Stack::provision(&config).await {
        Err(ProvisionError::MissingUrl(name)) => assert_eq!(name, "DATABASE_URL"),
        other => panic!("expected MissingUrl, got {other:?}"),
    }
}
