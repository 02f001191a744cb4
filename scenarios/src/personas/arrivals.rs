//! The open model on goose: a pre-allocated pool of goose users whose every action waits for
//! a start token that one scheduler hands out on the [`ArrivalPlan`]'s timetable.
//!
//! goose runs each user as a loop over its scenario's transactions; the least invasive place
//! to make that loop follow a schedule is the start of each transaction: [`gate`] (applied by
//! the personas' `transaction_with!`) waits there for a token. The scheduler
//! ([`Arrivals::drive`]) gives a token to a waiting user at each scheduled instant, whether or
//! not earlier iterations have returned; when no user waits (all busy) or the stage's
//! `max_users` are already busy, the iteration is dropped and counted, never queued — a
//! queue would hide the very wait the open model exists to measure (k6's
//! `dropped_iterations`).
//!
//! The token carries the instant the iteration was *scheduled* to start. The iteration's
//! first request measures its latency from there ([`take_intended_start`], used by
//! `call::send`): the time a user would have waited, including any time spent waiting for a
//! busy generator, which is what coordinated omission hides.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use goose::goose::TransactionResult;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::time::Instant;

use crate::spec::ArrivalPlan;

/// The schedule starts when the whole pool waits at the gate (logged in), or this long after
/// the first user does, whichever comes first: a user still logging in is not free.
pub const POOL_READY_WAIT: Duration = Duration::from_secs(2);

/// After the schedule ended, an action that finds no token waits this long before returning
/// to goose, which then sees its stop command instead of spinning through empty actions.
const IDLE_AFTER_END: Duration = Duration::from_millis(200);

tokio::task_local! {
    /// The scheduled start of the iteration this task is running, until its first request
    /// takes it.
    static INTENDED_START: Cell<Option<Instant>>;
}

/// The scheduled start of the current iteration, once: the first request of an iteration
/// measures from it, later ones from their own send.
pub fn take_intended_start() -> Option<Instant> {
    INTENDED_START.try_with(Cell::take).ok().flatten()
}

/// What the schedule did, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArrivalCounts {
    /// Iterations the schedule asked for so far.
    pub scheduled: u64,
    /// Of those, started by a user.
    pub started: u64,
    /// Of those, dropped: no user free, or the stage's `max_users` busy.
    pub dropped: u64,
}

/// The shared scheduler of one run's pool.
pub struct Arrivals {
    plan: ArrivalPlan,
    /// Users waiting at the gate (not yet handed a token).
    idle: AtomicUsize,
    /// Users that hold a token and have not returned to the gate.
    busy: AtomicUsize,
    /// First wait at the gate, so the schedule can start.
    first_wait: Notify,
    tx: std::sync::Mutex<Option<mpsc::UnboundedSender<Instant>>>,
    /// Tokio's mpsc has one receiver; waiting users take turns on it (tokio's mutex is fair,
    /// first come first served).
    rx: Mutex<mpsc::UnboundedReceiver<Instant>>,
    scheduled: AtomicU64,
    started: AtomicU64,
    dropped: AtomicU64,
}

