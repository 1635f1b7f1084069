//! Runtime metrics: what [`Handle::metrics`](crate::Handle::metrics) reads.
//!
//! # Design
//!
//! Always on, so they must cost next to nothing:
//!
//! - **Per-worker counters** ([`WorkerCounters`]) live in the shared state, one cache-padded
//!   block per worker, and only that worker writes them: each increment is a relaxed load and a
//!   relaxed store (no locked read-modify-write, no cache line shared with another writer). A
//!   reader on another thread loads them relaxed: each value is exact as of some recent moment,
//!   and the values of one snapshot may be a few events apart.
//! - **Per poll** a worker pays one such increment (`polls`), plus one for a LIFO-slot hit.
//!   Steals, steal attempts, parks and unparks are counted where they happen, all off the hot
//!   path. Busy time takes two clock reads per park, never per poll.
//! - **Budget-forced yields** are counted by the reactor's budget on the path where it turns a
//!   leaf poll away (a thread-local: no cost to polls that are not turned away), and added to
//!   the worker's counter when it parks or at a maintenance tick, so a snapshot may miss the
//!   last few.
//! - **Runtime-wide values** are read when the snapshot is taken: queue lengths from the queues
//!   themselves, live and spawned tasks from the owned-task list (counted under the shard locks
//!   it takes anyway), the blocking pool's threads and queue under its lock, the driver's
//!   timers, sources, turns and events from its own counters.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A counter written by one thread only: an increment is a relaxed load and store.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the counter's owner calls this.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What one worker counts about itself.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    pub(crate) polls: Counter,
    pub(crate) lifo_hits: Counter,
    pub(crate) steals: Counter,
    pub(crate) steal_attempts: Counter,
    pub(crate) parks: Counter,
    pub(crate) unparks: Counter,
    pub(crate) forced_yields: Counter,
    /// Tasks the stuck-worker rescue took from this worker's LIFO slot: written by the watchdog
    /// thread (the only one that rescues), not by the worker.
    pub(crate) rescued: Counter,
    /// The task being polled (its raw id), or 0 between polls: for the slow-poll watchdog
    /// (marked with `watchdog::IN_PLACE` while the poll is inside `block_in_place`).
    pub(crate) current_task: AtomicU64,
    /// A timeline is being recorded (`timeline.rs`): set and cleared by the recording's owner,
    /// read by the worker at each poll.
    pub(crate) recording: std::sync::atomic::AtomicBool,
    /// Busy time in one word, so that a reader never mixes two moments (two words, a stretch
    /// ending between a reader's two loads was counted twice or not at all; found by review):
    /// asleep, the total busy nanoseconds; awake, [`AWAKE`] plus the total minus the clock at
    /// waking, the *base* (the clock, nanoseconds since the runtime's start, is never below the
    /// total), so that the total now is the clock now minus the base. One store per transition.
    busy: AtomicU64,
}

/// Marks [`WorkerCounters::busy`] as holding the base of a busy stretch.
const AWAKE: u64 = 1 << 63;

impl WorkerCounters {
    /// A busy stretch begins at `now_ns`. Only the counters' worker calls this.
    pub(crate) fn awake(&self, now_ns: u64) {
        let total = self.busy.load(Ordering::Relaxed);
        if total & AWAKE == 0 {
            self.busy
                .store(AWAKE | now_ns.saturating_sub(total), Ordering::Relaxed);
        }
    }

    /// The busy stretch ends at `now_ns`. Only the counters' worker calls this.
    pub(crate) fn asleep(&self, now_ns: u64) {
        let value = self.busy.load(Ordering::Relaxed);
        if value & AWAKE != 0 {
            let base = value & !AWAKE;
            self.busy
                .store(now_ns.saturating_sub(base), Ordering::Relaxed);
        }
    }

    /// Whether the worker is awake (in a busy stretch): a hint for the watchdog, which naps
    /// while every worker sleeps.
    pub(crate) fn is_awake(&self) -> bool {
        // Relaxed: the watchdog reads it after a SeqCst fence (`watchdog.rs`, `may_nap`).
        self.busy.load(Ordering::Relaxed) & AWAKE != 0
    }

    /// Total busy time as of `now_ns`.
    pub(crate) fn busy(&self, now_ns: u64) -> Duration {
        let value = self.busy.load(Ordering::Relaxed);
        let total = if value & AWAKE != 0 {
            now_ns.saturating_sub(value & !AWAKE)
        } else {
            value
        };
        Duration::from_nanos(total)
    }
}

