//! The bounded pool that runs agents' steps off the scan: one step per job at a time and at
//! most `capacity` at once, so an agent that times out, trickles bytes or answers garbage
//! delays only its own job, never the scan, the releases or the refunds of the others. Slots
//! are shared fairly: a freed slot goes to the waiting step whose poster and agent hold the
//! fewest, and no poster or agent ever holds more than half of them, so one hostile pair
//! cannot fill the pool while others wait.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrail::state::Job;
use solana_sdk::pubkey::Pubkey;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Who a step works for: its job's poster and agent. Each holds its share of the slots.
pub type Parties = [Pubkey; 2];

/// The slots, handed out fairly.
struct Slots {
    /// Most slots one party may hold at once.
    party_cap: usize,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    free: usize,
    /// Slots each party holds.
    held: HashMap<Pubkey, usize>,
    /// Waiting steps, in arrival order.
    waiting: Vec<(Parties, oneshot::Sender<Slot>)>,
}

/// A held slot; returned (and handed on) when dropped.
struct Slot {
    slots: Arc<Slots>,
    parties: Parties,
    /// Whether dropping it returns it (not for one returned by hand).
    armed: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut s = self.slots.state.lock().unwrap_or_else(|p| p.into_inner());
        s.give_back(&self.parties);
        Slots::dispatch(&self.slots, s);
    }
}

/// The parties of a step, each once (a poster that is its own agent's key holds one share).
fn distinct(parties: &Parties) -> impl Iterator<Item = &Pubkey> {
    let same = parties[0] == parties[1];
    parties.iter().take(if same { 1 } else { 2 })
}

impl SlotState {
    /// The most slots either of `parties` holds.
    fn held_by(&self, parties: &Parties) -> usize {
        distinct(parties).map(|k| self.held.get(k).copied().unwrap_or(0)).max().unwrap_or(0)
    }

    fn take(&mut self, parties: &Parties) {
        self.free -= 1;
        for party in distinct(parties) {
            *self.held.entry(*party).or_default() += 1;
        }
    }

    fn give_back(&mut self, parties: &Parties) {
        self.free += 1;
        for party in distinct(parties) {
            if let Some(n) = self.held.get_mut(party) {
                *n -= 1;
                if *n == 0 {
                    self.held.remove(party);
                }
            }
        }
    }
}

impl Slots {
    fn new(capacity: usize) -> Arc<Self> {
        let state = SlotState { free: capacity, ..SlotState::default() };
        // half the slots, or the one slot of a pool of one
        Arc::new(Slots { party_cap: (capacity / 2).max(1), state: Mutex::new(state) })
    }

    /// A slot for a step of `parties`, when its turn comes (`None` only if the pool is gone).
    async fn acquire(self: &Arc<Self>, parties: Parties) -> Option<Slot> {
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.waiting.push((parties, tx));
            Self::dispatch(self, s);
        }
        rx.await.ok()
    }

    /// Hands free slots to waiting steps: each to the waiting step whose parties hold the
    /// fewest slots (the earliest among equals), skipping steps whose poster or agent already
    /// holds its cap. Waiters whose task was cut off are dropped from the queue.
    fn dispatch(me: &Arc<Self>, mut s: std::sync::MutexGuard<'_, SlotState>) {
        loop {
            s.waiting.retain(|(_, tx)| !tx.is_closed());
            if s.free == 0 {
                return;
            }
            let pick = (0..s.waiting.len())
                .filter(|&i| s.held_by(&s.waiting[i].0) < me.party_cap)
                .min_by_key(|&i| (s.held_by(&s.waiting[i].0), i));
            let Some(i) = pick else { return };
            let (parties, tx) = s.waiting.remove(i);
            s.take(&parties);
            let slot = Slot { slots: me.clone(), parties, armed: true };
            // its task went away since the check: the slot is returned here, under this lock
            if let Err(mut slot) = tx.send(slot) {
                slot.armed = false;
                s.give_back(&parties);
            }
        }
    }
}

