//! The in-process TCP fault proxy.
//!
//! A [`FaultProxy`] listens on a stable local address and forwards every connection to an
//! upstream address that can be changed at any time (a restarted dependency may come back on
//! another port). Toxics are added and removed while traffic flows; live connections pick the
//! change up at their next chunk or wait (see `pipe.rs`). On Linux, a direction without toxics
//! forwards with zero-copy `splice(2)` (see `splice.rs`).
//!
//! Control flow: the accept loop owns the listener and the connection tasks; `down` and
//! shutdown go through it so that the listener can be closed (connections are *refused*, not
//! accepted-and-dropped) and reopened on the same address.

mod pipe;
#[cfg(target_os = "linux")]
mod splice;
mod toxics;

pub use toxics::ToxicId;

use crate::fault::{Direction, FaultError, Toxic};
use arc_swap::ArcSwap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use toxics::{ActiveToxic, Snapshot};

/// Errors from controlling a [`FaultProxy`].
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listen address could not be bound (at start, or when coming back up from `down`).
    #[error("could not bind the proxy listener on {addr}")]
    Bind {
        /// The address that was tried.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `add_toxic` with a name that is already in use.
    #[error("a toxic named `{0}` already exists on this proxy")]
    DuplicateToxic(String),
    /// `remove_toxic` with a name that is not installed.
    #[error("no toxic named `{0}` on this proxy")]
    UnknownToxic(String),
    /// The toxic's attributes are out of range.
    #[error("invalid toxic")]
    InvalidToxic(#[from] FaultError),
    /// The proxy's accept loop is gone (shut down, or its runtime stopped).
    #[error("the proxy has shut down")]
    Closed,
}

/// A point-in-time copy of the proxy's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyStats {
    /// Client connections accepted since start.
    pub accepted: u64,
    /// Client connections currently open.
    pub active: u64,
    /// Bytes forwarded client → upstream.
    pub bytes_up: u64,
    /// Bytes forwarded upstream → client.
    pub bytes_down: u64,
    /// Of `bytes_up + bytes_down`, those moved with `splice(2)` (bulk data in a direction
    /// without toxics, Linux only); the rest went through the copy buffer.
    pub bytes_spliced: u64,
    /// Connections ended with an RST (reset_peer, or a peer reset passed on).
    pub resets: u64,
    /// Accepted connections dropped because the upstream could not be reached.
    pub upstream_failures: u64,
}

