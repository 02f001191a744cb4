//! Bulk throughput through the fault proxy vs a direct connection.
//!
//! Each iteration opens a connection, writes 64 MiB to a sink server on 127.0.0.1, half-closes,
//! and waits for the sink's one-byte acknowledgement that it read everything.
//!
//! Targets: `direct` (no proxy), `reference_copy_bidirectional` (a minimal tokio proxy with no
//! fault logic, copying through user space), `proxy_no_toxics`, and
//! `proxy_toxic_other_direction`. On Linux the fault proxy forwards a direction without toxics
//! with splice(2) and caps its socket buffers, so it should beat the reference; it cannot reach
//! `direct` on a CPU-bound box, because every byte still crosses the loopback TCP stack twice.
//! Compare `proxy_no_toxics` with `direct` for the ratio issue 7 asks about.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gauntlet_chaos::{Direction, FaultProxy, Toxic, ToxicKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// Bytes per iteration: large enough that connection setup is noise.
const TOTAL: usize = 64 * 1024 * 1024;

/// Reads until EOF, then answers one byte so the client knows every byte arrived.
async fn sink_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 256 * 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        let _ = s.write_all(b"k").await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Sends TOTAL bytes to `addr` and waits for the sink's acknowledgement.
async fn transfer(addr: SocketAddr, block: &[u8]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut left = TOTAL;
    while left > 0 {
        let n = left.min(block.len());
        s.write_all(&block[..n]).await.unwrap();
        left -= n;
    }
    s.shutdown().await.unwrap();
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).await.unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sink, plain, toxic_elsewhere) = rt.block_on(setup());
    let reference = rt.block_on(reference_proxy(sink));
    let block = vec![0x5au8; 256 * 1024];

    let mut group = c.benchmark_group("proxy_throughput");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    run(&mut group, &rt, "direct", sink, &block);
    run(
        &mut group,
        &rt,
        "reference_copy_bidirectional",
        reference,
        &block,
    );
    run(
        &mut group,
        &rt,
        "proxy_no_toxics",
        plain.local_addr(),
        &block,
    );
    // A toxic on the other direction: the upstream copy path has an empty plan but a
    // non-empty toxic set, so this measures the per-chunk snapshot check alone.
    run(
        &mut group,
        &rt,
        "proxy_toxic_other_direction",
        toxic_elsewhere.local_addr(),
        &block,
    );
    group.finish();
    print_interleaved_ratio(&rt, sink, plain.local_addr(), &block);
    rt.block_on(async {
        plain.shutdown().await;
        toxic_elsewhere.shutdown().await;
    });
}

async fn setup() -> (SocketAddr, FaultProxy, FaultProxy) {
    let sink = sink_server().await;
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let plain = FaultProxy::start(listen, sink).await.unwrap();
    let other = FaultProxy::start(listen, sink).await.unwrap();
    let latency = ToxicKind::Latency {
        latency: Duration::from_millis(1),
        jitter: Duration::ZERO,
    };
    other
        .add_toxic(
            "down-latency",
            Toxic::new(latency).on(Direction::Downstream),
        )
        .unwrap();
    (sink, plain, other)
}

/// The simplest possible proxy, as a yardstick: no toxics, no stats, 64 KiB buffers.
async fn reference_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let sizes = (64 * 1024, 64 * 1024);
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut client,
                    &mut up,
                    sizes.0,
                    sizes.1,
                )
                .await;
            });
        }
    });
    addr
}

fn run(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    addr: SocketAddr,
    block: &[u8],
) {
    group.bench_function(name, |b| b.iter(|| rt.block_on(transfer(addr, block))));
}

/// Transfers per side in the interleaved pass that yields the printed ratio.
const RATIO_TRANSFERS: usize = 30;

/// Alternates direct and proxied transfers, so background load hits both sides alike, and
/// prints the ratio of their total throughputs (the number issue 7's 0.9× is about).
fn print_interleaved_ratio(rt: &Runtime, direct: SocketAddr, proxied: SocketAddr, block: &[u8]) {
    let (mut d, mut p) = (Duration::ZERO, Duration::ZERO);
    rt.block_on(async {
        for _ in 0..RATIO_TRANSFERS {
            let started = Instant::now();
            transfer(proxied, block).await;
            p += started.elapsed();
            let started = Instant::now();
            transfer(direct, block).await;
            d += started.elapsed();
        }
    });
    let gib_per_sec =
        |t: Duration| (RATIO_TRANSFERS * TOTAL) as f64 / t.as_secs_f64() / f64::from(1u32 << 30);
    println!(
        "interleaved pass ({RATIO_TRANSFERS} transfers of 64 MiB per side): \
         proxy {:.2} GiB/s, direct {:.2} GiB/s",
        gib_per_sec(p),
        gib_per_sec(d)
    );
    println!(
        "proxy/direct bulk throughput ratio: {:.2}",
        d.as_secs_f64() / p.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
