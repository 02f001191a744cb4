//! Small request/response messages through the fault proxy vs a direct connection: the
//! proxy's cost per message with no database work to hide it (`proxy_queries` adds Postgres,
//! `proxy_service` the whole service).
//!
//! Each iteration is one batch: [`CONNECTIONS`] connections, opened once at setup, each sending
//! [`ROUND_TRIPS`] messages of [`MESSAGE`] bytes to an echo server and reading each back before
//! the next. The printed ratio comes from an interleaved pass (one proxied batch, one direct
//! batch, repeated). Each side has loopback addresses of its own (see `proxy_throughput`).
//!
//! A proxy doubles the loopback hops, and with messages this small the kernel's TCP work is
//! most of the cost, so the ratio cannot get far above 0.5 on a box whose cores the client,
//! the proxy and the echo server share.

#[path = "common/interleave.rs"]
mod interleave;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use gauntlet_chaos::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

const CONNECTIONS: usize = 8;
const ROUND_TRIPS: usize = 250;
/// About a small Postgres query or a Redis command.
const MESSAGE: usize = 100;
/// Batches per side in the interleaved pass.
const RATIO_BATCHES: usize = 20;

/// Echoes whatever arrives, on every connection.
async fn echo_server(ip: [u8; 4]) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::from((ip, 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Long-lived connections to one side, as a pool would keep them.
type Connections = Arc<Vec<Mutex<TcpStream>>>;

async fn connect(addr: SocketAddr) -> Connections {
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        conns.push(Mutex::new(s));
    }
    Arc::new(conns)
}

/// One batch: every connection does its round trips, all connections at once.
async fn batch(conns: &Connections) {
    let mut tasks = JoinSet::new();
    for i in 0..CONNECTIONS {
        let conns = Arc::clone(conns);
        tasks.spawn(async move {
            let mut s = conns[i].lock().await;
            let (msg, mut back) = ([7u8; MESSAGE], [0u8; MESSAGE]);
            for _ in 0..ROUND_TRIPS {
                s.write_all(&msg).await.unwrap();
                s.read_exact(&mut back).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("round-trip task");
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (proxy, direct, proxied) = rt.block_on(async {
        let direct = connect(echo_server([127, 0, 0, 9]).await).await;
        let upstream = echo_server([127, 0, 0, 11]).await;
        let proxy = FaultProxy::start(([127, 0, 0, 10], 0).into(), upstream)
            .await
            .unwrap();
        let proxied = connect(proxy.local_addr()).await;
        (proxy, direct, proxied)
    });

    let mut criterion = Criterion::default().sample_size(20).configure_from_args();
    {
        let mut group = criterion.benchmark_group("proxy_round_trips");
        group.throughput(Throughput::Elements((CONNECTIONS * ROUND_TRIPS) as u64));
        for (name, conns) in [("direct", &direct), ("proxy_no_toxics", &proxied)] {
            // One `block_on` per sample, as in `proxy_throughput`.
            group.bench_function(name, |b| {
                b.iter_custom(|batches| {
                    rt.block_on(async {
                        let started = Instant::now();
                        for _ in 0..batches {
                            batch(conns).await;
                        }
                        started.elapsed()
                    })
                })
            });
        }
        group.finish();
    }
    criterion.final_summary();

    let times = rt.block_on(interleave::interleaved(
        RATIO_BATCHES,
        || batch(&proxied),
        || batch(&direct),
    ));
    interleave::print_ratio(
        "proxy/direct round-trip",
        &format!(
            "{RATIO_BATCHES} batches of {CONNECTIONS} x {ROUND_TRIPS} round trips of {MESSAGE} \
             bytes per side"
        ),
        "round trips",
        RATIO_BATCHES * CONNECTIONS * ROUND_TRIPS,
        times,
    );
    let stats = proxy.stats();
    // Messages this small stay on the proxy's copy path (`chaos/src/proxy/pipe.rs`).
    assert_eq!(
        stats.bytes_spliced, 0,
        "small messages were spliced: {stats:?}"
    );
    rt.block_on(proxy.shutdown());
}
