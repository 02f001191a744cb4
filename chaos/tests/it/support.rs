//! Test servers and client helpers. Every server binds 127.0.0.1:0; every wait has a deadline.

use gauntlet_chaos::FaultProxy;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Upper bound for any single wait in a test; generous for a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A server that runs until dropped (the accept task is aborted on drop).
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<F, Fut>(handler: F) -> Server
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
    Server { addr, task }
}

/// Echoes every byte back until the client closes.
pub async fn echo_server() -> Server {
    serve(|mut s| async move {
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    })
    .await
}

/// Sends one tag byte on connect, then echoes.
pub async fn tag_server(tag: u8) -> Server {
    serve(move |mut s| async move {
        if s.write_all(&[tag]).await.is_ok() {
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        }
    })
    .await
}

/// Writes `total` bytes of a known pattern as fast as the peer takes them, then closes.
pub async fn source_server(total: usize) -> Server {
    serve(move |mut s| async move {
        let block: Vec<u8> = (0..64 * 1024).map(pattern).collect();
        let mut left = total;
        while left > 0 {
            let n = left.min(block.len());
            if s.write_all(&block[..n]).await.is_err() {
                return;
            }
            left -= n;
        }
        let _ = s.shutdown().await;
    })
    .await
}

/// The byte at position `i` of the source pattern (position within a 64 KiB block).
pub fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// A proxy in front of `upstream` on an ephemeral port.
pub async fn proxy(upstream: SocketAddr) -> FaultProxy {
    FaultProxy::start("127.0.0.1:0".parse().unwrap(), upstream)
        .await
        .unwrap()
}

/// Connects with a deadline.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let s = timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    s.set_nodelay(true).unwrap();
    s
}

/// Sends `msg` and reads the same number of bytes back; returns the round-trip time.
pub async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Duration {
    let start = Instant::now();
    s.write_all(msg).await.unwrap();
    let mut back = vec![0u8; msg.len()];
    timeout(DEADLINE, s.read_exact(&mut back))
        .await
        .expect("echo timed out")
        .expect("echo failed");
    assert_eq!(back, msg, "echo returned different bytes");
    start.elapsed()
}

/// What reading a stream to its end looked like.
pub struct Drained {
    pub bytes: usize,
    pub reads: usize,
    pub elapsed: Duration,
    /// The error that ended the stream, if it did not end with EOF.
    pub error: Option<io::ErrorKind>,
}

/// Reads until EOF, an error, or `max` bytes; panics after [`DEADLINE`].
pub async fn drain(s: &mut TcpStream, max: usize) -> Drained {
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut reads, mut error) = (0, 0, None);
    while bytes < max {
        let want = buf.len().min(max - bytes);
        match timeout(DEADLINE, s.read(&mut buf[..want])).await {
            Err(_) => panic!("read timed out after {bytes} bytes"),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                bytes += n;
                reads += 1;
            }
            Ok(Err(e)) => {
                error = Some(e.kind());
                break;
            }
        }
    }
    Drained {
        bytes,
        reads,
        elapsed: start.elapsed(),
        error,
    }
}

/// Polls `cond` every 10 ms until it holds or [`DEADLINE`] passes.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
