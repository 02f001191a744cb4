//! `gauntlet distribute --engine swarm`: one smoke run as a Docker Swarm replicated job of
//! three tasks of the harness image (built from this build's `gauntlet`), on host networking
//! against a service this test started on 127.0.0.1, merged exactly; a task killed failing
//! the whole run; and the machine's swarm state as it was before, either way.

/// Tests that need the Docker engine: `cargo xtask test` filters them out by this module's
/// name on a machine where none answers, and lists them as skipped.
mod needs_docker {
    use std::time::Duration;

    use bollard::Docker;
    use bollard::models::LocalNodeState;
    use bollard::query_parameters::{
        KillContainerOptions, ListContainersOptionsBuilder, ListNetworksOptions,
        ListServicesOptions,
    };

    use crate::distribute::{
        assert_lost_a_part, distribute, distributed_smoke_is_one_whole_run, service,
    };

    /// The harness image build (when this build's binary has none yet) and the run.
    const SWARM_RUN_DEADLINE: Duration = Duration::from_secs(300);

    /// A node is in one swarm at most: the tests here take turns, so one does not find the
    /// other's swarm and take it for the machine's.
    static ONE_SWARM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// What a swarm run must leave as it found it: whether the node is in a swarm, whether the
    /// swarm's gateway bridge exists, and (when in a swarm) its services.
    #[derive(Debug, PartialEq, Eq)]
    struct SwarmState {
        node: Option<LocalNodeState>,
        gateway_bridge: bool,
        services: usize,
    }

    async fn swarm_state(docker: &Docker) -> SwarmState {
        let info = docker.info().await.expect("docker info");
        let node = info.swarm.and_then(|s| s.local_node_state);
        let networks = docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .expect("networks");
        let services = if node == Some(LocalNodeState::ACTIVE) {
            docker
                .list_services(None::<ListServicesOptions>)
                .await
                .expect("services")
                .len()
        } else {
            0
        };
        SwarmState {
            node,
            gateway_bridge: networks
                .iter()
                .any(|n| n.name.as_deref() == Some("docker_gwbridge")),
            services,
        }
    }

    async fn docker() -> Docker {
        gauntlet_testcontainers::docker::connect(Duration::from_secs(5))
            .await
            .expect(
                "this test needs a Docker engine and none answers; `cargo xtask test` skips \
                 the needs_docker tests by itself where none does",
            )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_swarm_tasks_make_one_whole_run_and_the_swarm_is_left_as_found() {
        let _turn = ONE_SWARM_AT_A_TIME.lock().await;
        let docker = docker().await;
        let before = swarm_state(&docker).await;
        let dir = distributed_smoke_is_one_whole_run("swarm", SWARM_RUN_DEADLINE).await;
        let out = dir.path().join("run");
        // Every part ran in a task, which saved its output where the local engine's go.
        for i in 0..3 {
            let log = std::fs::read_to_string(out.join(format!("part-{i}/worker.log")))
                .expect("a part's log");
            assert!(!log.contains("already attempted"), "part {i}: {log}");
        }
        assert_eq!(swarm_state(&docker).await, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_swarm_task_fails_the_whole_run_and_is_not_run_twice() {
        let _turn = ONE_SWARM_AT_A_TIME.lock().await;
        let docker = docker().await;
        let before = swarm_state(&docker).await;
        let dir = crate::support::out_dir("swarm-killed");
        let (service, creds) = service(dir.path()).await;
        let out = dir.path().join("run");
        let child = distribute("swarm", &service.base_url, &creds, &out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gauntlet starts");
        let name = format!("gauntlet-{}", child.id().expect("running"));
        let filters = std::collections::HashMap::from([(
            "label",
            vec![format!("com.docker.swarm.service.name={name}")],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .filters(&filters)
            .build();
        // The image may have to be built first: up to a few minutes before the tasks run.
        // The kill comes once every part has marked itself attempted (it has begun, as a
        // part killed mid-run has); one killed before that is a run that fails too, but its
        // replacement may run the part (stopped at once) and write a third, aborted report.
        let began = |i: u32| out.join(format!("part-{i}/attempt")).exists();
        let three_running = async {
            loop {
                let running = docker
                    .list_containers(Some(options.clone()))
                    .await
                    .expect("containers");
                if running.len() == 3 && (0..3).all(began) {
                    break running;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        let containers = tokio::time::timeout(SWARM_RUN_DEADLINE, three_running)
            .await
            .expect("three tasks running in time");
        let victim = containers[0].id.clone().expect("a container id");
        docker
            .kill_container(&victim, None::<KillContainerOptions>)
            .await
            .expect("kill a part's container");
        let stderr = assert_lost_a_part(child, SWARM_RUN_DEADLINE, service, &out).await;
        // The two others were stopped and wrote their (aborted) reports. Swarm replaces a
        // killed job task; had the replacement run the part again, it would have written a
        // third.
        let reports = (0..3)
            .filter(|i| out.join(format!("part-{i}/report.json")).exists())
            .count();
        assert_eq!(reports, 2, "{stderr}");
        assert_eq!(swarm_state(&docker).await, before);
    }
}
