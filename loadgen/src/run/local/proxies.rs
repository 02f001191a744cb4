//! The fault proxies a run with faults puts between the service and its dependencies.

use anyhow::Context;
use gauntlet_chaos::FaultProxy;
use gauntlet_reports::model::Wiring;
use gauntlet_testcontainers::Stack;

/// The fault proxies the service reaches its dependencies through: network faults are
/// applied here whatever the backend, and the service's addresses never change when a
/// dependency restarts.
pub struct Proxies {
    /// In front of Postgres.
    pub postgres: FaultProxy,
    /// In front of Redis.
    pub redis: FaultProxy,
}

impl Proxies {
    /// Proxies for `wiring`: none when direct. Each proxied round trip costs about as much
    /// CPU again as the direct one (two loopback hops instead of one): `cargo bench --bench
    /// proxy_service` measured the service at ~0.78x its direct throughput on a 2-core box,
    /// so a run with no fault to apply keeps that cost out of its numbers.
    pub(super) async fn wire(stack: &Stack, wiring: Wiring) -> anyhow::Result<Option<Proxies>> {
        match wiring {
            Wiring::Direct => Ok(None),
            Wiring::FaultProxies => Proxies::start(stack).await.map(Some),
        }
    }

    async fn start(stack: &Stack) -> anyhow::Result<Proxies> {
        let start = |url: &url::Url| {
            let upstream = upstream_addr(url);
            async move {
                let upstream = upstream?;
                FaultProxy::start(([127, 0, 0, 1], 0).into(), upstream)
                    .await
                    .context("starting a fault proxy")
            }
        };
        Ok(Proxies {
            postgres: start(stack.postgres.url()).await?,
            redis: start(stack.redis.url()).await?,
        })
    }

    /// Stops both; connections through them end.
    pub(super) async fn shutdown(self) {
        self.postgres.shutdown().await;
        self.redis.shutdown().await;
    }
}

/// The socket address a dependency URL points at.
fn upstream_addr(url: &url::Url) -> anyhow::Result<std::net::SocketAddr> {
    url.socket_addrs(|| None)
        .with_context(|| format!("resolving {}", gauntlet_testcontainers::redact(url)))?
        .into_iter()
        .next()
        .with_context(|| format!("{} has no address", gauntlet_testcontainers::redact(url)))
}

/// `url` with its host and port replaced by the proxy's.
pub(super) fn through(url: &url::Url, proxy: &FaultProxy) -> url::Url {
    let mut out = url.clone();
    let addr = proxy.local_addr();
    // Both setters only fail for URLs that cannot have a host (e.g. `mailto:`).
    let _ = out.set_ip_host(addr.ip());
    let _ = out.set_port(Some(addr.port()));
    out
}