impl Arrivals {
    /// A scheduler for `plan`; nothing happens until [`Arrivals::drive`] runs.
    pub fn new(plan: ArrivalPlan) -> Arrivals {
        let (tx, rx) = mpsc::unbounded_channel();
        Arrivals {
            plan,
            idle: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            first_wait: Notify::new(),
            tx: std::sync::Mutex::new(Some(tx)),
            rx: Mutex::new(rx),
            scheduled: AtomicU64::new(0),
            started: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// The plan being run.
    pub fn plan(&self) -> &ArrivalPlan {
        &self.plan
    }

    /// Counts so far.
    pub fn counts(&self) -> ArrivalCounts {
        ArrivalCounts {
            scheduled: self.scheduled.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// Runs the schedule to its end: waits for the pool (see [`POOL_READY_WAIT`]), then hands
    /// out a token at each scheduled instant or drops the iteration. Returns when the
    /// schedule is over (or `stop` resolves), after which waiting users are released.
    /// `on_start` is told when the schedule's offset 0 is (the stages' start in the report).
    pub async fn drive(&self, stop: impl Future<Output = ()>, on_start: impl FnOnce(SystemTime)) {
        tokio::pin!(stop);
        let pool = self.plan.pool() as usize;
        tokio::select! {
            () = &mut stop => { self.close(); return; }
            () = self.first_wait.notified() => {}
        }
        let ready_by = Instant::now() + POOL_READY_WAIT;
        while self.idle.load(Ordering::Acquire) < pool && Instant::now() < ready_by {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let start = Instant::now();
        on_start(SystemTime::now());
        for (stage, offset) in self.plan.offsets() {
            let at = start + offset;
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep_until(at) => {}
            }
            self.scheduled.fetch_add(1, Ordering::Relaxed);
            let ceiling = self.plan.stages[stage].max_users as usize;
            if self.busy.load(Ordering::Acquire) >= ceiling || !self.take_idle() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.busy.fetch_add(1, Ordering::AcqRel);
            self.started.fetch_add(1, Ordering::Relaxed);
            if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                let _ = tx.send(at);
            }
        }
        self.close();
    }

    /// Claims one waiting user, if any.
    fn take_idle(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The schedule is over: every waiting user (and every later one) gets no token.
    fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        // A user that has not waited yet must not keep `drive` waiting either.
        self.first_wait.notify_one();
    }

    /// Waits for this user's next token: the scheduled start, or `None` once the schedule
    /// is over.
    async fn next(&self) -> Option<Instant> {
        self.idle.fetch_add(1, Ordering::AcqRel);
        self.first_wait.notify_one();
        let token = self.rx.lock().await.recv().await;
        if token.is_none() {
            // Not claimed by the scheduler: leave the count as the scheduler saw it.
            let _ = self.take_idle();
        }
        token
    }

    /// The user's iteration is over; it will wait at the gate again.
    fn done(&self) {
        let _ = self
            .busy
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// Runs one persona action under the schedule: waits for a token, then runs `action` with the
/// token's scheduled start available to its first request. Without a schedule (closed model)
/// the action runs at once. After the schedule ended the action is skipped.
pub async fn gate<F>(arrivals: Option<&Arrivals>, action: F) -> TransactionResult
where
    F: Future<Output = TransactionResult>,
{
    let Some(arrivals) = arrivals else {
        return action.await;
    };
    let Some(intended) = arrivals.next().await else {
        tokio::time::sleep(IDLE_AFTER_END).await;
        return Ok(());
    };
    let out = INTENDED_START
        .scope(Cell::new(Some(intended)), action)
        .await;
    arrivals.done();
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::spec::ArrivalStage;

    fn plan(rate: f64, max_users: u32, secs: u64) -> ArrivalPlan {
        ArrivalPlan {
            stages: vec![ArrivalStage {
                start: Duration::ZERO,
                duration: Duration::from_secs(secs),
                from_rps: rate,
                to_rps: rate,
                max_users,
            }],
        }
    }

    /// `users` loops like goose users: wait at the gate, take `work` per iteration; returns
    /// how late each iteration's intended start was when its action began.
    async fn run(arrivals: Arc<Arrivals>, users: usize, work: Duration) -> Vec<Duration> {
        let late = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..users {
            let (arrivals, late) = (Arc::clone(&arrivals), Arc::clone(&late));
            tasks.push(tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    let late = Arc::clone(&late);
                    let r = gate(Some(&arrivals), async move {
                        let intended = take_intended_start().expect("a scheduled start");
                        late.lock().unwrap().push(intended.elapsed());
                        assert!(take_intended_start().is_none(), "taken once");
                        tokio::time::sleep(work).await;
                        Ok(())
                    });
                    r.await.unwrap();
                    if arrivals.tx.lock().unwrap().is_none() {
                        break;
                    }
                }
            }));
        }
        arrivals.drive(std::future::pending(), |_| {}).await;
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(late).unwrap().into_inner().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn iterations_start_on_schedule_and_are_dropped_when_no_user_is_free() {
        // 40/s for 1 s; 8 users each busy 20 ms keep up with every arrival.
        let free = Arc::new(Arrivals::new(plan(40.0, 8, 1)));
        let late = run(Arc::clone(&free), 8, Duration::from_millis(20)).await;
        let c = free.counts();
        assert_eq!((c.scheduled, c.started, c.dropped), (40, 40, 0));
        assert_eq!(late.len(), 40);
        // Two users busy 200 ms each cannot: about five of every six arrivals are dropped,
        // never queued (a queue would start them late and hide the wait).
        let busy = Arc::new(Arrivals::new(plan(40.0, 8, 1)));
        let late = run(Arc::clone(&busy), 2, Duration::from_millis(200)).await;
        let c = busy.counts();
        assert_eq!(c.scheduled, 40);
        assert_eq!(c.started + c.dropped, 40);
        assert!((8..=14).contains(&c.started), "{c:?}");
        assert!(
            late.iter().all(|l| *l < Duration::from_millis(100)),
            "a started iteration begins on time: {late:?}"
        );
        // The stage's ceiling holds even when the pool has more users.
        let capped = Arc::new(Arrivals::new(plan(40.0, 1, 1)));
        run(Arc::clone(&capped), 4, Duration::from_millis(200)).await;
        let c = capped.counts();
        assert!((4..=7).contains(&c.started), "one at a time: {c:?}");
    }
}
