//! Slow polls, named while they happen, and stuck workers rescued: one watchdog thread for the
//! whole process.
//!
//! # Design
//!
//! A task that blocks its worker (a `std::thread::sleep`, a blocking client call, a long
//! computation without an `.await`) is the commonest way to hurt an async service, and the
//! hardest to see: everything queued behind it waits. The watchdog reports such a poll *while it
//! is still running*, and again when it returns.
//!
//! - **What a worker pays per poll**: nothing beyond the metrics' poll count and one relaxed
//!   store of the task's id before the poll and one of zero after it (`WorkerCounters`). No
//!   clock is read per poll.
//! - **The watchdog**: one thread for the process, started with the first runtime that has a
//!   threshold, asleep (without a timeout) while no runtime is registered. Every runtime built
//!   with a threshold registers its workers' counters (a `Weak`: a runtime that is gone drops
//!   out). The thread wakes every period (below; 1 ms to 250 ms) and reads
//!   each worker's (poll count, task id): the same pair, with a task id, on two readings means
//!   the same poll is still running. Once it has been seen running for the threshold, it is
//!   reported; when the pair changes, a reported poll is reported again as finished.
//! - **Precision**: a poll is timed from the first reading that saw it to the last that still saw
//!   it, so the times reported are lower bounds, short by up to two periods. A poll shorter than
//!   the threshold is never reported; one longer than the threshold plus a period (a quarter of
//!   it) always is, while it runs; one in between may be. A busy but cooperative task (one whose
//!   polls each end quickly) never is, however long it runs. (With the period clamped to 250 ms,
//!   thresholds over a second are checked less finely, in proportion.)
//! - **What it sees**: the polls of tasks on the workers. Not `spawn_local` tasks, nor the future
//!   given to `block_on` (on a current-thread runtime, the body of `#[filch::main]`): those run
//!   outside the workers' task loop.
//! - **Reports** go to the runtime's `on_slow_poll` callback, called on the watchdog thread
//!   outside its lock; by default one line on stderr (and a `tracing` event with the feature).
//! - **Rescue**: a worker seen inside one poll for the runtime's `rescue_threshold` (5 ms by
//!   default; multi-thread runtimes with two workers or more) is rescued at every reading while
//!   the poll lasts: `Shared::rescue` moves the task in its LIFO slot to the injector and wakes
//!   a sleeping worker for it (`scheduler/lifo.rs`). Rescues run outside the lock too: one may
//!   drop a task, when it races its runtime's shutdown. The period is the smaller of a quarter
//!   of the slow-poll threshold and half the rescue threshold.
//! - **Napping**: once [`NAP_AFTER`] readings in a row found every worker of every runtime
//!   asleep (and no poll in progress), the watchdog waits without a timeout, so an idle process
//!   makes no periodic wake-ups. A worker that wakes up wakes it (`worker_awake`: a fence and
//!   a load; a lock and a notify only the first time after a nap). The two sides are a Dekker
//!   pair: the watchdog sets `NAPPING`, fences, then reads the workers' busy words; a worker
//!   stores its busy word, fences, then reads `NAPPING`; so either the watchdog sees the worker
//!   awake and does not nap, or the worker sees `NAPPING` and wakes it.

use crate::metrics::WorkerCounters;
use crate::task::Id;
use crossbeam_utils::CachePadded;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

/// A poll that has run longer than the runtime's
/// [`slow_poll_threshold`](crate::Builder::slow_poll_threshold): reported to
/// [`on_slow_poll`](crate::Builder::on_slow_poll) while it still runs, and again when it returns.
///
/// `Display` gives the default report: one line naming the task and the worker.
#[derive(Debug, Clone)]
pub struct SlowPoll {
    id: Id,
    name: Option<Arc<str>>,
    location: Option<&'static Location<'static>>,
    worker: usize,
    elapsed: Duration,
    finished: bool,
}

