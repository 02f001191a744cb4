//! Zero-copy forwarding for a direction that no toxic touches and that carries bulk data
//! (Linux only).
//!
//! The user-space path (`pipe.rs`) copies every byte out of the kernel and back in. While a
//! direction's plan is clear and its chunks fill the copy buffer, `splice(2)` instead moves page
//! references from the source socket into a kernel pipe and from the pipe into the destination
//! socket, so the proxy costs little more than the two TCP stacks it sits between. Small
//! request/response messages (what Postgres and Redis mostly exchange) stay on the copy path:
//! for them a splice saves no copying worth having and costs an extra syscall per message.
//!
//! Toxics still win. Every splice-in is bounded by the pipe's capacity (at most [`PIPE_SIZE`]),
//! the plan is re-checked before each one, and the wait for readable data also wakes on a
//! toxic-set change. When a toxic appears, whatever is already in the pipe is delivered first
//! (nothing is lost or reordered) and the direction hands over to the user-space loop with the
//! connection intact; once the toxics are gone again, `pipe.rs` comes back here.
//!
//! Readiness is tokio's: `readable()`/`writable()` wait, and the syscall runs inside `try_io`
//! so that `EAGAIN` clears exactly the readiness it belongs to. That is only sound because a
//! splice-in is issued on an *empty* pipe (its `EAGAIN` can then only mean "socket empty") and a
//! splice-out on a non-empty one (its `EAGAIN` can only mean "socket full").

use super::pipe::{Ended, Pipe, io_end};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
use nix::sys::socket::{setsockopt, sockopt};
use nix::unistd::pipe2;
use std::io;
use std::os::fd::OwnedFd;
use tokio::io::{AsyncWrite, Interest};
use tokio::net::TcpStream;

/// Pipe capacity asked for, and so the most bytes moved per splice-in. 256 KiB matches the
/// socket buffers below: a 1 MiB pipe measured no faster over loopback, and every pipe page
/// counts against the per-user quota (`pipe-user-pages-soft`, 64 MiB by default), over which
/// the kernel hands out tiny pipes.
const PIPE_SIZE: i32 = 256 * 1024;

/// Send and receive buffer size asked for on both of the proxy's sockets (the kernel doubles
/// it). Autotuned buffers grow to several MiB each, and with two hops that much data in flight
/// falls out of the CPU caches: over loopback the capped buffers made the client's and the
/// server's own copies about twice as fast (64 MiB bulk: ~90 ms → ~55 ms per transfer). The
/// cap still covers a 0.5 ms round trip at 500 MB/s, far beyond what the proxied databases
/// need.
const SOCKET_BUF: usize = 128 * 1024;

/// Below this capacity splicing needs more syscalls per byte than the 64 KiB user-space copy
/// (a user over its pipe-page quota only gets tiny pipes), so such a direction stays in user
/// space.
const MIN_PIPE_SIZE: usize = 64 * 1024;

/// A splice-in that moves less than this hands the direction back to the copy path: the
/// burst is over and the stream is back to small messages. Entering takes a full 64 KiB copy
/// buffer, leaving takes less than a page: the gap keeps a bulk stream that the proxy drains
/// faster than it fills from flapping between the two paths.
const SMALL_MESSAGE: usize = 4096;

/// Move page references instead of copying; never block on the pipe (the sockets are
/// non-blocking already, tokio set them up that way).
fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

/// Caps `stream`'s kernel buffers at [`SOCKET_BUF`]; a refusal only costs throughput.
pub(super) fn cap_socket_buffers(stream: &TcpStream) {
    for res in [
        setsockopt(stream, sockopt::RcvBuf, &SOCKET_BUF),
        setsockopt(stream, sockopt::SndBuf, &SOCKET_BUF),
    ] {
        if let Err(e) = res {
            tracing::debug!(error = %e, "could not size the socket buffers");
        }
    }
}

/// One direction's kernel pipe, opened the first time its plan is clear.
#[derive(Debug, Default)]
pub(super) enum Kernel {
    /// Not needed yet: connections that always carry toxics never pay for a pipe.
    #[default]
    Unopened,
    /// Open and empty (it is only ever non-empty inside [`Pipe::splice_clear`]).
    Open(KernelPipe),
    /// Ruled out for this direction: no usable pipe, or the kernel cannot splice these sockets.
    Off,
}

impl Kernel {
    /// False once splicing has been ruled out for this direction.
    pub(super) fn usable(&self) -> bool {
        !matches!(self, Kernel::Off)
    }

    /// Takes the pipe out (opening it on first use), leaving `Off` until it is put back.
    fn take(&mut self) -> Option<KernelPipe> {
        match std::mem::replace(self, Kernel::Off) {
            Kernel::Open(p) => Some(p),
            Kernel::Off => None,
            Kernel::Unopened => match KernelPipe::open() {
                Ok(p) if p.cap >= MIN_PIPE_SIZE => Some(p),
                Ok(p) => {
                    tracing::debug!(
                        capacity = p.cap,
                        "pipe too small for splice, copying instead"
                    );
                    None
                }
                Err(e) => {
                    // EMFILE and friends: the user-space path needs no extra descriptors.
                    tracing::debug!(error = %e, "no pipe for splice, copying instead");
                    None
                }
            },
        }
    }
}

