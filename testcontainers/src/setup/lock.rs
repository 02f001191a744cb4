//! A machine-wide turn for set-up work: test binaries run in parallel, and each may find the
//! image missing at the same moment. One builds; the others wait, say so, and then find it.

use std::{
    fs::{File, TryLockError},
    path::PathBuf,
    time::{Duration, Instant},
};

use crate::setup::seconds;

/// How long a waiter waits for another process's set-up: an image build on a slow mirror takes
/// minutes, and a holder that died releases its lock at once (the kernel drops it), so a long
/// wait means real work is under way.
const WAIT_AT_MOST: Duration = Duration::from_secs(20 * 60);
const POLL: Duration = Duration::from_millis(250);

/// Held while this process does the set-up named when it was acquired; released on drop.
#[derive(Debug)]
pub(crate) struct HostLock {
    _file: File,
}

impl HostLock {
    /// Takes the lock named `name` (a file in the temp dir), waiting for its holder if needed.
    pub(crate) async fn acquire(
        name: &str,
        doing: &str,
        announce: &(dyn Fn(&str) + Sync),
    ) -> Result<Self, String> {
        let path = lock_path(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("opening the lock {}: {e}", path.display()))?;
        let started = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    if announced {
                        announce(&format!(
                            "lock {} free after {}",
                            path.display(),
                            seconds(started.elapsed())
                        ));
                    }
                    return Ok(Self { _file: file });
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => {
                    return Err(format!("locking {}: {e}", path.display()));
                }
            }
            if !announced {
                announce(&format!(
                    "another process is {doing}; waiting for it (lock {})",
                    path.display()
                ));
                announced = true;
            }
            if started.elapsed() > WAIT_AT_MOST {
                return Err(format!(
                    "another process held {} for more than {}",
                    path.display(),
                    seconds(WAIT_AT_MOST)
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn lock_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gauntlet-{name}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let observer = crate::setup::Observer::default();
        let name = format!("unit-{}", std::process::id());
        let first = HostLock::acquire(&name, "testing", &|l| observer.step(l))
            .await
            .unwrap();
        let waiter = tokio::spawn({
            let observer = observer.clone();
            let name = name.clone();
            async move {
                let started = Instant::now();
                let _second = HostLock::acquire(&name, "testing", &|l| observer.step(l))
                    .await
                    .unwrap();
                started.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(
            !waiter.is_finished(),
            "the second holder got the lock while the first held it"
        );
        drop(first);
        let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter got the lock once it was free")
            .unwrap();
        assert!(
            waited >= Duration::from_millis(500),
            "waited only {waited:?}"
        );
        let _ = std::fs::remove_file(lock_path(&name));
    }
}
