//! Set-up announcements on the terminal: each step on a line of its own, the chatter inside a
//! step (apt, mmdebstrap, docker pull) on one live line that is cleared when the step ends.

use std::{
    io::IsTerminal,
    sync::{Arc, Mutex},
    time::Duration,
};

use gauntlet_testcontainers::{Observer, SetupObserver};
use indicatif::{ProgressBar, ProgressStyle};

/// The CLI's observer: a spinner line on a terminal, plain lines otherwise (CI logs keep all).
#[derive(Default)]
pub(crate) struct TerminalObserver {
    live: Mutex<Option<ProgressBar>>,
}

impl TerminalObserver {
    pub(crate) fn shared() -> Observer {
        Observer(Arc::new(Self::default()))
    }
}

impl SetupObserver for TerminalObserver {
    fn step(&self, line: &str) {
        if let Some(bar) = self.live.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
        eprintln!("gauntlet: {line}");
    }

    fn progress(&self, line: &str) {
        if !std::io::stderr().is_terminal() {
            eprintln!("gauntlet:   {line}");
            return;
        }
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let bar = live.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("gauntlet: {spinner} {elapsed} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(line.to_owned());
    }
}
