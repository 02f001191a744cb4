//! `--raw-samples FILE`: one CSV line per recorded request (`unix_us,endpoint,status,
//! latency_us`, like k6's `--out csv`), so runs of several generator processes can be checked
//! against, or recomputed from, their raw data.
//!
//! The hot path only formats nothing and sends a small struct into a bounded channel; a
//! dedicated thread formats and writes through a `BufWriter`. When the channel is full the
//! sender waits (counted as a stall): losing lines would make the file useless for exact
//! checks, and at the rates two cores produce the writer keeps up.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

use anyhow::Context;

/// Lines buffered between the generator and the writer thread.
const CHANNEL_LINES: usize = 65_536;

/// One request as it goes into the file.
pub struct RawLine {
    /// When it finished, unix µs.
    pub unix_us: u64,
    /// `METHOD /route`.
    pub endpoint: &'static str,
    /// HTTP status; 0 when no response came back.
    pub status: u16,
    /// Latency, µs.
    pub latency_us: u64,
}

/// The sending side, held by the recorder while the run records.
pub struct RawSamples {
    tx: SyncSender<RawLine>,
    stalls: AtomicU64,
}

/// The writer thread; [`RawWriter::finish`] flushes and reports how many lines were written.
pub struct RawWriter {
    path: PathBuf,
    thread: JoinHandle<std::io::Result<u64>>,
}

/// Creates `path` (truncating it) and starts the writer thread.
pub fn open(path: &Path) -> anyhow::Result<(RawSamples, RawWriter)> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let (tx, rx) = mpsc::sync_channel::<RawLine>(CHANNEL_LINES);
    let thread = std::thread::Builder::new()
        .name("raw-samples".to_owned())
        .spawn(move || {
            let mut out = BufWriter::with_capacity(1 << 20, file);
            out.write_all(b"unix_us,endpoint,status,latency_us\n")?;
            let mut lines = 0;
            for l in rx {
                // Endpoint names are `METHOD /route` (no commas or quotes); quoted anyway so
                // a CSV reader never splits one.
                writeln!(
                    out,
                    "{},\"{}\",{},{}",
                    l.unix_us, l.endpoint, l.status, l.latency_us
                )?;
                lines += 1;
            }
            out.flush()?;
            Ok(lines)
        })
        .context("starting the raw-samples writer")?;
    let samples = RawSamples {
        tx,
        stalls: AtomicU64::new(0),
    };
    Ok((
        samples,
        RawWriter {
            path: path.to_owned(),
            thread,
        },
    ))
}

impl RawSamples {
    /// Queues one line; waits only when the writer is a full channel behind.
    pub fn send(&self, line: RawLine) {
        match self.tx.try_send(line) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(line)) => {
                self.stalls.fetch_add(1, Ordering::Relaxed);
                let _ = self.tx.send(line);
            }
        }
    }

    /// Times the generator had to wait for the writer.
    pub fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
    }
}

impl RawWriter {
    /// Waits for the writer to drain the channel (all senders must be dropped first).
    pub fn finish(self) -> anyhow::Result<u64> {
        let path = self.path.display().to_string();
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the raw-samples writer for {path} panicked"))?
            .with_context(|| format!("writing {path}"))
    }
}
