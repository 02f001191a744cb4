//! The contract chaos relies on, for each backend that runs servers: pause freezes and unpause
//! thaws, kill then start keeps the URL and the data, and dropping the stack leaves nothing.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use gauntlet_testcontainers::{Backend, BackendChoice, ProvisionConfig, Stack};

use crate::support::{
    pg_exec, pg_query, poll_until, port_closed, process_mentioning, redis_cmd, require_docker,
};

const QUICK: Duration = Duration::from_secs(1);
const RECOVERY: Duration = Duration::from_secs(30);

fn config(backend: BackendChoice) -> ProvisionConfig {
    ProvisionConfig::from_env()
        .expect("GAUNTLET_* variables parse")
        .with_backend(backend)
}

/// The whole lifecycle on one stack; the caller checks clean-up the way its backend needs.
async fn exercise_lifecycle(stack: &Stack) -> anyhow::Result<()> {
    let pg = stack.postgres.url().clone();
    let rd = stack.redis.url().clone();

    // Both answer.
    assert_eq!(
        pg_query(&pg, "SELECT 'ok'::text", RECOVERY)
            .await?
            .as_deref(),
        Some("ok")
    );
    assert_eq!(
        redis_cmd(&rd, &["PING"], RECOVERY).await?.as_deref(),
        Some("PONG")
    );

    // Data written before a crash...
    pg_exec(
        &pg,
        "CREATE TABLE survivors (name text); INSERT INTO survivors VALUES ('before-kill')",
        RECOVERY,
    )
    .await?;
    let written = pg_query(&pg, "SELECT name FROM survivors", RECOVERY).await?;
    assert_eq!(written.as_deref(), Some("before-kill"));

    // Pause: a new query cannot complete; unpause: it can again.
    stack.postgres.pause().await?;
    let frozen = pg_query(&pg, "SELECT 'thawed'::text", QUICK).await;
    ensure!(
        frozen.is_err(),
        "a query completed against a paused Postgres: {frozen:?}"
    );
    stack.postgres.unpause().await?;
    let thawed = poll_until(RECOVERY, "postgres thawed", || {
        pg_query(&pg, "SELECT 'thawed'::text", QUICK)
    })
    .await?;
    assert_eq!(thawed.as_deref(), Some("thawed"));

    stack.redis.pause().await?;
    ensure!(
        redis_cmd(&rd, &["PING"], QUICK).await.is_err(),
        "PING answered by a paused Redis"
    );
    stack.redis.unpause().await?;
    poll_until(RECOVERY, "redis thawed", || {
        redis_cmd(&rd, &["PING"], QUICK)
    })
    .await?;

    // Kill: the server is gone; start: same URL, data still there.
    stack.postgres.kill().await?;
    let dead = pg_query(&pg, "SELECT 1::text", QUICK).await;
    ensure!(dead.is_err(), "a killed Postgres answered: {dead:?}");
    stack.postgres.start().await?;
    assert_eq!(
        stack.postgres.url(),
        &pg,
        "the URL changed across kill/start"
    );
    let survived = pg_query(&pg, "SELECT name FROM survivors", RECOVERY).await?;
    assert_eq!(
        survived.as_deref(),
        Some("before-kill"),
        "data lost across kill/start"
    );

    stack.redis.kill().await?;
    ensure!(
        redis_cmd(&rd, &["PING"], QUICK).await.is_err(),
        "a killed Redis answered"
    );
    stack.redis.start().await?;
    assert_eq!(stack.redis.url(), &rd);
    assert_eq!(
        redis_cmd(&rd, &["PING"], RECOVERY).await?.as_deref(),
        Some("PONG")
    );

    // Restart (clean stop + start) keeps both too.
    stack.postgres.restart().await?;
    let after_restart = pg_query(&pg, "SELECT name FROM survivors", RECOVERY).await?;
    assert_eq!(after_restart.as_deref(), Some("before-kill"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_lifecycle_and_cleanup_on_drop() -> anyhow::Result<()> {
    let stack = Stack::provision(&config(BackendChoice::Native)).await?;
    assert_eq!(stack.backend(), Backend::Native);
    exercise_lifecycle(&stack).await?;

    let pg_dir = stack
        .postgres
        .data_dir()
        .context("native servers have a dir")?
        .to_owned();
    let rd_dir = stack
        .redis
        .data_dir()
        .context("native servers have a dir")?
        .to_owned();
    let (pg_url, rd_url) = (stack.postgres.url().clone(), stack.redis.url().clone());
    // Pause once more so clean-up is proven to work on a frozen server too.
    stack.postgres.pause().await?;
    drop(stack);

    for dir in [&pg_dir, &rd_dir] {
        ensure!(!dir.exists(), "{} left behind", dir.display());
        let needle = dir.display().to_string();
        ensure!(
            process_mentioning(&needle).is_none(),
            "a process still runs from {needle}"
        );
    }
    ensure!(
        port_closed(&pg_url) && port_closed(&rd_url),
        "a port still accepts connections"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_shutdown_removes_native_servers_and_their_files() -> anyhow::Result<()> {
    let stack = Stack::provision(&config(BackendChoice::Native)).await?;
    let pg_dir = stack.postgres.data_dir().context("dir")?.to_owned();
    let pg_url = stack.postgres.url().clone();
    stack.shutdown().await;
    ensure!(!pg_dir.exists(), "{} left behind", pg_dir.display());
    ensure!(port_closed(&pg_url), "postgres still listening");
    Ok(())
}

/// Tests of the docker backend: `cargo xtask test` filters them out by this module's name on a
/// machine where no Docker engine answers, and lists them as skipped.
mod needs_docker {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn docker_lifecycle_and_cleanup_on_drop() -> anyhow::Result<()> {
        require_docker().await?;
        let stack = Stack::provision(&config(BackendChoice::Docker)).await?;
        assert_eq!(stack.backend(), Backend::Docker);
        exercise_lifecycle(&stack).await?;

        let ids: Vec<String> = [&stack.postgres, &stack.redis]
            .iter()
            .map(|s| {
                s.container_id()
                    .map(str::to_owned)
                    .context("docker servers have an id")
            })
            .collect::<anyhow::Result<_>>()?;
        let (pg_url, rd_url) = (stack.postgres.url().clone(), stack.redis.url().clone());
        stack.redis.pause().await?;
        drop(stack);

        let docker = gauntlet_testcontainers::docker::connect(Duration::from_secs(5)).await?;
        for id in &ids {
            let gone = matches!(
                docker.inspect_container(id, None).await,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                })
            );
            ensure!(gone, "container {id} still exists after drop");
        }
        ensure!(
            port_closed(&pg_url) && port_closed(&rd_url),
            "a port still accepts connections"
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn docker_missing_image_fails_fast_and_names_the_fix() -> anyhow::Result<()> {
        require_docker().await?;
        let mut config = config(BackendChoice::Docker);
        config.postgres_image = Some("gauntlet-no-such-image:absent".to_owned());
        let started = Instant::now();
        let err = Stack::provision(&config)
            .await
            .expect_err("an absent image cannot provision");
        let elapsed = started.elapsed();
        let text = err.to_string();
        ensure!(
            text.contains("gauntlet image build"),
            "message does not name the fix: {text}"
        );
        ensure!(
            text.contains("gauntlet-no-such-image:absent"),
            "message does not name the image: {text}"
        );
        ensure!(
            elapsed < Duration::from_secs(5),
            "took {elapsed:?} to notice a missing image"
        );
        Ok(())
    }
}
