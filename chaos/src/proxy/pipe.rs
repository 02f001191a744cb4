//! One proxied connection: two directions, each a read → toxics → write loop.
//!
//! Both directions run in the connection's single task (like `copy_bidirectional`), and each
//! consults the current toxic snapshot once per chunk. A chunk without toxics is one read and
//! one write of up to [`BUF_SIZE`] bytes through a buffer allocated once per direction. On
//! Linux a direction with no toxic whose reads fill that buffer (bulk data) skips user space
//! altogether (`splice.rs`) and comes back here when a toxic appears or the burst ends. Every
//! wait (read, latency, pacing, hold) also listens for a toxic-set change, so adding or
//! removing a toxic takes effect on live connections.

use super::Shared;
#[cfg(target_os = "linux")]
use super::splice::Kernel;
use super::toxics::DirState;
use crate::fault::Direction;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

/// Per-direction buffer. Large reads amortise the per-chunk snapshot check and syscalls; 64 KiB
/// matches the default loopback socket buffer scale without costing much per idle connection.
const BUF_SIZE: usize = 64 * 1024;

/// How a direction stopped.
#[derive(Debug)]
pub(super) enum Ended {
    /// The reader hit EOF and the close was passed on; the other direction may continue.
    Eof,
    /// End the whole connection with FIN (timeout, limit_data, down, shutdown, errors).
    Close,
    /// End the whole connection with RST on both sides (reset_peer, or a peer that reset).
    Reset,
}

/// Proxies `client` to `upstream` until both directions are done or a toxic ends it.
pub(crate) async fn serve(client: TcpStream, upstream: TcpStream, shared: Arc<Shared>) {
    let mut client = client;
    let mut upstream = upstream;
    let ended = {
        let (client_r, client_w) = client.split();
        let (up_r, up_w) = upstream.split();
        let up = pin!(Pipe::new(&shared, Direction::Upstream).run(client_r, up_w));
        let down = pin!(Pipe::new(&shared, Direction::Downstream).run(up_r, client_w));
        both(up, down).await
    };
    if matches!(ended, Ended::Reset) {
        shared.stats.resets.fetch_add(1, Ordering::Relaxed);
        // Zero linger turns the close below into an RST: the peer sees ECONNRESET.
        for stream in [&client, &upstream] {
            if let Err(e) = stream.set_zero_linger() {
                tracing::debug!(error = %e, "could not set SO_LINGER 0");
            }
        }
    }
    // Dropping both streams closes them (FIN, or RST after zero linger).
}

/// Runs both directions; returns as soon as one ends the connection, or when both hit EOF.
async fn both(
    mut up: std::pin::Pin<&mut impl Future<Output = Ended>>,
    mut down: std::pin::Pin<&mut impl Future<Output = Ended>>,
) -> Ended {
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        let ended = tokio::select! {
            e = &mut up, if !up_done => { up_done = true; e }
            e = &mut down, if !down_done => { down_done = true; e }
        };
        if !matches!(ended, Ended::Eof) {
            return ended;
        }
    }
    Ended::Eof
}

/// One direction of one connection.
pub(super) struct Pipe<'a> {
    shared: &'a Shared,
    pub(super) dir: Direction,
    pub(super) state: DirState,
    pub(super) changes: watch::Receiver<u64>,
    /// Bytes forwarded so far (origin of `limit_data`).
    bytes: u64,
    /// Earliest instant the next paced piece may go out (bandwidth).
    next_send: Instant,
    /// The zero-copy path's pipe, used while no toxic applies and the data comes in bulk.
    #[cfg(target_os = "linux")]
    pub(super) kernel: Kernel,
    /// Set by a read that filled the copy buffer (more is probably waiting, so splicing pays),
    /// cleared by a small read or a small splice-in (`splice.rs`). Small request/response
    /// messages stay on the copy path, where a read, a write and no wasted `EAGAIN` call carry
    /// each one.
    #[cfg(target_os = "linux")]
    pub(super) bulk: bool,
}

