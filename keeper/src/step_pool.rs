//! The bounded pool that runs agents' steps off the scan: one step per job at a time and at
//! most `capacity` at once, so an agent that times out, trickles bytes or answers garbage
//! delays only its own job, never the scan, the releases or the refunds of the others.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrail::state::Job;
use solana_sdk::pubkey::Pubkey;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Steps running (or queued for a slot) in the background.
pub struct StepPool {
    slots: Arc<Semaphore>,
    jobs: Arc<Mutex<Jobs>>,
    tasks: Mutex<JoinSet<()>>,
}

/// The jobs with a step running, and the latest state reported for some of them meanwhile.
#[derive(Default)]
struct Jobs {
    running: HashSet<Pubkey>,
    parked: HashMap<Pubkey, Job>,
}

/// Marks a job's step as running until finished or dropped, even if its task panics or is
/// aborted.
struct Running {
    jobs: Arc<Mutex<Jobs>>,
    job: Pubkey,
}

impl Running {
    /// The step is over: the job is no longer running; returns the state parked for it.
    fn finish(self) -> Option<Job> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.running.remove(&self.job);
        jobs.parked.remove(&self.job)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.running.remove(&self.job);
        jobs.parked.remove(&self.job);
    }
}

impl StepPool {
    /// A pool running at most `capacity` steps at once.
    pub fn new(capacity: usize) -> Self {
        StepPool {
            slots: Arc::new(Semaphore::new(capacity.max(1))),
            jobs: Arc::default(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Runs `work` for `job` in the background, unless a step of that job is already running
    /// or queued; returns whether it was started.
    pub fn spawn(&self, job: Pubkey, work: impl Future<Output = ()> + Send + 'static) -> bool {
        self.spawn_then(job, work, |_| {})
    }

    /// [`StepPool::spawn`], then `then` once the step is over and the job no longer running,
    /// with the latest state [`StepPool::park`]ed for the job meanwhile (if any): a change
    /// that arrived while the step ran is handled right after it, not at the next poll.
    pub fn spawn_then(
        &self,
        job: Pubkey,
        work: impl Future<Output = ()> + Send + 'static,
        then: impl FnOnce(Option<Job>) + Send + 'static,
    ) -> bool {
        if !self.jobs.lock().unwrap_or_else(|p| p.into_inner()).running.insert(job) {
            return false;
        }
        let guard = Running { jobs: self.jobs.clone(), job };
        let slots = self.slots.clone();
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // finished tasks are reaped here, so the set stays as small as what is running
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let Ok(slot) = slots.acquire_owned().await else { return };
            work.await;
            drop(slot);
            then(guard.finish());
        });
        true
    }

    /// Keeps `state`, the latest known state of `job`, for when its running step is over;
    /// returns `false` (nothing kept) when no step of `job` is running.
    pub fn park(&self, job: Pubkey, state: Job) -> bool {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if !jobs.running.contains(&job) {
            return false;
        }
        jobs.parked.insert(job, state);
        true
    }

    /// Jobs whose step is running or waiting for a slot.
    pub fn running(&self) -> usize {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).running.len()
    }

    /// Whether a step of `job` is running or waiting for a slot.
    pub fn is_running(&self, job: &Pubkey) -> bool {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).running.contains(job)
    }

    /// Waits up to `grace` for the running steps to finish, then aborts the rest (a step cut
    /// off is claimed again after its lease); returns how many were cut off.
    pub async fn drain(&self, grace: Duration) -> usize {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let finished = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if finished.is_ok() {
            return 0;
        }
        let left = tasks.len();
        tasks.shutdown().await;
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[tokio::test]
    async fn one_step_per_job_and_a_slow_one_blocks_nobody() {
        let pool = StepPool::new(4);
        let (slow, fast) = (Pubkey::new_unique(), Pubkey::new_unique());
        assert!(pool.spawn(slow, tokio::time::sleep(Duration::from_secs(30))));
        assert!(!pool.spawn(slow, async {}), "a second step of the same job waits for the first");
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let started = Instant::now();
        assert!(pool.spawn(fast, async move {
            d.fetch_add(1, Ordering::SeqCst);
        }));
        while done.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the fast job ran beside the slow one");
        assert!(pool.is_running(&slow) && !pool.is_running(&fast));
        assert!(pool.spawn(fast, async {}), "its next step may start once the first is done");
        assert_eq!(pool.drain(Duration::from_millis(50)).await, 1, "the slow step is cut off");
        assert_eq!(pool.running(), 0, "a cut-off step no longer counts as running");
    }

    #[tokio::test]
    async fn a_state_parked_during_a_step_is_handed_over_after_it() {
        let pool = StepPool::new(2);
        let (job, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        let state = agentrail_client::fixtures::funded_job(&[(1, false)]);
        assert!(!pool.park(job, state), "nothing running: nothing parked");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        assert!(pool.spawn_then(job, async move { wait.await.unwrap() }, move |parked| {
            tx.send(parked).unwrap();
        }));
        let mut newer = state;
        newer.released = 7;
        assert!(pool.park(job, state) && pool.park(job, newer));
        assert!(!pool.park(other, agentrail_client::fixtures::job(&[(1, false)])));
        go.send(()).unwrap();
        let handed = rx.await.unwrap().expect("the parked state");
        assert_eq!(handed.released, 7, "the latest one");
        assert!(!pool.is_running(&job), "no longer running when it is handed over");
    }

    #[tokio::test]
    async fn at_most_capacity_at_once() {
        let pool = StepPool::new(2);
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for _ in 0..6 {
            let (now, peak) = (now.clone(), peak.clone());
            pool.spawn(Pubkey::new_unique(), async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            });
        }
        assert_eq!(pool.drain(Duration::from_secs(5)).await, 0);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
