//! What the fault proxies cost the measurement: the reference service's throughput with its
//! Postgres and Redis reached through two `FaultProxy`s without toxics (how every local
//! `gauntlet run` wires it) against the same service reaching them directly.
//!
//! `proxy_throughput` and `proxy_queries` price the proxy per byte and per query; this bench
//! prices it where a user meets it: in the requests per second a run reports.
//!
//! Setup (once): a native Postgres and Redis on loopback, a proxy in front of each, and two
//! instances of the `hrms` application in this process on 127.0.0.1:0, identical but for their
//! dependency URLs; 5 tenants × 200 employees, a login as tenant 0's HR admin (both instances
//! share the JWT secret, so one token serves both). Each iteration is one batch of [`BATCH`]
//! `GET /employees?per_page=50` (token check, rate-limit decision in Redis, tenant
//! transaction, two queries, JSON) over [`CONCURRENCY`] tasks. The printed ratio comes from an
//! interleaved pass (one proxied batch, one direct batch, repeated).
//!
//! Generator, both services, proxies, Postgres and Redis share this machine's cores: the ratio
//! is a cost ratio on one box.

mod common;
#[path = "common/interleave.rs"]
mod interleave;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use gauntlet_chaos::FaultProxy;
use hrms::RunningService;
use hrms::auth::Role;
use hrms::config::Settings;
use hrms::seed::SeedSpec;
use reqwest::header::HeaderValue;
use tokio::task::JoinSet;

/// Page reads per criterion iteration.
const BATCH: usize = 64;
/// Requests in flight at once, below the pool size so neither instance queues for a
/// connection.
const CONCURRENCY: usize = 8;
const POOL_SIZE: u32 = 10;
/// Batches per side in the interleaved pass that yields the printed ratio.
const RATIO_BATCHES: usize = 40;

/// One running instance of the service.
struct Instance {
    /// `http://127.0.0.1:PORT/employees?per_page=50`.
    url: String,
    service: RunningService,
}

impl Instance {
    async fn start(settings: Settings) -> Instance {
        let service = RunningService::start(settings)
            .await
            .expect("build the hrms application");
        Instance {
            url: format!("{}/employees?per_page=50", service.base_url()),
            service,
        }
    }
}

/// What the request tasks share.
struct Shared {
    client: reqwest::Client,
    auth: HeaderValue,
}

/// One batch of page reads against `url`.
async fn batch(shared: &Arc<Shared>, url: &Arc<str>) {
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (shared, url) = (Arc::clone(shared), Arc::clone(url));
        tasks.spawn(async move {
            for _ in 0..BATCH / CONCURRENCY {
                common::get_ok(&shared.client, &url, &shared.auth).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("request task");
    }
}

/// A proxy on 127.0.0.1:0 in front of the server at `url`, and `url` pointed at it.
async fn proxy_for(url: &url::Url) -> (FaultProxy, url::Url) {
    let host = url.host_str().expect("dependency URL has a host");
    let upstream: SocketAddr = format!("{host}:{}", url.port().expect("port"))
        .parse()
        .expect("a loopback socket address");
    let proxy = FaultProxy::start(([127, 0, 0, 1], 0).into(), upstream)
        .await
        .expect("start a fault proxy");
    let mut through = url.clone();
    through
        .set_port(Some(proxy.local_addr().port()))
        .expect("URL takes a port");
    (proxy, through)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (stack, proxies, direct, proxied, shared) = rt.block_on(async {
        let stack = common::native_stack().await;
        let direct_settings = common::settings(&stack, POOL_SIZE);
        let (pg_proxy, pg_url) = proxy_for(stack.postgres.url()).await;
        let (redis_proxy, redis_url) = proxy_for(stack.redis.url()).await;
        let mut proxied_settings = direct_settings.clone();
        proxied_settings.database.url = pg_url;
        proxied_settings.redis.url = redis_url;
        let direct = Instance::start(direct_settings).await;
        let spec = SeedSpec {
            tenants: 5,
            employees_per_tenant: 200,
            ..SeedSpec::default()
        };
        let seeded = hrms::seed::seed(&direct.service.state().db, &spec)
            .await
            .expect("seed 5 tenants x 200 employees");
        let proxied = Instance::start(proxied_settings).await;
        let admin = seeded.tenants[0]
            .user(Role::HrAdmin)
            .expect("seeded HR admin")
            .clone();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        let base = proxied.service.base_url();
        let token = common::login(&client, base, &admin.email, &admin.password).await;
        let auth = HeaderValue::from_str(&format!("Bearer {token}")).expect("token is ASCII");
        let shared = Arc::new(Shared { client, auth });
        (stack, [pg_proxy, redis_proxy], direct, proxied, shared)
    });
    let direct_url: Arc<str> = direct.url.as_str().into();
    let proxied_url: Arc<str> = proxied.url.as_str().into();

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("proxy_service");
        group.throughput(Throughput::Elements(BATCH as u64));
        group.sample_size(10);
        group.bench_function("direct/GET /employees?per_page=50", |b| {
            b.iter(|| rt.block_on(batch(&shared, &direct_url)))
        });
        group.bench_function("through_proxies/GET /employees?per_page=50", |b| {
            b.iter(|| rt.block_on(batch(&shared, &proxied_url)))
        });
        group.finish();
    }
    criterion.final_summary();

    let times = rt.block_on(interleave::interleaved(
        RATIO_BATCHES,
        || batch(&shared, &proxied_url),
        || batch(&shared, &direct_url),
    ));
    interleave::print_ratio(
        "proxied/direct service throughput",
        &format!("{RATIO_BATCHES} batches of {BATCH} per side, {CONCURRENCY} concurrent"),
        "requests",
        RATIO_BATCHES * BATCH,
        times,
    );
    let [pg_proxy, redis_proxy] = proxies;
    let through_pg = pg_proxy.stats().bytes_down;
    let degraded = [&direct, &proxied].map(|i| i.service.state().metrics.rate_limit_degraded.get());
    rt.block_on(async {
        drop(shared);
        common::stop(direct.service).await;
        common::stop(proxied.service).await;
        pg_proxy.shutdown().await;
        redis_proxy.shutdown().await;
        stack.shutdown().await;
    });
    assert!(through_pg > 0, "the proxied instance never used its proxy");
    assert_eq!(
        degraded,
        [0, 0],
        "rate limits decided without Redis (direct, proxied): the numbers above are off"
    );
}
