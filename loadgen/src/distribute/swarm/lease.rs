//! This engine's use of a swarm: the one the node is a manager of, or one it makes for the
//! run and takes down afterwards, so the machine is left as it was found.

use anyhow::{Context, anyhow, bail};
use bollard::Docker;
use bollard::models::{LocalNodeState, SwarmInitRequest};
use bollard::query_parameters::{LeaveSwarmOptions, ListNetworksOptions, ListServicesOptions};

/// The bridge Docker creates for a swarm's containers on their first start, and keeps after
/// the node leaves: ours to remove when our swarm made it.
const GATEWAY_BRIDGE: &str = "docker_gwbridge";

/// A swarm this process may create services in.
#[derive(Debug)]
pub struct SwarmLease {
    /// We initialised it: leave it (and remove its gateway bridge if it was not there) at the
    /// end.
    made_here: bool,
    gateway_bridge_existed: bool,
}

impl SwarmLease {
    /// The node's swarm when it is a manager; a new single-node swarm advertised on loopback
    /// when the node is in none. A node that is only a worker cannot create services: that
    /// is refused, naming what to do.
    pub async fn acquire(docker: &Docker) -> anyhow::Result<SwarmLease> {
        let info = docker.info().await.context("asking Docker for its state")?;
        let swarm = info.swarm.unwrap_or_default();
        let gateway_bridge_existed = network_exists(docker, GATEWAY_BRIDGE).await?;
        match swarm.local_node_state {
            Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => {
                Ok(SwarmLease {
                    made_here: false,
                    gateway_bridge_existed,
                })
            }
            Some(LocalNodeState::ACTIVE) => bail!(
                "this Docker node is a swarm worker; run `gauntlet distribute --engine swarm` \
                 on a manager (docker node ls shows them)"
            ),
            Some(LocalNodeState::INACTIVE) | Some(LocalNodeState::EMPTY) | None => {
                // Loopback: a single-node swarm needs no address others can reach, and the
                // machine's own interfaces stay out of it.
                let request = SwarmInitRequest {
                    listen_addr: Some("127.0.0.1:2377".to_owned()),
                    advertise_addr: Some("127.0.0.1".to_owned()),
                    ..SwarmInitRequest::default()
                };
                if let Err(e) = docker.init_swarm(request).await {
                    // Another run may have made one in the meantime: use it, as its guest.
                    let now = docker.info().await.context("asking Docker for its state")?;
                    let swarm = now.swarm.unwrap_or_default();
                    if swarm.local_node_state == Some(LocalNodeState::ACTIVE)
                        && swarm.control_available == Some(true)
                    {
                        return Ok(SwarmLease {
                            made_here: false,
                            gateway_bridge_existed,
                        });
                    }
                    return Err(e).context("creating a single-node swarm (docker swarm init)");
                }
                tracing::info!("created a single-node swarm for the run");
                Ok(SwarmLease {
                    made_here: true,
                    gateway_bridge_existed,
                })
            }
            Some(other) => Err(anyhow!(
                "this Docker node's swarm is {other}: {}",
                swarm.error.unwrap_or_default()
            )),
        }
    }

    /// Whether this run created the swarm.
    pub fn made_here(&self) -> bool {
        self.made_here
    }

    /// Leaves a swarm this run made, and removes the gateway bridge it left behind; a swarm
    /// that was there before is left alone.
    pub async fn release(self, docker: &Docker) -> anyhow::Result<()> {
        if !self.made_here {
            return Ok(());
        }
        // Another run may have joined our swarm as a guest: leaving would remove its service
        // under it. The swarm then stays, and the log says so.
        let services = docker
            .list_services(None::<ListServicesOptions>)
            .await
            .context("listing the swarm's services")?;
        if !services.is_empty() {
            tracing::warn!(
                services = services.len(),
                "the swarm this run made still has services; leaving it in place"
            );
            return Ok(());
        }
        docker
            .leave_swarm(Some(LeaveSwarmOptions { force: true }))
            .await
            .context("leaving the swarm this run made (docker swarm leave --force)")?;
        if !self.gateway_bridge_existed && network_exists(docker, GATEWAY_BRIDGE).await? {
            docker
                .remove_network(GATEWAY_BRIDGE)
                .await
                .with_context(|| format!("removing {GATEWAY_BRIDGE}, made by the swarm"))?;
        }
        Ok(())
    }
}

async fn network_exists(docker: &Docker, name: &str) -> anyhow::Result<bool> {
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .context("listing Docker networks")?;
    Ok(networks.iter().any(|n| n.name.as_deref() == Some(name)))
}