impl SlowPoll {
    /// The task's id (as [`JoinHandle::id`](crate::JoinHandle::id) gives it).
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was spawned with one
    /// ([`task::Builder::name`](crate::task::Builder::name)).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (the call to `spawn`), if it is still known: the task may be
    /// gone by the time the watchdog looks it up.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }

    /// The worker the poll runs on (its index, as in [`RuntimeMetrics::workers`](crate::RuntimeMetrics::workers)).
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// How long the poll has run (while running) or ran (once finished): a lower bound, short
    /// by at most a quarter of the threshold while running, half of it once finished (see the
    /// module docs).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether the poll has returned (the second report), or is still running (the first).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filch: task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        if let Some(location) = self.location {
            write!(f, " (spawned at {location})")?;
        }
        if self.finished {
            write!(
                f,
                " returned after at least {:.0?} in one poll on worker {}",
                self.elapsed, self.worker
            )
        } else {
            write!(
                f,
                " has been in one poll on worker {} for at least {:.0?} (blocking its worker?)",
                self.worker, self.elapsed
            )
        }
    }
}

/// Where slow polls are reported.
pub(crate) type SlowPollCallback = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// A runtime's stuck-worker rescue: run for a worker seen inside one poll for `after` or more.
pub(crate) struct Rescue {
    pub(crate) after: Duration,
    pub(crate) run: Box<dyn Fn(usize) + Send + Sync>,
}

/// A runtime's registration: its workers' counters, its slow-poll threshold and callback, its
/// rescue. The runtime holds the `Arc`; the watchdog a `Weak`.
pub(crate) struct Watched {
    pub(crate) counters: Vec<Arc<CachePadded<WorkerCounters>>>,
    pub(crate) threshold: Option<Duration>,
    pub(crate) callback: SlowPollCallback,
    pub(crate) rescue: Option<Rescue>,
    /// Where a task of this runtime was spawned (`OwnedTasks::location_of`).
    pub(crate) locate: Box<dyn Fn(Id) -> Option<&'static Location<'static>> + Send + Sync>,
}

/// What the watchdog remembers of one worker between readings.
#[derive(Clone)]
struct Seen {
    polls: u64,
    task: u64,
    since: Instant,
    /// The last reading that saw this poll still running.
    last: Instant,
    /// `Some` once reported: what the first report said of the task (it may be gone by the
    /// second).
    reported: Option<Known>,
}

/// A reported task's name and spawn location.
#[derive(Clone)]
struct Known {
    name: Option<Arc<str>>,
    location: Option<&'static Location<'static>>,
}

struct Entry {
    watched: Weak<Watched>,
    /// The runtime's counters, kept here too so that the watchdog can decide to nap without
    /// upgrading (and then dropping, under its lock) a registration.
    counters: Vec<Arc<CachePadded<WorkerCounters>>>,
    /// How often this runtime is read.
    period: Duration,
    seen: Vec<Seen>,
}

struct Watchdog {
    entries: Mutex<Vec<Entry>>,
    changed: Condvar,
}

/// Set while the watchdog naps (every worker of every runtime asleep, no poll in progress): a
/// worker that wakes up wakes it (`worker_awake`).
static NAPPING: AtomicBool = AtomicBool::new(false);