impl<'a> Pipe<'a> {
    fn new(shared: &'a Shared, dir: Direction) -> Self {
        // Subscribe before the first snapshot load so no publish can slip between the two.
        let changes = shared.changed.subscribe();
        let mut state = DirState::new(dir);
        state.refresh(&shared.state.load(), 0);
        Self {
            shared,
            dir,
            state,
            changes,
            bytes: 0,
            next_send: Instant::now(),
            #[cfg(target_os = "linux")]
            kernel: Kernel::default(),
            #[cfg(target_os = "linux")]
            bulk: false,
        }
    }

    /// Records `n` bytes delivered to the destination (both paths count only what was written).
    pub(super) fn count(&mut self, n: usize) {
        self.bytes += n as u64;
        self.shared.stats.add_bytes(self.dir, n as u64);
    }

    /// [`Pipe::count`] for bytes that went out by splice.
    #[cfg(target_os = "linux")]
    pub(super) fn count_spliced(&mut self, n: usize) {
        self.count(n);
        let spliced = &self.shared.stats.bytes_spliced;
        spliced.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Re-reads the snapshot and says whether the connection must end now.
    pub(super) fn check(&mut self) -> Result<(), Ended> {
        self.state.refresh(&self.shared.state.load(), self.bytes);
        let plan = &self.state.plan;
        let now = Instant::now();
        if plan.cut {
            return Err(Ended::Close);
        }
        if plan.reset_at.is_some_and(|t| t <= now) {
            return Err(Ended::Reset);
        }
        if plan.hold.flatten().is_some_and(|t| t <= now) {
            return Err(Ended::Close);
        }
        if plan.limit_at.is_some_and(|l| self.bytes >= l) {
            return Err(Ended::Close);
        }
        Ok(())
    }

    /// Sleeps until `until` (or forever), waking early on a toxic change or a plan deadline;
    /// the caller re-evaluates afterwards.
    async fn wait(&mut self, until: Option<Instant>) -> Result<(), Ended> {
        let deadline = match (until, self.state.plan.timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            r = self.changes.changed() => {
                // The sender only goes away with the proxy: treat it like a shutdown.
                if r.is_err() { return Err(Ended::Close); }
            }
            () = sleep_or_never(deadline) => {}
        }
        self.check()
    }

    async fn run<R, W>(mut self, mut reader: R, mut writer: W) -> Ended
    where
        R: AsyncRead + AsRef<TcpStream> + Unpin,
        W: AsyncWrite + AsRef<TcpStream> + Unpin,
    {
        // Allocated by `pump` on the first read: a direction that never carries data (a
        // connection cut before its first message) never pays for it.
        let mut buf = Vec::new();
        match self.pump(&mut reader, &mut writer, &mut buf).await {
            Ok(ended) | Err(ended) => ended,
        }
    }

    /// The copy loop; `Err` carries an early end decided by a toxic.
    async fn pump<R, W>(
        &mut self,
        reader: &mut R,
        w: &mut W,
        buf: &mut Vec<u8>,
    ) -> Result<Ended, Ended>
    where
        R: AsyncRead + AsRef<TcpStream> + Unpin,
        W: AsyncWrite + AsRef<TcpStream> + Unpin,
    {
        loop {
            self.check()?;
            #[cfg(target_os = "linux")]
            if self.bulk && self.state.plan.is_clear() && self.kernel.usable() {
                // No toxic on this direction and data in bulk: forward in the kernel until a
                // toxic appears or the stream goes back to small messages.
                self.splice_clear(reader, w).await?;
                continue;
            }
            if self.state.plan.hold.is_some() {
                // timeout toxic: leave the data in the kernel buffers until removal/deadline.
                self.wait(None).await?;
                continue;
            }
            if buf.is_empty() {
                buf.resize(BUF_SIZE, 0);
            }
            let timer = self.state.plan.timer();
            let n = tokio::select! {
                biased;
                r = self.changes.changed() => {
                    if r.is_err() { return Err(Ended::Close); }
                    continue;
                }
                () = sleep_or_never(timer) => continue,
                res = reader.read(buf) => res.map_err(|e| io_end(self.dir, "read", &e))?,
            };
            if n == 0 {
                return self.close_write(w).await;
            }
            #[cfg(target_os = "linux")]
            {
                self.bulk = n == buf.len();
            }
            let read_at = Instant::now();
            let allowed = self
                .state
                .plan
                .limit_at
                .map_or(n as u64, |l| l.saturating_sub(self.bytes).min(n as u64));
            // allowed <= n, so the cast back to usize cannot truncate.
            let chunk = &buf[..allowed as usize];
            self.delay(read_at).await?;
            self.deliver(w, chunk).await?;
        }
    }

    /// Applies latency to a chunk read at `read_at`; re-planned if the toxics change meanwhile.
    async fn delay(&mut self, read_at: Instant) -> Result<(), Ended> {
        let mut sample = self.state.plan.sample_latency();
        while let Some(latency) = sample {
            let due = read_at + latency;
            if Instant::now() >= due {
                break;
            }
            let version = self.changes.borrow().to_owned();
            self.wait(Some(due)).await?;
            if *self.changes.borrow() != version {
                sample = self.state.plan.sample_latency();
            }
        }
        Ok(())
    }

    /// Writes `chunk`, paced into pieces when a bandwidth or slicer toxic applies.
    async fn deliver<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        chunk: &[u8],
    ) -> Result<(), Ended> {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.state.plan.bandwidth.is_some() && Instant::now() < self.next_send {
                self.wait(Some(self.next_send)).await?;
                continue;
            }
            let len = self.state.plan.piece_len(rest.len());
            let started = Instant::now();
            self.write(w, &rest[..len]).await?;
            rest = &rest[len..];
            if let Some(rate) = self.state.plan.bandwidth {
                let secs = len as f64 / rate as f64;
                self.next_send =
                    self.next_send.max(started) + std::time::Duration::from_secs_f64(secs);
            }
            if let Some(slice) = self
                .state
                .plan
                .slicer
                .filter(|s| !s.delay.is_zero() && !rest.is_empty())
            {
                let until = Instant::now() + slice.delay;
                while Instant::now() < until && self.state.plan.slicer.is_some() {
                    self.wait(Some(until)).await?;
                }
            }
            if !self.state.plan.paces() && !rest.is_empty() {
                // Pacing was removed mid-chunk: flush the remainder in one go.
                self.write(w, rest).await?;
                rest = &[];
            }
        }
        self.check()
    }

    /// Writes all of `data`, staying responsive to `down`/shutdown while the peer is slow.
    async fn write<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        mut data: &[u8],
    ) -> Result<(), Ended> {
        while !data.is_empty() {
            let n = tokio::select! {
                biased;
                res = w.write(data) => res.map_err(|e| io_end(self.dir, "write", &e))?,
                r = self.changes.changed() => {
                    if r.is_err() { return Err(Ended::Close); }
                    self.check()?;
                    continue;
                }
            };
            if n == 0 {
                return Err(Ended::Close);
            }
            data = &data[n..];
            self.count(n);
        }
        Ok(())
    }

    /// Passes EOF on, after the slow_close delay if one applies.
    pub(super) async fn close_write<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
    ) -> Result<Ended, Ended> {
        let until = Instant::now() + self.state.plan.slow_close;
        while Instant::now() < until {
            self.wait(Some(until)).await?;
            // A removed slow_close releases the close at once.
            if self.state.plan.slow_close.is_zero() {
                break;
            }
        }
        w.shutdown()
            .await
            .map_err(|e| io_end(self.dir, "shutdown", &e))?;
        Ok(Ended::Eof)
    }
}

/// Sleeps until `t`, or forever when there is no deadline.
async fn sleep_or_never(t: Option<Instant>) {
    match t {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Maps an I/O error to how the connection ends: a reset from one peer is passed on as a reset.
pub(super) fn io_end(dir: Direction, op: &'static str, e: &io::Error) -> Ended {
    tracing::debug!(?dir, op, error = %e, "proxied connection I/O error");
    match e.kind() {
        io::ErrorKind::ConnectionReset => Ended::Reset,
        _ => Ended::Close,
    }
}