/// Steps running (or queued for a slot) in the background.
pub struct StepPool {
    slots: Arc<Slots>,
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
        StepPool { slots: Slots::new(capacity.max(1)), jobs: Arc::default(), tasks: Mutex::new(JoinSet::new()) }
    }

    /// Runs `work` for `job`, whose poster and agent are `parties`, in the background when a
    /// slot is its (see [`Slots::dispatch`]), unless a step of that job is already running or
    /// queued; returns whether it was queued.
    pub fn spawn(&self, job: Pubkey, parties: Parties, work: impl Future<Output = ()> + Send + 'static) -> bool {
        self.spawn_then(job, parties, work, |_| {})
    }

    /// [`StepPool::spawn`], then `then` once the step is over and the job no longer running,
    /// with the latest state [`StepPool::park`]ed for the job meanwhile (if any): a change
    /// that arrived while the step ran is handled right after it, not at the next poll.
    pub fn spawn_then(
        &self,
        job: Pubkey,
        parties: Parties,
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
            let Some(slot) = slots.acquire(parties).await else { return };
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

    /// A new poster and agent.
    fn parties() -> Parties {
        [Pubkey::new_unique(), Pubkey::new_unique()]
    }

    /// A hostile pair fills every slot it may with steps that never end: the others still
    /// get the rest, one poster with many jobs cannot crowd out a newcomer, and when a slot
    /// frees it goes to the party holding the fewest.
    #[tokio::test]
    async fn slots_are_shared_fairly_between_posters_and_agents() {
        let pool = StepPool::new(4);
        let hostile = parties();
        let started = Arc::new(Mutex::new(Vec::<&'static str>::new()));
        let mark = |who: &'static str| {
            let started = started.clone();
            move || started.lock().unwrap().push(who)
        };
        // six endless hostile steps: only two (half the slots) ever run
        for _ in 0..6 {
            let m = mark("hostile");
            assert!(pool.spawn(Pubkey::new_unique(), hostile, async move {
                m();
                std::future::pending::<()>().await
            }));
        }
        // the same agent for another poster is capped too (the agent holds its share)
        let m = mark("hostile agent, other poster");
        assert!(pool.spawn(Pubkey::new_unique(), [Pubkey::new_unique(), hostile[1]], async move {
            m();
            std::future::pending::<()>().await
        }));
        // two honest steps, each its own poster and agent, queued after all of them
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..2 {
            let (tx, m) = (tx.clone(), mark("honest"));
            assert!(pool.spawn(Pubkey::new_unique(), parties(), async move {
                m();
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..2 {
            tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("honest steps ran").unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = started.lock().unwrap().clone();
        assert_eq!(ran.iter().filter(|w| w.starts_with("hostile")).count(), 2, "{ran:?}");
        assert_eq!(ran.iter().filter(|w| **w == "honest").count(), 2, "{ran:?}");
        assert_eq!(pool.drain(Duration::from_millis(50)).await, 7, "the hostile ones, running or waiting, cut off");
    }

    #[tokio::test]
    async fn one_step_per_job_and_a_slow_one_blocks_nobody() {
        let pool = StepPool::new(4);
        let (slow, fast) = (Pubkey::new_unique(), Pubkey::new_unique());
        assert!(pool.spawn(slow, parties(), tokio::time::sleep(Duration::from_secs(30))));
        assert!(!pool.spawn(slow, parties(), async {}), "a second step of the same job waits for the first");
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let started = Instant::now();
        assert!(pool.spawn(fast, parties(), async move {
            d.fetch_add(1, Ordering::SeqCst);
        }));
        while done.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the fast job ran beside the slow one");
        assert!(pool.is_running(&slow) && !pool.is_running(&fast));
        assert!(pool.spawn(fast, parties(), async {}), "its next step may start once the first is done");
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
        assert!(pool.spawn_then(job, parties(), async move { wait.await.unwrap() }, move |parked| {
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
            pool.spawn(Pubkey::new_unique(), parties(), async move {
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
