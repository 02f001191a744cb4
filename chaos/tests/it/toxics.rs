//! One test per toxic: it has its effect on real traffic, and removing it restores service.
//! Lower bounds on added delay are strict (timers never fire early); upper bounds are loose.

use crate::support::{
    DEADLINE, connect, drain, echo_server, pattern, proxy, round_trip, source_server,
};
use gauntlet_chaos::{Direction, Toxic, ToxicKind, Toxicity};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_toxics_bytes_pass_unchanged_and_are_counted() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut s = connect(proxy.local_addr()).await;
    let msg: Vec<u8> = (0..1024 * 1024).map(pattern).collect();
    // Write and read concurrently: a 1 MiB echo does not fit in the socket buffers.
    let (mut r, mut w) = s.split();
    let write = async {
        w.write_all(&msg).await.unwrap();
    };
    let read = async {
        let mut back = vec![0u8; msg.len()];
        timeout(DEADLINE, r.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        back
    };
    let ((), back) = tokio::join!(write, read);
    assert!(back == msg, "bytes changed in transit");
    let stats = proxy.stats();
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.active, 1);
    assert_eq!(stats.bytes_up, msg.len() as u64);
    assert_eq!(stats.bytes_down, msg.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_live_connection_and_removal_restores() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"warm-up").await;

    // Added while the connection is open: it must apply to it.
    let latency = ToxicKind::Latency {
        latency: ms(150),
        jitter: ms(0),
    };
    proxy.add_toxic("lat", Toxic::new(latency)).unwrap();
    for _ in 0..3 {
        let rtt = round_trip(&mut s, b"ping").await;
        assert!(rtt >= ms(148), "latency not applied: rtt {rtt:?}");
        assert!(rtt < ms(3000), "latency far too large: {rtt:?}");
    }

    // Both directions add up.
    let up = ToxicKind::Latency {
        latency: ms(100),
        jitter: ms(20),
    };
    proxy
        .add_toxic("lat-up", Toxic::new(up).on(Direction::Upstream))
        .unwrap();
    let rtt = round_trip(&mut s, b"ping").await;
    assert!(
        rtt >= ms(150 + 80 - 2),
        "upstream latency not added: {rtt:?}"
    );

    proxy.remove_toxic("lat").unwrap();
    proxy.remove_toxic("lat-up").unwrap();
    let rtt = round_trip(&mut s, b"ping").await;
    assert!(
        rtt < ms(100),
        "latency still applied after removal: {rtt:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_limits_rate_and_removal_restores_full_speed() {
    let server = source_server(256 * 1024 * 1024).await;
    let proxy = proxy(server.addr).await;
    let rate_kb = 200;
    proxy
        .add_toxic("bw", Toxic::new(ToxicKind::Bandwidth { rate: rate_kb }))
        .unwrap();
    let mut s = connect(proxy.local_addr()).await;

    // 400 KB at 200 KB/s: about two seconds (the first piece goes out at once).
    let limited = drain(&mut s, 400_000).await;
    assert_eq!(limited.bytes, 400_000);
    assert!(
        limited.elapsed >= ms(1700),
        "too fast: {:?}",
        limited.elapsed
    );
    assert!(
        limited.elapsed < ms(8000),
        "too slow: {:?}",
        limited.elapsed
    );

    // Same connection, toxic removed: 32 MiB must now come through quickly.
    proxy.remove_toxic("bw").unwrap();
    let free = drain(&mut s, 32 * 1024 * 1024).await;
    assert_eq!(free.bytes, 32 * 1024 * 1024);
    assert!(
        free.elapsed < ms(8000),
        "still throttled: {:?}",
        free.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_zero_holds_data_until_removed() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"before").await;

    let hold = ToxicKind::Timeout { timeout: ms(0) };
    proxy.add_toxic("hold", Toxic::new(hold)).unwrap();
    s.write_all(b"held").await.unwrap();
    let mut buf = [0u8; 4];
    let early = timeout(ms(700), s.read_exact(&mut buf)).await;
    assert!(early.is_err(), "data passed a timeout toxic: {early:?}");

    proxy.remove_toxic("hold").unwrap();
    timeout(DEADLINE, s.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"held", "held data lost or changed");
    round_trip(&mut s, b"after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_closes_connection_without_data_after_deadline() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let toxic = Toxic::new(ToxicKind::Timeout { timeout: ms(400) });
    proxy.add_toxic("to", toxic).unwrap();

    let mut s = connect(proxy.local_addr()).await;
    let start = Instant::now();
    s.write_all(b"lost").await.unwrap();
    let got = drain(&mut s, 1024).await;
    assert_eq!(got.bytes, 0, "data passed a timeout toxic");
    assert!(
        start.elapsed() >= ms(395),
        "closed too early: {:?}",
        start.elapsed()
    );

    proxy.remove_toxic("to").unwrap();
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_peer_resets_connection_and_removal_restores() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"alive").await;

    // Added to a live connection: data passes until the timeout, then RST.
    let start = Instant::now();
    let reset = ToxicKind::ResetPeer { timeout: ms(500) };
    proxy.add_toxic("rst", Toxic::new(reset)).unwrap();
    let got = drain(&mut s, usize::MAX).await;
    assert_eq!(got.error, Some(ErrorKind::ConnectionReset), "no ECONNRESET");
    assert!(
        start.elapsed() >= ms(495),
        "reset too early: {:?}",
        start.elapsed()
    );
    assert!(proxy.stats().resets >= 1);

    proxy.remove_toxic("rst").unwrap();
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"fine").await;
    let after = timeout(ms(800), s.read(&mut [0u8; 1])).await;
    assert!(after.is_err(), "connection ended after removal: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slicer_delivers_many_small_reads_and_removal_restores() {
    let total = 30_000;
    let server = source_server(total).await;
    let proxy = proxy(server.addr).await;
    let slicer = ToxicKind::Slicer {
        average_size: 100,
        size_variation: 50,
        delay: Duration::from_micros(1_000),
    };
    proxy.add_toxic("slice", Toxic::new(slicer)).unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let sliced = drain(&mut s, usize::MAX).await;
    assert_eq!(sliced.bytes, total);
    // ~200 slices 1 ms apart; even a loaded reader sees far more than a handful of reads.
    assert!(sliced.reads >= 30, "only {} reads", sliced.reads);

    proxy.remove_toxic("slice").unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let whole = drain(&mut s, usize::MAX).await;
    assert_eq!(whole.bytes, total);
    assert!(whole.reads < 15, "still sliced: {} reads", whole.reads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_data_closes_after_n_bytes_and_removal_restores() {
    let server = source_server(4 * 1024 * 1024).await;
    let proxy = proxy(server.addr).await;
    let limit = ToxicKind::LimitData { bytes: 10_000 };
    proxy.add_toxic("limit", Toxic::new(limit)).unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let got = drain(&mut s, usize::MAX).await;
    assert_eq!(got.bytes, 10_000, "limit not exact");

    proxy.remove_toxic("limit").unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let all = drain(&mut s, usize::MAX).await;
    assert_eq!(all.bytes, 4 * 1024 * 1024);
    assert_eq!(all.error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_close_delays_the_close_and_removal_restores() {
    let server = source_server(1000).await;
    let proxy = proxy(server.addr).await;
    let slow = ToxicKind::SlowClose { delay: ms(1000) };
    proxy.add_toxic("slow", Toxic::new(slow)).unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let start = Instant::now();
    let got = drain(&mut s, usize::MAX).await;
    assert_eq!(got.bytes, 1000);
    assert!(
        start.elapsed() >= ms(995),
        "close not delayed: {:?}",
        start.elapsed()
    );

    proxy.remove_toxic("slow").unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let start = Instant::now();
    let got = drain(&mut s, usize::MAX).await;
    assert_eq!(got.bytes, 1000);
    assert!(
        start.elapsed() < ms(800),
        "close still delayed: {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxicity_zero_has_no_effect_and_one_always_applies() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let latency = ToxicKind::Latency {
        latency: ms(400),
        jitter: ms(0),
    };
    let never = Toxic::new(latency.clone()).with_toxicity(Toxicity::NEVER);
    proxy.add_toxic("never", never).unwrap();
    for _ in 0..3 {
        let mut s = connect(proxy.local_addr()).await;
        let rtt = round_trip(&mut s, b"x").await;
        assert!(rtt < ms(300), "toxicity 0 applied: {rtt:?}");
    }

    proxy.clear();
    assert!(proxy.toxics().is_empty());
    proxy.add_toxic("always", Toxic::new(latency)).unwrap();
    let mut s = connect(proxy.local_addr()).await;
    let rtt = round_trip(&mut s, b"x").await;
    assert!(rtt >= ms(398), "toxicity 1 not applied: {rtt:?}");
}
