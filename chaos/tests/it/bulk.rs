//! Bulk transfers while the proxy switches between its paths: on Linux a direction without
//! toxics forwards with splice(2) and hands over to the user-space toxic path when a toxic
//! appears. Whatever the path, every byte must arrive once, in order, counted exactly, and the
//! half-close must still pass through.
//!
//! The payload is a sequence of little-endian u64 counters, so a lost, repeated or reordered
//! byte shows up as a mismatch at a known offset.

use crate::support::{DEADLINE, connect, echo_server, proxy};
use gauntlet_chaos::{Direction, Toxic, ToxicKind};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Payload block size; blocks are generated and checked whole.
const BLOCK: usize = 64 * 1024;

/// Block `index` of the counter payload.
fn block(index: usize) -> Vec<u8> {
    let first = (index * BLOCK / 8) as u64;
    (first..first + (BLOCK / 8) as u64)
        .flat_map(u64::to_le_bytes)
        .collect()
}

/// Checks received bytes against the payload, block by block.
struct Checker {
    pending: Vec<u8>,
    blocks: usize,
    total: usize,
}

impl Checker {
    fn new() -> Self {
        Self {
            pending: Vec::with_capacity(BLOCK),
            blocks: 0,
            total: 0,
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        self.total += data.len();
        while !data.is_empty() {
            let take = (BLOCK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == BLOCK {
                self.check_pending();
                self.pending.clear();
                self.blocks += 1;
            }
        }
    }

    /// Compares the (possibly partial) pending block with the payload.
    fn check_pending(&self) {
        let want = block(self.blocks);
        if let Some(at) = (0..self.pending.len()).find(|&i| self.pending[i] != want[i]) {
            panic!(
                "payload corrupted at byte {} (lost, repeated or reordered data)",
                self.blocks * BLOCK + at
            );
        }
    }

    /// Checks the trailing partial block; returns the byte count seen.
    fn finish(self) -> usize {
        self.check_pending();
        self.total
    }
}

/// Writes `total` payload bytes to `w`.
async fn write_payload(w: &mut (impl AsyncWriteExt + Unpin), total: usize) -> std::io::Result<()> {
    let mut sent = 0;
    while sent < total {
        let data = block(sent / BLOCK);
        let n = BLOCK.min(total - sent);
        w.write_all(&data[..n]).await?;
        sent += n;
    }
    Ok(())
}

/// A server that sends `total` payload bytes on each connection, then closes.
async fn payload_server(total: usize) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if write_payload(&mut s, total).await.is_ok() {
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    (addr, task)
}

/// Reads one chunk (0 = EOF) with the test deadline.
async fn read_chunk(r: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> usize {
    timeout(DEADLINE, r.read(buf))
        .await
        .expect("read timed out")
        .expect("read failed")
}

/// The toxic put on for the `k`-th window: every kind that reroutes data through user space
/// without ending the connection, on one direction or the other.
fn window_toxic(k: usize) -> Toxic {
    let kind = match k % 3 {
        0 => ToxicKind::Latency {
            latency: Duration::from_millis(2),
            jitter: Duration::ZERO,
        },
        1 => ToxicKind::Bandwidth { rate: 40_000 },
        _ => ToxicKind::Slicer {
            average_size: 16 * 1024,
            size_variation: 8 * 1024,
            delay: Duration::ZERO,
        },
    };
    let dir = [Direction::Upstream, Direction::Downstream][k / 3 % 2];
    Toxic::new(kind).on(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_stays_intact_while_toxics_come_and_go_mid_stream() {
    const TOTAL: usize = 32 * 1024 * 1024;
    /// Received bytes between two switches: a toxic is put on, then taken off, and so on.
    const WINDOW: usize = 2 * 1024 * 1024;
    let server = echo_server().await;
    let proxy = proxy(server.addr).await;
    let mut s = connect(proxy.local_addr()).await;
    let (mut r, mut w) = s.split();
    let write = async {
        write_payload(&mut w, TOTAL).await.unwrap();
        // Half-close: the echo server sees EOF, stops, and its close must reach us.
        w.shutdown().await.unwrap();
    };
    let read = async {
        let mut checker = Checker::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut switches = 0;
        loop {
            let n = read_chunk(&mut r, &mut buf).await;
            if n == 0 {
                break;
            }
            checker.feed(&buf[..n]);
            // Switch while the rest of the payload is still in flight in both directions.
            if checker.total < TOTAL && checker.total >= (switches + 1) * WINDOW {
                let k = switches / 2;
                if switches % 2 == 0 {
                    proxy.add_toxic("window", window_toxic(k)).unwrap();
                } else {
                    proxy.remove_toxic("window").unwrap();
                }
                switches += 1;
            }
        }
        (checker.finish(), switches)
    };
    let ((), (received, switches)) = tokio::join!(write, read);
    assert_eq!(received, TOTAL, "echo ended early or ran long");
    assert_eq!(
        switches,
        TOTAL / WINDOW - 1,
        "toxics were not switched mid-stream"
    );
    let stats = proxy.stats();
    assert_eq!(stats.bytes_up, TOTAL as u64, "upstream bytes miscounted");
    assert_eq!(
        stats.bytes_down, TOTAL as u64,
        "downstream bytes miscounted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_added_mid_stream_stops_a_fast_transfer_and_removal_resumes_it() {
    // An odd size, so the last chunk is partial and the counters must be exact.
    const TOTAL: usize = 48 * 1024 * 1024 + 12_345;
    /// Far more than the buffers between the proxy's reading side and us can hold.
    const SLACK: usize = 16 * 1024 * 1024;
    let (addr, task) = payload_server(TOTAL).await;
    let proxy = proxy(addr).await;
    // A fixed receive buffer: an autotuned one may grow to tens of MiB and blur the stall.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    let mut s = timeout(DEADLINE, socket.connect(proxy.local_addr()))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    let mut checker = Checker::new();
    let mut buf = vec![0u8; 256 * 1024];
    while checker.total < 4 * 1024 * 1024 {
        let n = read_chunk(&mut s, &mut buf).await;
        assert!(n > 0, "EOF after {} bytes", checker.total);
        checker.feed(&buf[..n]);
    }

    // Added while data streams without toxics: the proxy must stop forwarding.
    let hold = Toxic::new(ToxicKind::Timeout {
        timeout: Duration::ZERO,
    });
    proxy.add_toxic("hold", hold).unwrap();
    let at_hold = checker.total;
    loop {
        match timeout(Duration::from_millis(700), s.read(&mut buf)).await {
            Err(_) => break, // stalled: the hold is in effect
            Ok(res) => {
                let n = res.expect("read failed");
                assert!(n > 0, "connection closed under a timeout 0 toxic");
                checker.feed(&buf[..n]);
                assert!(
                    checker.total - at_hold < SLACK,
                    "data kept flowing after the toxic was added"
                );
            }
        }
    }
    let held = proxy.stats().bytes_down;
    assert!(held < TOTAL as u64, "everything passed despite the hold");
    assert_eq!(held, checker.total as u64, "forwarded bytes miscounted");

    proxy.remove_toxic("hold").unwrap();
    loop {
        let n = read_chunk(&mut s, &mut buf).await;
        if n == 0 {
            break;
        }
        checker.feed(&buf[..n]);
    }
    assert_eq!(checker.finish(), TOTAL, "bytes lost or added");
    assert_eq!(proxy.stats().bytes_down, TOTAL as u64);
    assert_eq!(proxy.stats().bytes_up, 0);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_toxics_half_close_and_peer_reset_pass_through() {
    // Half-close: our FIN reaches the server, whose answer still comes back afterwards.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(format!("got {}", got.len()).as_bytes())
            .await
            .unwrap();
        // Reset the second connection after its first byte.
        drop(s);
        let (mut s, _) = listener.accept().await.unwrap();
        s.read_exact(&mut [0u8; 1]).await.unwrap();
        s.set_zero_linger().unwrap();
    });
    let proxy = proxy(addr).await;
    let mut s = connect(proxy.local_addr()).await;
    write_payload(&mut s, 3 * BLOCK + 7).await.unwrap();
    s.shutdown().await.unwrap();
    let mut back = String::new();
    timeout(DEADLINE, s.read_to_string(&mut back))
        .await
        .expect("answer timed out")
        .expect("answer failed");
    assert_eq!(back, format!("got {}", 3 * BLOCK + 7));

    let mut s = connect(proxy.local_addr()).await;
    s.write_all(b"x").await.unwrap();
    let res = timeout(DEADLINE, s.read(&mut [0u8; 16]))
        .await
        .expect("reset not passed on");
    assert_eq!(
        res.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "peer reset not passed on as a reset"
    );
    timeout(DEADLINE, answer).await.unwrap().unwrap();
    assert_eq!(proxy.stats().resets, 1);
    assert_eq!(proxy.stats().bytes_up, (3 * BLOCK + 7 + 1) as u64);
}

/// The path choice of `pipe.rs`: request/response messages through the copy buffer (a read
/// and a write each), bulk data by splice once a read fills the buffer.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_messages_are_copied_and_bulk_data_is_spliced() {
    use crate::support::round_trip;

    let echo = echo_server().await;
    let small = proxy(echo.addr).await;
    let mut s = connect(small.local_addr()).await;
    for _ in 0..200 {
        round_trip(&mut s, &[7u8; 100]).await;
    }
    let stats = small.stats();
    assert_eq!((stats.bytes_up, stats.bytes_down), (20_000, 20_000));
    assert_eq!(
        stats.bytes_spliced, 0,
        "small messages were spliced: {stats:?}"
    );

    const TOTAL: usize = 32 * 1024 * 1024;
    let (addr, task) = payload_server(TOTAL).await;
    let bulk = proxy(addr).await;
    let mut s = connect(bulk.local_addr()).await;
    let mut checker = Checker::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = read_chunk(&mut s, &mut buf).await;
        if n == 0 {
            break;
        }
        checker.feed(&buf[..n]);
    }
    assert_eq!(checker.finish(), TOTAL);
    let stats = bulk.stats();
    assert_eq!(stats.bytes_down, TOTAL as u64);
    // The first chunks are copied until one fills the buffer; after that, the kernel's pipe.
    assert!(
        stats.bytes_spliced >= TOTAL as u64 / 2,
        "bulk data was not spliced: {stats:?}"
    );
    task.abort();
}
