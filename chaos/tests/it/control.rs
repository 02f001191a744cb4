//! Proxy control: down/up, re-pointing the upstream, toxic bookkeeping, shutdown.

use crate::support::{
    DEADLINE, connect, drain, echo_server, eventually, proxy, round_trip, tag_server,
};
use gauntlet_chaos::{ProxyError, Toxic, ToxicKind};
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_cuts_and_refuses_then_recovers_on_same_address() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let addr = proxy.local_addr();
    let mut live = connect(addr).await;
    round_trip(&mut live, b"up").await;

    proxy.set_down(true).await.unwrap();
    assert!(proxy.is_down());
    let cut = drain(&mut live, usize::MAX).await;
    assert_eq!(cut.bytes, 0, "existing connection not cut");
    let refused = TcpStream::connect(addr).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused),
        "new connection not refused while down"
    );

    proxy.set_down(false).await.unwrap();
    assert!(!proxy.is_down());
    assert_eq!(proxy.local_addr(), addr);
    let mut again = connect(addr).await;
    round_trip(&mut again, b"back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_upstream_repoints_new_connections_keeping_listen_address() {
    let a = tag_server(b'A').await;
    let b = tag_server(b'B').await;
    let proxy = proxy(a.addr).await;
    let addr = proxy.local_addr();

    let mut first = connect(addr).await;
    let mut tag = [0u8; 1];
    timeout(DEADLINE, first.read_exact(&mut tag))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&tag, b"A");

    proxy.set_upstream(b.addr);
    assert_eq!(proxy.upstream(), b.addr);
    let mut second = connect(addr).await;
    timeout(DEADLINE, second.read_exact(&mut tag))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&tag, b"B", "new connection not re-pointed");
    assert_eq!(proxy.local_addr(), addr);

    // The connection made before the switch keeps its upstream.
    round_trip(&mut first, b"still A").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_upstream_drops_client_and_repointing_recovers() {
    // Reserve a port, then free it, so nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = proxy(dead).await;
    let mut s = connect(proxy.local_addr()).await;
    let got = drain(&mut s, usize::MAX).await;
    assert_eq!(got.bytes, 0);
    eventually("upstream failure counted", || {
        proxy.stats().upstream_failures >= 1
    })
    .await;

    let server = echo_server().await;
    proxy.set_upstream(server.addr);
    let mut s = connect(proxy.local_addr()).await;
    round_trip(&mut s, b"restarted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxic_names_are_unique_and_bad_toxics_rejected() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let lat = Toxic::new(ToxicKind::Latency {
        latency: Duration::from_millis(1),
        jitter: Duration::ZERO,
    });
    let first = proxy.add_toxic("a", lat.clone()).unwrap();
    assert!(matches!(
        proxy.add_toxic("a", lat.clone()),
        Err(ProxyError::DuplicateToxic(n)) if n == "a"
    ));
    assert!(matches!(
        proxy.remove_toxic("nope"),
        Err(ProxyError::UnknownToxic(n)) if n == "nope"
    ));
    let zero_rate = Toxic::new(ToxicKind::Bandwidth { rate: 0 });
    assert!(matches!(
        proxy.add_toxic("bw", zero_rate),
        Err(ProxyError::InvalidToxic(_))
    ));
    assert_eq!(proxy.remove_toxic("a").unwrap(), lat);
    // A name can be reused after removal, and gets a fresh id.
    let second = proxy.add_toxic("a", lat.clone()).unwrap();
    assert_ne!(first, second);
    assert_eq!(proxy.toxics(), vec![("a".to_owned(), lat)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_and_listener() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let addr = proxy.local_addr();
    let mut live = connect(addr).await;
    round_trip(&mut live, b"hi").await;
    timeout(DEADLINE, proxy.shutdown())
        .await
        .expect("shutdown hung");
    let got = drain(&mut live, usize::MAX).await;
    assert_eq!(got.bytes, 0);
    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "listener still open after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_gauge_follows_connections() {
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut conns = Vec::new();
    for _ in 0..3 {
        let mut s = connect(proxy.local_addr()).await;
        round_trip(&mut s, b"x").await;
        conns.push(s);
    }
    assert_eq!(proxy.stats().active, 3);
    drop(conns);
    eventually("connections closed", || proxy.stats().active == 0).await;
    assert_eq!(proxy.stats().accepted, 3);
}