static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers a runtime with the watchdog, starting its thread on first use. If the thread cannot
/// be started, slow polls go unreported and workers unrescued (the runtime itself works the
/// same).
pub(crate) fn register(watched: &Arc<Watched>) {
    let watchdog = WATCHDOG.get_or_init(|| {
        let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            entries: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("filch-watchdog".to_owned())
            .spawn(move || watchdog.run())
            .ok()
            .map(|_| watchdog)
    });
    let Some(watchdog) = watchdog else { return };
    let now = Instant::now();
    let seen = Seen {
        polls: 0,
        task: 0,
        since: now,
        last: now,
        reported: None,
    };
    let period = [
        watched.threshold.map(|t| t / 4),
        watched.rescue.as_ref().map(|r| r.after / 2),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(MAX_PERIOD)
    .clamp(MIN_PERIOD, MAX_PERIOD);
    lock(&watchdog.entries).push(Entry {
        watched: Arc::downgrade(watched),
        counters: watched.counters.clone(),
        period,
        seen: vec![seen; watched.counters.len()],
    });
    watchdog.changed.notify_one();
}

/// Readings in a row that must find every worker asleep before the watchdog naps. Napping at
/// the first would cost a runtime that sleeps and wakes every millisecond (timers firing) a
/// wake-up of the watchdog at each of its wake-ups, through a lock and a futex; after eight
/// quiet readings (8 ms to 2 s, by the period), a runtime is idle indeed, and its next wake-up
/// pays that once.
const NAP_AFTER: u32 = 8;

/// Marks a worker's `current_task` while the task it polls is inside `block_in_place`: the poll
/// goes on (it must not be reported as returned), but the declared block is neither reported
/// nor rescued, nor counted in the poll's time. Task ids never reach this bit (the counter is
/// far below it, and bit 63 is their name flag, `Id::NAMED`).
pub(crate) const IN_PLACE: u64 = 1 << 62;

const MIN_PERIOD: Duration = Duration::from_millis(1);
const MAX_PERIOD: Duration = Duration::from_millis(250);

/// A worker has just woken up (its busy stretch began): if the watchdog naps, wake it.
#[inline]
pub(crate) fn worker_awake() {
    // SeqCst fence: pairs with the one in `Watchdog::may_nap`. Either the watchdog's check
    // after setting `NAPPING` sees this worker awake (the caller stored that before this call),
    // or this load sees `NAPPING`.
    fence(Ordering::SeqCst);
    if NAPPING.load(Ordering::Relaxed) && NAPPING.swap(false, Ordering::Relaxed) {
        if let Some(Some(watchdog)) = WATCHDOG.get() {
            // Under the lock: the watchdog set `NAPPING` under it and holds it until it waits.
            let _entries = lock(&watchdog.entries);
            watchdog.changed.notify_one();
        }
    }
}

impl Watchdog {
    fn run(&self) {
        let mut reports = Vec::new();
        let mut rescues: Vec<(Arc<Watched>, usize)> = Vec::new();
        // The registrations upgraded during a round, dropped only once the lock is released:
        // the last reference to a runtime's callback may be among them, and its drop is user
        // code (which may even build a runtime, and so register).
        let mut upgraded: Vec<Arc<Watched>> = Vec::new();
        let mut entries = lock(&self.entries);
        // Readings in a row that found every worker asleep.
        let mut quiet = 0;
        loop {
            entries.retain(|e| e.watched.strong_count() > 0);
            let period = entries.iter().map(|e| e.period).min();
            quiet = if Self::all_asleep(&entries) {
                quiet + 1
            } else {
                0
            };
            entries = match period {
                Some(period) if quiet < NAP_AFTER || !Self::may_nap(&entries) => {
                    self.changed
                        .wait_timeout(entries, period)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                // Nothing registered, or every worker asleep: until a registration, or a
                // worker wakes up; then count quiet readings from zero again.
                _ => {
                    quiet = 0;
                    self.changed
                        .wait(entries)
                        .unwrap_or_else(PoisonError::into_inner)
                }
            };
            NAPPING.store(false, Ordering::Relaxed);
            let now = Instant::now();
            for entry in entries.iter_mut() {
                if let Some(watched) = entry.watched.upgrade() {
                    scan(&watched, &mut entry.seen, now, &mut reports, &mut rescues);
                    upgraded.push(watched);
                }
            }
            // User code (the callbacks, the drop of a last reference to one, a task dropped by
            // a rescue racing its runtime's shutdown) runs outside the lock.
            drop(entries);
            for (watched, worker) in rescues.drain(..) {
                if let Some(rescue) = &watched.rescue {
                    (rescue.run)(worker);
                }
            }
            for (callback, report) in reports.drain(..) {
                #[cfg(feature = "tracing")]
                crate::trace::slow_poll(&report);
                // A panicking callback must not take the watchdog down for every runtime.
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&report)));
            }
            upgraded.clear();
            entries = lock(&self.entries);
        }
    }

    /// Whether the watchdog may sleep until a worker wakes up: no poll was in progress at the
    /// last reading, and every worker of every runtime is asleep. Sets `NAPPING` if so, under
    /// the lock, which the watchdog then holds until it waits (see `worker_awake`).
    fn may_nap(entries: &[Entry]) -> bool {
        NAPPING.store(true, Ordering::Relaxed);
        // SeqCst fence: pairs with the one in `worker_awake`.
        fence(Ordering::SeqCst);
        if Self::all_asleep(entries) {
            return true;
        }
        NAPPING.store(false, Ordering::Relaxed);
        false
    }

    /// No poll was in progress at the last reading, and every worker is asleep now.
    fn all_asleep(entries: &[Entry]) -> bool {
        entries
            .iter()
            .all(|e| e.seen.iter().all(|s| s.task == 0) && e.counters.iter().all(|c| !c.is_awake()))
    }
}

