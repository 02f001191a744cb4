//! Database queries through the fault proxy vs straight to Postgres: what the proxy costs a
//! service in the traffic it actually carries (small request/response exchanges), as opposed
//! to `proxy_throughput`'s bulk bytes.
//!
//! Setup (once): a native Postgres on loopback, a `FaultProxy` without toxics in front of it,
//! and two pools of [`POOL_SIZE`] connections, one to each address. Each iteration is one batch
//! of [`BATCH`] queries (`SELECT` of 20 generated rows, the size of a short page) spread over
//! [`CONCURRENCY`] tasks. The printed ratio comes from an interleaved pass (one proxied batch,
//! one direct batch, repeated), so background load hits both sides alike.
//!
//! Client, proxy and Postgres share this machine's cores: the ratio is a cost ratio on one box.

#[path = "common/interleave.rs"]
mod interleave;

use std::time::Duration;

use criterion::{Criterion, Throughput};
use gauntlet_chaos::FaultProxy;
use gauntlet_testcontainers::{BackendChoice, ProvisionConfig, Stack};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Queries per criterion iteration: enough that spawning the tasks is noise.
const BATCH: usize = 256;
/// Queries in flight at once on either path; below the pool size so nothing queues.
const CONCURRENCY: usize = 8;
const POOL_SIZE: u32 = 10;
/// Batches per side in the interleaved pass that yields the printed ratio.
const RATIO_BATCHES: usize = 40;

/// One batch of queries on `pool`.
async fn batch(pool: &PgPool) {
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let pool = pool.clone();
        tasks.spawn(async move {
            for _ in 0..BATCH / CONCURRENCY {
                let rows: Vec<(i32,)> = sqlx::query_as("SELECT g FROM generate_series(1, 20) g")
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                assert_eq!(rows.len(), 20);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("query task");
    }
}

async fn pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .min_connections(POOL_SIZE)
        .connect(url)
        .await
        .expect("connect")
}

fn main() {
    let rt = Runtime::new().expect("tokio runtime");
    let (stack, proxy, direct, proxied) = rt.block_on(async {
        let config = ProvisionConfig::from_env()
            .expect("provisioning config from the environment")
            .with_backend(BackendChoice::Native);
        let stack = Stack::provision(&config).await.expect("native postgres");
        let url = stack.postgres.url().clone();
        let upstream = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        )
        .parse()
        .expect("socket address");
        let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), upstream)
            .await
            .expect("proxy");
        let mut through = url.clone();
        through
            .set_port(Some(proxy.local_addr().port()))
            .expect("port");
        let direct = pool(url.as_str()).await;
        let proxied = pool(through.as_str()).await;
        (stack, proxy, direct, proxied)
    });

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("postgres_queries");
        group.throughput(Throughput::Elements(BATCH as u64));
        group.measurement_time(Duration::from_secs(5));
        group.bench_function("direct", |b| b.iter(|| rt.block_on(batch(&direct))));
        group.bench_function("proxy_no_toxics", |b| {
            b.iter(|| rt.block_on(batch(&proxied)))
        });
        group.finish();
    }
    criterion.final_summary();

    let times = rt.block_on(interleave::interleaved(
        RATIO_BATCHES,
        || batch(&proxied),
        || batch(&direct),
    ));
    interleave::print_ratio(
        "proxy/direct query throughput",
        &format!("{RATIO_BATCHES} batches of {BATCH} per side, {CONCURRENCY} concurrent"),
        "queries",
        RATIO_BATCHES * BATCH,
        times,
    );
    rt.block_on(async {
        proxied.close().await;
        direct.close().await;
        proxy.shutdown().await;
        stack.shutdown().await;
    });
}