/// Live counters, updated with relaxed atomics (they are statistics, not synchronisation).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    active: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    pub(crate) bytes_spliced: AtomicU64,
    pub(crate) resets: AtomicU64,
    upstream_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn add_bytes(&self, dir: Direction, n: u64) {
        let counter = match dir {
            Direction::Upstream => &self.bytes_up,
            Direction::Downstream => &self.bytes_down,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// State shared by the handle, the accept loop and every connection.
pub(crate) struct Shared {
    /// The current toxic set; loaded lock-free on the copy path.
    pub(crate) state: ArcSwap<Snapshot>,
    /// Carries the snapshot version so waiting pipes wake up when it changes.
    pub(crate) changed: watch::Sender<u64>,
    /// Serialises writers so read-modify-write of the snapshot never loses an update.
    write_lock: Mutex<()>,
    /// Where new connections go. Read once per accepted connection.
    upstream: Mutex<SocketAddr>,
    next_id: AtomicU64,
    pub(crate) stats: Counters,
}

impl Shared {
    /// Applies `edit` to a copy of the snapshot and publishes it if `edit` succeeds.
    fn publish<T>(
        &self,
        edit: impl FnOnce(&mut Snapshot) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        let _writer = lock(&self.write_lock);
        let mut next = Snapshot::clone(&self.state.load());
        let out = edit(&mut next)?;
        next.version += 1;
        let version = next.version;
        self.state.store(Arc::new(next));
        self.changed.send_replace(version);
        Ok(out)
    }

    fn mark(&self, down: Option<bool>, closing: bool) {
        let _ = self.publish(|s| {
            if let Some(d) = down {
                s.down = d;
            }
            s.closing |= closing;
            Ok(())
        });
    }
}

/// Locks a mutex, ignoring poisoning: the guarded data stays consistent because every critical
/// section here is a plain assignment or a copy.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Control {
    SetDown {
        down: bool,
        ack: oneshot::Sender<Result<(), ProxyError>>,
    },
}

/// A TCP proxy with injectable faults. Dropping it stops it too; [`FaultProxy::shutdown`]
/// additionally waits until every connection task has finished.
pub struct FaultProxy {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    /// Dropping the sender is the shutdown signal for the accept loop.
    control: Option<mpsc::Sender<Control>>,
    task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Binds `listen` (use `127.0.0.1:0` for an ephemeral port) and forwards to `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> Result<FaultProxy, ProxyError> {
        let bind_err = |source| ProxyError::Bind {
            addr: listen,
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared {
            state: ArcSwap::from_pointee(Snapshot::default()),
            changed: watch::Sender::new(0),
            write_lock: Mutex::new(()),
            upstream: Mutex::new(upstream),
            next_id: AtomicU64::new(1),
            stats: Counters::default(),
        });
        let (control, rx) = mpsc::channel(8);
        let task = tokio::spawn(accept_loop(shared.clone(), listener, local_addr, rx));
        tracing::debug!(%local_addr, %upstream, "fault proxy started");
        Ok(FaultProxy {
            shared,
            local_addr,
            control: Some(control),
            task: Some(task),
        })
    }

    /// The address clients connect to; it never changes, even across `down`.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address new connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        *lock(&self.shared.upstream)
    }

    /// Re-points new connections to `addr`; existing connections keep their upstream.
    pub fn set_upstream(&self, addr: SocketAddr) {
        *lock(&self.shared.upstream) = addr;
        tracing::debug!(proxy = %self.local_addr, upstream = %addr, "upstream re-pointed");
    }

    /// Installs `toxic` under `name`; it applies to new and existing connections.
    pub fn add_toxic(&self, name: &str, toxic: Toxic) -> Result<ToxicId, ProxyError> {
        toxic.validate()?;
        let id = self.shared.publish(|s| {
            if s.toxics.iter().any(|t| t.name == name) {
                return Err(ProxyError::DuplicateToxic(name.to_owned()));
            }
            let id = ToxicId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
            s.toxics.push(ActiveToxic {
                id,
                name: name.to_owned(),
                toxic: toxic.clone(),
            });
            Ok(id)
        })?;
        tracing::info!(proxy = %self.local_addr, name, kind = toxic.kind.type_name(), "toxic added");
        Ok(id)
    }

    /// Removes the toxic called `name` and returns it.
    pub fn remove_toxic(&self, name: &str) -> Result<Toxic, ProxyError> {
        let removed = self.shared.publish(|s| {
            let pos = s.toxics.iter().position(|t| t.name == name);
            let pos = pos.ok_or_else(|| ProxyError::UnknownToxic(name.to_owned()))?;
            Ok(s.toxics.remove(pos).toxic)
        })?;
        tracing::info!(proxy = %self.local_addr, name, "toxic removed");
        Ok(removed)
    }

    /// Removes every toxic (does not change `down`).
    pub fn clear(&self) {
        let _ = self.shared.publish(|s| {
            s.toxics.clear();
            Ok(())
        });
    }

    /// The installed toxics, in insertion order.
    pub fn toxics(&self) -> Vec<(String, Toxic)> {
        let snap = self.shared.state.load();
        snap.toxics
            .iter()
            .map(|t| (t.name.clone(), t.toxic.clone()))
            .collect()
    }

    /// True while the proxy is down.
    pub fn is_down(&self) -> bool {
        self.shared.state.load().down
    }

    /// `true`: close the listener (new connections are refused) and cut existing connections.
    /// `false`: listen again on the same address. Returns once the change is in effect.
    pub async fn set_down(&self, down: bool) -> Result<(), ProxyError> {
        let control = self.control.as_ref().ok_or(ProxyError::Closed)?;
        let (ack, done) = oneshot::channel();
        control
            .send(Control::SetDown { down, ack })
            .await
            .map_err(|_| ProxyError::Closed)?;
        done.await.map_err(|_| ProxyError::Closed)?
    }

    /// A copy of the counters.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProxyStats {
            accepted: get(&c.accepted),
            active: get(&c.active),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
            bytes_spliced: get(&c.bytes_spliced),
            resets: get(&c.resets),
            upstream_failures: get(&c.upstream_failures),
        }
    }

    /// Stops accepting, closes every connection and waits for all proxy tasks to finish.
    pub async fn shutdown(mut self) {
        self.shared.mark(None, true);
        self.control = None;
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "fault proxy accept loop ended abnormally");
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Without this, connection tasks would outlive the handle until their peers hung up.
        self.shared.mark(None, true);
    }
}

/// Accepts connections and executes control messages until the handle is dropped.
async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
    mut control: mpsc::Receiver<Control>,
) {
    let mut listener = Some(listener);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            msg = control.recv() => match msg {
                None => break,
                Some(Control::SetDown { down, ack }) => {
                    let _ = ack.send(apply_down(&shared, &mut listener, addr, down).await);
                }
            },
            res = accept_or_never(listener.as_ref()) => match res {
                Ok((stream, _peer)) => drop(conns.spawn(connection(stream, shared.clone()))),
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning on the error.
                    tracing::warn!(error = %e, "fault proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next() => {}
        }
    }
    drop(listener);
    shared.mark(None, true);
    while conns.join_next().await.is_some() {}
    tracing::debug!(%addr, "fault proxy stopped");
}

async fn accept_or_never(l: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Closes or reopens the listener and publishes the new `down` flag.
async fn apply_down(
    shared: &Shared,
    listener: &mut Option<TcpListener>,
    addr: SocketAddr,
    down: bool,
) -> Result<(), ProxyError> {
    if down {
        *listener = None;
    } else if listener.is_none() {
        // tokio sets SO_REUSEADDR, so connections left in TIME_WAIT do not block the rebind.
        let l = TcpListener::bind(addr)
            .await
            .map_err(|source| ProxyError::Bind { addr, source })?;
        *listener = Some(l);
    }
    shared.mark(Some(down), false);
    tracing::info!(proxy = %addr, down, "proxy down state changed");
    Ok(())
}

/// Decrements the active-connection gauge however the connection task ends.
struct ActiveGuard<'a>(&'a Counters);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Connects one accepted client to the current upstream and runs the pipe.
async fn connection(client: TcpStream, shared: Arc<Shared>) {
    shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
    shared.stats.active.fetch_add(1, Ordering::Relaxed);
    let _active = ActiveGuard(&shared.stats);
    let upstream_addr = *lock(&shared.upstream);
    let mut changes = shared.changed.subscribe();
    // A frozen upstream can leave connect() pending for long; `down`/shutdown must still win.
    let upstream = tokio::select! {
        r = TcpStream::connect(upstream_addr) => r,
        () = cut_signal(&shared, &mut changes) => return,
    };
    let upstream = match upstream {
        Ok(s) => s,
        Err(e) => {
            shared
                .stats
                .upstream_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(upstream = %upstream_addr, error = %e, "upstream connect failed");
            return;
        }
    };
    // Small request/response messages (Postgres, Redis) must not wait for Nagle.
    for s in [&client, &upstream] {
        if let Err(e) = s.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    }
    #[cfg(target_os = "linux")]
    for s in [&client, &upstream] {
        splice::cap_socket_buffers(s);
    }
    pipe::serve(client, upstream, shared.clone()).await;
}

/// Resolves once the proxy is down or closing.
async fn cut_signal(shared: &Shared, changes: &mut watch::Receiver<u64>) {
    loop {
        let snap = shared.state.load();
        if snap.down || snap.closing {
            return;
        }
        drop(snap);
        if changes.changed().await.is_err() {
            return;
        }
    }
}