/// One reading of a runtime's workers.
fn scan(
    watched: &Arc<Watched>,
    seen: &mut [Seen],
    now: Instant,
    reports: &mut Vec<(SlowPollCallback, SlowPoll)>,
    rescues: &mut Vec<(Arc<Watched>, usize)>,
) {
    for (worker, (counters, seen)) in watched.counters.iter().zip(seen.iter_mut()).enumerate() {
        // Relaxed: a reading a little stale only delays a report or a rescue by a period.
        let task = counters.current_task.load(Ordering::Relaxed);
        let in_place = task & IN_PLACE != 0;
        let task = task & !IN_PLACE;
        let polls = counters.polls.get();
        if task != 0 && task == seen.task && polls == seen.polls {
            if in_place {
                // The same poll, inside `block_in_place`: not over (regression: it was
                // reported as returned, then again as a new slow poll), but the block is not
                // timed: its start moves on with it.
                seen.since += now.saturating_duration_since(seen.last);
                seen.last = now;
                continue;
            }
            seen.last = now;
            let elapsed = now.saturating_duration_since(seen.since);
            if let Some(threshold) = watched.threshold {
                if seen.reported.is_none() && elapsed >= threshold {
                    let slow = report(watched, seen.task, None, worker, elapsed, false);
                    seen.reported = Some(Known {
                        name: slow.name.clone(),
                        location: slow.location,
                    });
                    reports.push((watched.callback.clone(), slow));
                }
            }
            if watched.rescue.as_ref().is_some_and(|r| elapsed >= r.after) {
                // At every reading while the poll lasts: the stuck task may wake more.
                rescues.push((watched.clone(), worker));
            }
            continue;
        }
        if let Some(known) = seen.reported.take() {
            // Up to the last reading that saw it running: a lower bound.
            let elapsed = seen.last.saturating_duration_since(seen.since);
            let slow = report(watched, seen.task, Some(known), worker, elapsed, true);
            reports.push((watched.callback.clone(), slow));
        }
        *seen = Seen {
            polls,
            task,
            since: now,
            last: now,
            reported: None,
        };
    }
}

/// A report on task `task`; its name and spawn location are looked up unless given (the second
/// report reuses the first's). The lookups lock the name table and one shard of the runtime's
/// task list, under the watchdog's lock: neither is ever held while the watchdog's is taken.
fn report(
    watched: &Watched,
    task: u64,
    known: Option<Known>,
    worker: usize,
    elapsed: Duration,
    finished: bool,
) -> SlowPoll {
    let id = Id::from_raw(task).expect("a reported poll has a task id");
    let known = known.unwrap_or_else(|| Known {
        name: crate::task::name_of(id),
        location: (watched.locate)(id),
    });
    SlowPoll {
        id,
        name: known.name,
        location: known.location,
        worker,
        elapsed,
        finished,
    }
}

/// The default report: one line on stderr.
pub(crate) fn print_to_stderr(report: &SlowPoll) {
    eprintln!("{report}");
}
