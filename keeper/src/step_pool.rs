//! The bounded pool that runs agents' steps off the scan: one step per job at a time and at
//! most `capacity` at once, so an agent that times out, trickles bytes or answers garbage
//! delays only its own job, never the scan, the releases or the refunds of the others.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use solana_sdk::pubkey::Pubkey;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Steps running (or queued for a slot) in the background.
pub struct StepPool {
    slots: Arc<Semaphore>,
    running: Arc<Mutex<HashSet<Pubkey>>>,
    tasks: Mutex<JoinSet<()>>,
}

/// Marks a job's step as running until dropped, even if its task panics or is aborted.
struct Running {
    jobs: Arc<Mutex<HashSet<Pubkey>>>,
    job: Pubkey,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.job);
    }
}

impl StepPool {
    /// A pool running at most `capacity` steps at once.
    pub fn new(capacity: usize) -> Self {
        StepPool {
            slots: Arc::new(Semaphore::new(capacity.max(1))),
            running: Arc::default(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Runs `work` for `job` in the background, unless a step of that job is already running
    /// or queued; returns whether it was started.
    pub fn spawn(&self, job: Pubkey, work: impl Future<Output = ()> + Send + 'static) -> bool {
        if !self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(job) {
            return false;
        }
        let guard = Running { jobs: self.running.clone(), job };
        let slots = self.slots.clone();
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // finished tasks are reaped here, so the set stays as small as what is running
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let _guard = guard;
            let Ok(_slot) = slots.acquire_owned().await else { return };
            work.await;
        });
        true
    }

    /// Jobs whose step is running or waiting for a slot.
    pub fn running(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether a step of `job` is running or waiting for a slot.
    pub fn is_running(&self, job: &Pubkey) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).contains(job)
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
