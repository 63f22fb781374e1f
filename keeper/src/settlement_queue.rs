//! Settlement off the scan: the releases, dispute defaults and refunds a scan finds due are
//! queued here and sent by a bounded set of runners, owed pay first, so a scan never waits on a
//! confirmation and a burst of refunds (a thousand cheap jobs expiring in the same minute)
//! delays an honest release by at most one runner's send. One action per job at a time: a job
//! already queued or being settled is not queued again (its next scan sees the outcome).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use solana_sdk::pubkey::Pubkey;

/// What is sent first: lower first, then in the order queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Pay that is owed (a release after a silent review, a dispute's default rule).
    Owed,
    /// Money going back to a poster after a deadline.
    Refund,
}

type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The queue and its runners.
pub struct SettlementQueue {
    runners_max: usize,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Waiting, by (priority, arrival).
    queued: BTreeMap<(Priority, u64), (Pubkey, Work)>,
    /// Jobs queued or being settled.
    jobs: HashSet<Pubkey>,
    arrivals: u64,
    runners: usize,
}

impl SettlementQueue {
    /// A queue sending with at most `runners` at once and holding at most `capacity` waiting
    /// actions (past it an action waits for the next scan).
    pub fn new(runners: usize, capacity: usize) -> Arc<Self> {
        Arc::new(SettlementQueue { runners_max: runners.max(1), capacity, state: Mutex::default() })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `work`, settling `job`, at `priority`; `false` when `job` is already queued or
    /// being settled, or the queue is full (the next scan offers it again).
    pub fn submit(
        self: &Arc<Self>,
        job: Pubkey,
        priority: Priority,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> bool {
        let mut s = self.state();
        if s.jobs.contains(&job) || s.queued.len() >= self.capacity {
            return false;
        }
        s.jobs.insert(job);
        let arrival = s.arrivals;
        s.arrivals += 1;
        s.queued.insert((priority, arrival), (job, Box::pin(work)));
        if s.runners < self.runners_max {
            s.runners += 1;
            tokio::spawn(self.clone().run());
        }
        true
    }

    /// One runner: takes the most urgent waiting action until none is left.
    async fn run(self: Arc<Self>) {
        loop {
            let Some((job, work)) = ({
                let mut s = self.state();
                let next = s.queued.pop_first().map(|(_, entry)| entry);
                if next.is_none() {
                    s.runners -= 1;
                }
                next
            }) else {
                return;
            };
            // a panicking action must not take its runner (and the job's place) with it
            if AssertUnwindSafe(work).catch_unwind().await.is_err() {
                tracing::error!(%job, "a settlement panicked; the next scan offers it again");
            }
            self.state().jobs.remove(&job);
        }
    }

    /// Actions waiting or being sent.
    pub fn pending(&self) -> usize {
        self.state().jobs.len()
    }

    /// Whether `job` is queued or being settled.
    pub fn holds(&self, job: &Pubkey) -> bool {
        self.state().jobs.contains(job)
    }

    /// Waits up to `grace` for the queue to empty (what is cut off is persisted as intents,
    /// and reconciled at the next start); returns how many were left.
    pub async fn drain(&self, grace: Duration) -> usize {
        let until = tokio::time::Instant::now() + grace;
        loop {
            let left = self.pending();
            if left == 0 || tokio::time::Instant::now() >= until {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    #[tokio::test]
    async fn owed_pay_goes_before_a_burst_of_refunds_and_each_job_once() {
        let q = SettlementQueue::new(1, 10_000);
        let (order_tx, mut order) = mpsc::unbounded_channel::<(Pubkey, Priority)>();
        // the one runner is busy until released
        let (release, hold) = oneshot::channel::<()>();
        let first = Pubkey::new_unique();
        assert!(q.submit(first, Priority::Refund, async move {
            let _ = hold.await;
        }));
        let mut refunds = Vec::new();
        for _ in 0..1_000 {
            let (job, tx) = (Pubkey::new_unique(), order_tx.clone());
            refunds.push(job);
            assert!(q.submit(job, Priority::Refund, async move {
                let _ = tx.send((job, Priority::Refund));
            }));
        }
        let honest = Pubkey::new_unique();
        let tx = order_tx.clone();
        assert!(q.submit(honest, Priority::Owed, async move {
            let _ = tx.send((honest, Priority::Owed));
        }));
        assert!(!q.submit(honest, Priority::Owed, async {}), "a job already queued is not queued twice");
        assert_eq!(q.pending(), 1_002);
        release.send(()).unwrap();
        assert_eq!(order.recv().await, Some((honest, Priority::Owed)), "the owed release jumps the refunds");
        for job in refunds {
            assert_eq!(order.recv().await, Some((job, Priority::Refund)), "the rest in arrival order");
        }
        assert_eq!(q.drain(Duration::from_secs(5)).await, 0);
        assert!(q.submit(honest, Priority::Owed, async {}), "settled: it may be queued again");
    }

    #[tokio::test]
    async fn runners_are_bounded_and_a_panic_frees_its_job() {
        let q = SettlementQueue::new(3, 2);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut accepted = 0;
        for _ in 0..8 {
            let (running, most) = (running.clone(), most.clone());
            accepted += usize::from(q.submit(Pubkey::new_unique(), Priority::Refund, async move {
                let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        // two may wait; the runners take theirs as they start, so a few more get in
        assert!((2..8).contains(&accepted), "{accepted}");
        assert_eq!(q.drain(Duration::from_secs(5)).await, 0);
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 3);
        let job = Pubkey::new_unique();
        assert!(q.submit(job, Priority::Owed, async { panic!("boom") }));
        assert_eq!(q.drain(Duration::from_secs(5)).await, 0, "the panicked job is let go");
        assert!(q.submit(job, Priority::Owed, async {}));
    }
}
