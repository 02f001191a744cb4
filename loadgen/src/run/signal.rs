//! Ctrl-C for the whole run.
//!
//! goose installs a SIGINT handler with the `ctrlc` crate when an attack starts; a second
//! handler for the same signal (tokio's) would either be replaced by it or replace it. So the
//! run installs the one `ctrlc` handler first — goose's own attempt then fails harmlessly —
//! and forwards the interrupt to goose through its public killswitch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// Whether SIGINT arrived, and a way to wait for it.
#[derive(Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    changed: watch::Receiver<bool>,
}

impl Interrupt {
    /// Installs the process-wide handler once; later calls (the runs of `gauntlet baseline
    /// record`, the slices of `gauntlet ab`) share it. Without one (another handler was
    /// installed first), Ctrl-C keeps its default effect and the run says so in the log.
    pub fn install() -> Interrupt {
        static ONCE: std::sync::OnceLock<Interrupt> = std::sync::OnceLock::new();
        ONCE.get_or_init(Self::install_now).clone()
    }

    fn install_now() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, rx) = watch::channel(false);
        let handler_flag = Arc::clone(&flag);
        let installed = ctrlc::set_handler(move || {
            handler_flag.store(true, Ordering::SeqCst);
            goose::trigger_killswitch("SIGINT received");
            let _ = tx.send(true);
        });
        if let Err(e) = installed {
            tracing::warn!(error = %e, "could not install the Ctrl-C handler");
        }
        Interrupt { flag, changed: rx }
    }

    /// True once SIGINT arrived.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves when SIGINT arrives (at once if it already did).
    pub async fn wait(&self) {
        let mut rx = self.changed.clone();
        let _ = rx.wait_for(|set| *set).await;
    }

    /// While an attack runs: goose clears its killswitch when the attack starts, so an
    /// interrupt that raced with the start is re-asserted until goose sees it.
    pub async fn keep_goose_informed(&self) {
        self.wait().await;
        loop {
            goose::trigger_killswitch("SIGINT received");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