/// A snapshot of a runtime's state and counters, from [`Handle::metrics`](crate::Handle::metrics).
///
/// Counters (`polls`, `steals`, ...) only grow: take two snapshots and subtract for rates.
/// Depths and counts (`local_queue_depth`, `live_tasks`, ...) are the values at the moment of
/// reading. Each value is read on its own, without stopping the runtime, so the values of one
/// snapshot may be a few events apart. `Display` prints it as a table.
///
/// ```
/// let rt = filch::Runtime::new().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..10).map(|i| filch::spawn(async move { i })).collect();
///     filch::join_all(tasks).await;
/// });
/// let metrics = rt.handle().metrics();
/// assert!(metrics.spawned_tasks >= 10);
/// assert!(metrics.workers.iter().map(|w| w.polls).sum::<u64>() >= 10);
/// println!("{metrics}");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// One entry per worker, in worker order.
    pub workers: Vec<WorkerMetrics>,
    /// Tasks waiting in the shared (injector) queue.
    pub injector_depth: usize,
    /// Tasks alive now: spawned, not yet completed (or cancelled); `spawn_local` tasks aside.
    pub live_tasks: usize,
    /// Tasks spawned on this runtime so far (`spawn`, `Handle::spawn`, task groups; not
    /// `spawn_local` tasks, which live in their `block_on`'s own list).
    pub spawned_tasks: u64,
    /// Threads of the blocking pool now, busy or idle.
    pub blocking_threads: usize,
    /// Of those, the ones idle (waiting for a job).
    pub blocking_idle_threads: usize,
    /// Blocking jobs queued, waiting for a thread.
    pub blocking_queue_depth: usize,
    /// Timers registered now.
    pub timers: usize,
    /// I/O sources registered now.
    pub io_sources: usize,
    /// Driver turns so far.
    pub driver_turns: u64,
    /// Events fetched by those turns.
    pub driver_events: u64,
}

/// One worker's part of [`RuntimeMetrics`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Task polls run by this worker (not those of `spawn_local` tasks, nor of `block_on`'s own
    /// future).
    pub polls: u64,
    /// Tasks it took from other workers' queues (each steal moves a batch).
    pub steals: u64,
    /// Other workers' queues it tried to steal from.
    pub steal_attempts: u64,
    /// Times it went to sleep (on its parker or in the driver).
    pub parks: u64,
    /// Times it woke up from sleep.
    pub unparks: u64,
    /// Tasks in its local queue now.
    pub local_queue_depth: usize,
    /// Tasks it ran from its LIFO slot (the task it had just woken or spawned).
    pub lifo_hits: u64,
    /// Leaf polls (a socket, a timer, a join handle, a channel...) that the spent cooperative
    /// budget turned away, each making its task yield (counted when the worker parks or every
    /// 61 ticks, so the last few may be missing).
    pub budget_forced_yields: u64,
    /// Tasks taken from its LIFO slot by the stuck-worker rescue, while it was inside one poll
    /// for longer than the rescue threshold ([`Builder::rescue_threshold`](crate::Builder::rescue_threshold)).
    pub rescued: u64,
    /// Time spent awake (running tasks, looking for work, turning the driver without blocking),
    /// as opposed to asleep. Read against the reader's clock while the worker is awake: between
    /// two snapshots taken as it falls asleep it may step back by the length of a clock read, so
    /// subtract with `saturating_sub`.
    pub busy: Duration,
}

impl RuntimeMetrics {
    /// Driver events per turn, on average so far (0 before the first turn).
    pub fn events_per_turn(&self) -> f64 {
        if self.driver_turns == 0 {
            0.0
        } else {
            self.driver_events as f64 / self.driver_turns as f64
        }
    }
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tasks: {} live, {} spawned; injector: {}; blocking: {} threads ({} idle), {} queued",
            self.live_tasks,
            self.spawned_tasks,
            self.injector_depth,
            self.blocking_threads,
            self.blocking_idle_threads,
            self.blocking_queue_depth
        )?;
        writeln!(
            f,
            "driver: {} timers, {} sources, {} turns, {:.2} events/turn",
            self.timers,
            self.io_sources,
            self.driver_turns,
            self.events_per_turn()
        )?;
        writeln!(
            f,
            "{:>6} {:>10} {:>8} {:>9} {:>8} {:>8} {:>6} {:>10} {:>8} {:>8} {:>10}",
            "worker",
            "polls",
            "stolen",
            "attempts",
            "parks",
            "unparks",
            "queue",
            "lifo hits",
            "budget",
            "rescued",
            "busy"
        )?;
        for (i, w) in self.workers.iter().enumerate() {
            writeln!(
                f,
                "{:>6} {:>10} {:>8} {:>9} {:>8} {:>8} {:>6} {:>10} {:>8} {:>8} {:>10.1?}",
                i,
                w.polls,
                w.steals,
                w.steal_attempts,
                w.parks,
                w.unparks,
                w.local_queue_depth,
                w.lifo_hits,
                w.budget_forced_yields,
                w.rescued,
                w.busy
            )?;
        }
        Ok(())
    }
}
