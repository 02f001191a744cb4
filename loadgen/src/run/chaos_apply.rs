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

/// Injects (`on`) or removes one fault.
pub(super) async fn apply(f: &Planned, handles: Handles<'_>, on: bool) -> anyhow::Result<()> {
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
            match (action, on) {
                (LifecycleAction::Kill, true) => service.kill().await?,
                (LifecycleAction::Stop, true) => service.stop().await?,
                (LifecycleAction::Kill | LifecycleAction::Stop, false) => {
                    service.spawn_and_wait().await?;
                }
                (LifecycleAction::Pause, true) => service.pause().await?,
                (LifecycleAction::Pause, false) => service.unpause().await?,
                (LifecycleAction::Restart, true) => service.restart().await?,
                (LifecycleAction::Restart, false) => {}
            }
        }
        Fault::Lifecycle(action) => {
            let server = handles.server(target).ok_or_else(missing)?;
            match (action, on) {
                (LifecycleAction::Kill, true) => server.kill().await?,
                (LifecycleAction::Stop, true) => server.stop().await?,
                (LifecycleAction::Kill | LifecycleAction::Stop, false) => server.start().await?,
                (LifecycleAction::Pause, true) => server.pause().await?,
                (LifecycleAction::Pause, false) => server.unpause().await?,
                (LifecycleAction::Restart, true) => server.restart().await?,
                (LifecycleAction::Restart, false) => {}
            }
        }
    }
    Ok(())
}
