//! What the chaos executor acts on ([`Handles`]) and how one fault goes in or out ([`apply`]):
//! toxics and `down` on the fault proxies, lifecycle faults through the stack's server
//! controls or, for the service, on its child process.

use gauntlet_chaos::{Fault, FaultProxy, LifecycleAction, Target};
use gauntlet_testcontainers::{Server, Stack};

use super::chaos::Planned;
use super::local::Proxies;
use super::service_process::ServiceProcess;

/// What the executor can act on: the local service's proxies and servers.
#[derive(Clone, Copy, Default)]
pub struct Handles<'a> {
    /// The fault proxies.
    pub proxies: Option<&'a Proxies>,
    /// The provisioned servers.
    pub stack: Option<&'a Stack>,
    /// The service's child process (`--service-process`).
    pub service: Option<&'a ServiceProcess>,
}

impl<'a> Handles<'a> {
    fn proxy(&self, target: Target) -> Option<&'a FaultProxy> {
        let p = self.proxies?;
        match target {
            Target::Postgres => Some(&p.postgres),
            Target::Redis => Some(&p.redis),
            Target::Service => None,
        }
    }

    fn server(&self, target: Target) -> Option<&'a Server> {
        let s = self.stack?;
        match target {
            Target::Postgres => Some(&s.postgres),
            Target::Redis => Some(&s.redis),
            Target::Service => None,
        }
    }
}

/// Which way [`apply`] moves a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Put it in.
    Inject,
    /// Take it out.
    Remove,
}

/// What an injected fault keeps running until it is removed: a job flood's producer, stopped
/// when this is dropped.
pub(super) type Lingering = super::job_flood::RunningFlood;

/// Injects or removes one fault; an injection may leave something running ([`Lingering`]),
/// which the caller drops to end the fault.
pub(super) async fn apply(
    f: &Planned,
    handles: Handles<'_>,
    step: Step,
) -> anyhow::Result<Option<Lingering>> {
    let on = step == Step::Inject;
    let target = f.entry.target;
    let missing = || anyhow::anyhow!("no {target} to act on in this run");
    match &f.entry.fault {
        Fault::Toxic(t) => {
            let proxy = handles.proxy(target).ok_or_else(missing)?;
            if on {
                proxy.add_toxic(&f.name, t.clone())?;
            } else {
                proxy.remove_toxic(&f.name)?;
            }
        }
        Fault::Down => {
            handles
                .proxy(target)
                .ok_or_else(missing)?
                .set_down(on)
                .await?
        }
        Fault::Lifecycle(action) if target == Target::Service => {
            let service = handles.service.ok_or_else(missing)?;
            match (action, step) {
                (LifecycleAction::Kill, Step::Inject) => service.kill().await?,
                (LifecycleAction::Stop, Step::Inject) => service.stop().await?,
                (LifecycleAction::Kill | LifecycleAction::Stop, Step::Remove) => {
                    service.spawn_and_wait().await?;
                }
                (LifecycleAction::Pause, Step::Inject) => service.pause().await?,
                (LifecycleAction::Pause, Step::Remove) => service.unpause().await?,
                (LifecycleAction::Restart, Step::Inject) => service.restart().await?,
                (LifecycleAction::Restart, Step::Remove) => {}
            }
        }
        Fault::JobFlood(flood) => {
            if on {
                let redis = handles.server(Target::Redis).ok_or_else(missing)?;
                let postgres = handles.server(Target::Postgres).ok_or_else(missing)?;
                let running = super::job_flood::start(*flood, redis.url(), postgres.url()).await?;
                return Ok(Some(running));
            }
        }
        Fault::DiskFill(fill) => {
            let server = handles.server(target).ok_or_else(missing)?;
            if on {
                let filled = server.fill_data_disk(fill.percent).await?;
                tracing::info!(
                    size_mb = filled.size >> 20,
                    written_mb = filled.written >> 20,
                    percent = format!("{:.1}", filled.percent_after()),
                    "filled Postgres's data filesystem"
                );
            } else {
                server.free_data_disk().await?;
            }
        }
        Fault::Lifecycle(action) => {
            let server = handles.server(target).ok_or_else(missing)?;
            match (action, step) {
                (LifecycleAction::Kill, Step::Inject) => server.kill().await?,
                (LifecycleAction::Stop, Step::Inject) => server.stop().await?,
                (LifecycleAction::Kill | LifecycleAction::Stop, Step::Remove) => {
                    server.start().await?
                }
                (LifecycleAction::Pause, Step::Inject) => server.pause().await?,
                (LifecycleAction::Pause, Step::Remove) => server.unpause().await?,
                (LifecycleAction::Restart, Step::Inject) => server.restart().await?,
                (LifecycleAction::Restart, Step::Remove) => {}
            }
        }
    }
    Ok(None)
}
