//! The local `gauntlet-deps` image: content-derived tag, idempotent build, and both roles
//! serving real clients through a published loopback port.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use gauntlet_testcontainers::local_image::{
    self, ENTRYPOINT_SCRIPT, LOCAL_IMAGE_REPOSITORY, TagInputs, content_tag, local_image_reference,
    mirror_lines_from_sources,
};
use sqlx::Connection;

use crate::support::poll_until;

/// Generous: a loaded 2-core machine can take seconds to create and start a container.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How many starts per role the start-to-ready median is taken over.
const STARTS_PER_ROLE: usize = 5;

#[test]
fn tag_is_deterministic_and_derived_from_every_input() {
    let current = TagInputs::current();
    let tag = content_tag(&current);
    assert_eq!(tag, content_tag(&TagInputs::current()));
    assert_eq!(local_image_reference(), local_image_reference());
    assert_eq!(
        local_image_reference(),
        format!("{LOCAL_IMAGE_REPOSITORY}:{tag}")
    );
    assert_eq!(tag.len(), 12);
    assert!(
        tag.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    let edited_script = format!("{ENTRYPOINT_SCRIPT}\n# edited\n");
    let variants = [
        TagInputs {
            entrypoint: &edited_script,
            ..current
        },
        TagInputs {
            packages: &["postgresql-15"],
            ..current
        },
        TagInputs {
            packages: &["redis-server", "postgresql-15"],
            ..current
        },
        TagInputs {
            suite: "trixie",
            ..current
        },
        TagInputs {
            recipe_version: current.recipe_version + 1,
            ..current
        },
    ];
    for variant in variants {
        assert_ne!(
            content_tag(&variant),
            tag,
            "tag ignores a change in {variant:?}"
        );
    }
    // Length prefixes: moving a byte between package names must change the tag.
    let split_a = TagInputs {
        packages: &["ab", "c"],
        ..current
    };
    let split_b = TagInputs {
        packages: &["a", "bc"],
        ..current
    };
    assert_ne!(content_tag(&split_a), content_tag(&split_b));
}

#[test]
fn mirrors_come_from_host_sources_in_both_formats() {
    let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
                  Components: main\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n\
                  Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n\
                  Types: deb\nURIs: http://sec.example/debian-security/\nSuites: bookworm-security\n";
    assert_eq!(
        mirror_lines_from_sources(deb822, "bookworm"),
        [
            "deb http://mirror.example/debian bookworm main",
            "deb http://mirror.example/debian bookworm-updates main",
            "deb http://sec.example/debian-security bookworm-security main",
        ]
    );
    let one_line = "# comment\ndeb [signed-by=/k.gpg arch=amd64] http://m.example/debian bookworm main contrib\n\
                    deb-src http://m.example/debian bookworm main\ndeb http://m.example/debian trixie main\n";
    assert_eq!(
        mirror_lines_from_sources(one_line, "bookworm"),
        ["deb http://m.example/debian bookworm main"]
    );
    assert!(mirror_lines_from_sources("", "bookworm").is_empty());
}

/// Median over [`STARTS_PER_ROLE`] fresh containers of: container start → first successful probe.
async fn starts_to_ready<F, Fut>(
    docker: &Docker,
    image: &str,
    role: &str,
    env: &[&str],
    probe: F,
) -> anyhow::Result<Duration>
where
    F: Fn(u16) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut samples = Vec::with_capacity(STARTS_PER_ROLE);
    for _ in 0..STARTS_PER_ROLE {
        let port = free_port()?;
        let started = Instant::now();
        let id = start(docker, image, role, env, port).await?;
        let ready = wait_ready(|| probe(port)).await;
        let elapsed = started.elapsed();
        remove(docker, &id).await;
        ready.with_context(|| format!("{role} never became ready on 127.0.0.1:{port}"))?;
        samples.push(elapsed);
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}

/// A port the kernel just handed out on loopback, to pin the published port to.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn start(
    docker: &Docker,
    image: &str,
    role: &str,
    env: &[&str],
    host_port: u16,
) -> anyhow::Result<String> {
    let container_port = if role == "redis" {
        "6379/tcp"
    } else {
        "5432/tcp"
    };
    let binding = PortBinding {
        host_ip: Some("127.0.0.1".to_owned()),
        host_port: Some(host_port.to_string()),
    };
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(vec![role.to_owned()]),
        env: Some(env.iter().map(|e| (*e).to_owned()).collect()),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                container_port.to_owned(),
                Some(vec![binding]),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker.create_container(None, body).await?.id;
    if let Err(e) = docker.start_container(&id, None).await {
        remove(docker, &id).await;
        return Err(e.into());
    }
    Ok(id)
}