/// Both ends of a non-blocking pipe plus what is in it.
#[derive(Debug)]
pub(super) struct KernelPipe {
    rd: OwnedFd,
    wr: OwnedFd,
    /// Capacity in bytes: the request size of each splice-in.
    cap: usize,
    /// Bytes spliced in and not yet out.
    len: usize,
}

impl KernelPipe {
    fn open() -> io::Result<KernelPipe> {
        let (rd, wr) = pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        // Refused above pipe-max-size or the per-user page quota: keep what the kernel gave.
        if let Err(e) = fcntl(&wr, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE)) {
            tracing::debug!(error = %e, "could not enlarge the splice pipe");
        }
        let cap = fcntl(&wr, FcntlArg::F_GETPIPE_SZ)?;
        Ok(KernelPipe {
            rd,
            wr,
            cap: usize::try_from(cap).unwrap_or(0),
            len: 0,
        })
    }
}

/// What one splice-in attempt produced.
enum Moved {
    /// This many bytes are now in the pipe; 0 is EOF.
    Bytes(usize),
    /// The toxic set changed while waiting: re-check the plan.
    Woken,
    /// The kernel cannot splice from this socket; nothing was moved.
    Unsupported,
}

impl Pipe<'_> {
    /// Forwards with splice(2) for as long as the plan stays clear.
    ///
    /// `Ok` hands the direction back to the user-space loop with the pipe empty (a toxic
    /// appeared, or splicing is unavailable); `Err` ends the direction exactly as the user-space
    /// loop would, including `Eof` after the half-close was passed on.
    pub(super) async fn splice_clear<R, W>(&mut self, reader: &R, w: &mut W) -> Result<(), Ended>
    where
        R: AsRef<TcpStream>,
        W: AsyncWrite + AsRef<TcpStream> + Unpin,
    {
        let Some(mut kp) = self.kernel.take() else {
            return Ok(());
        };
        loop {
            // One lock-free load and a version compare: a toxic added since the last chunk
            // is noticed before the next one is taken in.
            self.check()?;
            if !self.state.plan.is_clear() {
                break;
            }
            match self.splice_in(reader.as_ref(), &kp).await? {
                Moved::Bytes(0) => {
                    self.kernel = Kernel::Open(kp);
                    let (Ok(ended) | Err(ended)) = self.close_write(w).await;
                    return Err(ended);
                }
                Moved::Bytes(n) => {
                    kp.len = n;
                    self.splice_out(w.as_ref(), &mut kp).await?;
                    if n < SMALL_MESSAGE {
                        // Waiting for the next message is cheaper on the copy path: its short
                        // read clears readiness, where a splice-in needs an `EAGAIN` call.
                        self.bulk = false;
                        break;
                    }
                }
                Moved::Woken => {}
                Moved::Unsupported => return Ok(()),
            }
        }
        self.kernel = Kernel::Open(kp);
        Ok(())
    }

    /// Splices up to the pipe's capacity from `src` into the (empty) pipe, waiting for data.
    async fn splice_in(&mut self, src: &TcpStream, kp: &KernelPipe) -> Result<Moved, Ended> {
        loop {
            let res = src.try_io(Interest::READABLE, || {
                splice(src, None, &kp.wr, None, kp.cap, flags()).map_err(io::Error::from)
            });
            match res {
                Ok(n) => return Ok(Moved::Bytes(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if unsupported(&e) => {
                    tracing::debug!(error = %e, "splice refused, copying instead");
                    return Ok(Moved::Unsupported);
                }
                Err(e) => return Err(io_end(self.dir, "splice in", &e)),
            }
            tokio::select! {
                biased;
                r = self.changes.changed() => {
                    // The sender only goes away with the proxy: treat it like a shutdown.
                    if r.is_err() { return Err(Ended::Close); }
                    return Ok(Moved::Woken);
                }
                r = src.readable() => r.map_err(|e| io_end(self.dir, "readable", &e))?,
            }
        }
    }

    /// Delivers everything in the pipe to `dst`, counting bytes as they go out. A toxic added
    /// meanwhile waits until the pipe is empty (order is kept); `down`/shutdown does not.
    async fn splice_out(&mut self, dst: &TcpStream, kp: &mut KernelPipe) -> Result<(), Ended> {
        while kp.len > 0 {
            let res = dst.try_io(Interest::WRITABLE, || {
                splice(&kp.rd, None, dst, None, kp.len, flags()).map_err(io::Error::from)
            });
            match res {
                Ok(0) => return Err(Ended::Close),
                Ok(n) => {
                    kp.len -= n;
                    self.count_spliced(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tokio::select! {
                        biased;
                        r = dst.writable() => r.map_err(|e| io_end(self.dir, "writable", &e))?,
                        r = self.changes.changed() => {
                            if r.is_err() { return Err(Ended::Close); }
                            self.check()?;
                        }
                    }
                }
                Err(e) => return Err(io_end(self.dir, "splice out", &e)),
            }
        }
        Ok(())
    }
}

/// Errors meaning "this kernel or socket cannot splice", as opposed to a connection failure.
fn unsupported(e: &io::Error) -> bool {
    let raw = e.raw_os_error().map(Errno::from_raw);
    matches!(raw, Some(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP))
}