async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(id, Some(options)).await {
        eprintln!("[image] could not remove container {id}: {e}");
    }
}

/// Awaits `probe` until it succeeds, each try bounded by 5 s, within [`READY_DEADLINE`].
async fn wait_ready<F, Fut>(probe: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    poll_until(READY_DEADLINE, "ready", || async {
        tokio::time::timeout(Duration::from_secs(5), probe())
            .await
            .context("probe timed out")?
    })
    .await
}

async fn postgres_ready(port: u16, password: &str) -> anyhow::Result<()> {
    let options = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .password(password)
        .database("postgres");
    let mut conn = sqlx::PgConnection::connect_with(&options).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
    ensure!(one == 1, "SELECT 1 returned {one}");
    conn.close().await?;
    Ok(())
}

async fn redis_ready(port: u16) -> anyhow::Result<()> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
    ensure!(pong == "PONG", "PING answered {pong}");
    Ok(())
}

/// Run the image with `role` and return its exit code (the container is removed afterwards).
async fn run_to_exit(docker: &Docker, image: &str, role: &str) -> anyhow::Result<i64> {
    let id = start(docker, image, role, &[], free_port()?).await?;
    let outcome = poll_until(READY_DEADLINE, &format!("role {role} exited"), || async {
        let state = docker
            .inspect_container(&id, None)
            .await?
            .state
            .context("no container state")?;
        match state.running {
            Some(false) => state.exit_code.context("no exit code"),
            _ => bail!("still running"),
        }
    })
    .await;
    remove(docker, &id).await;
    outcome
}

/// Tests that build and run the image: `cargo xtask test` filters them out by this module's
/// name on a machine where no Docker engine answers, and lists them as skipped.
mod needs_docker {
    use super::*;
    use crate::support::require_docker;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn image_builds_once_and_serves_postgres_and_redis() -> anyhow::Result<()> {
        require_docker().await?;
        let docker = Docker::connect_with_local_defaults()?
            .negotiate_version()
            .await?;
        let first =
            local_image::build_local_image(&docker, |line| eprintln!("[image] {line}")).await?;
        eprintln!(
            "[image] {}: already_present={} elapsed={:?} size={} MB",
            first.reference,
            first.already_present,
            first.elapsed,
            first.size_bytes / 1_000_000
        );
        assert_eq!(first.reference, local_image_reference());
        assert!(local_image::local_image_present(&docker).await?);

        let second = local_image::build_local_image(&docker, |_| {}).await?;
        assert!(second.already_present, "a present tag must not be rebuilt");
        assert!(
            second.elapsed < Duration::from_secs(10),
            "idempotent call took {:?}",
            second.elapsed
        );
        assert_eq!(second.size_bytes, first.size_bytes);

        let image = docker.inspect_image(&first.reference).await?;
        let config = image.config.context("image has no config")?;
        assert_eq!(config.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(
            config.entrypoint,
            Some(vec!["/usr/local/bin/gauntlet-entrypoint".to_owned()])
        );

        let pg = starts_to_ready(
            &docker,
            &first.reference,
            "postgres",
            &["POSTGRES_PASSWORD=postgres"],
            |port| postgres_ready(port, "postgres"),
        )
        .await?;
        let redis = starts_to_ready(&docker, &first.reference, "redis", &[], redis_ready).await?;
        eprintln!(
            "[image] start-to-ready median of {STARTS_PER_ROLE}: postgres {pg:?}, redis {redis:?}"
        );

        // Another password is applied before the server accepts connections; the baked one stops working.
        let env = ["POSTGRES_PASSWORD=s3cr'et"];
        let port = free_port()?;
        let id = start(&docker, &first.reference, "postgres", &env, port).await?;
        let outcome = async {
            wait_ready(|| postgres_ready(port, "s3cr'et")).await?;
            ensure!(
                postgres_ready(port, "postgres").await.is_err(),
                "baked password still accepted"
            );
            Ok(())
        }
        .await;
        remove(&docker, &id).await;
        outcome?;

        let exit = run_to_exit(&docker, &first.reference, "bogus").await?;
        assert_eq!(exit, 64, "unknown role must exit with EX_USAGE");
        Ok(())
    }
}
