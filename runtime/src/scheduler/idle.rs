//! Which workers are searching for work and which are asleep: the half of the park/unpark protocol
//! that decides whom to wake.
//!
//! One atomic word counts the *unparked* workers (awake, whether busy or searching) and, of those,
//! the *searching* ones (awake, with no task, looking through the other queues). A list of parked
//! worker indices, under a mutex, says whom to wake; a second list holds the workers woken to take
//! the I/O driver over ([`Idle::any_worker_to_notify`]), counted as awake but not searching until
//! they are up.
//!
//! # The rules
//!
//! - Whoever makes work available (a push to the injector, a task left in a local queue) calls
//!   [`Idle::worker_to_notify`] afterwards. It wakes a worker only if **no one is searching**: a
//!   searcher will find the work anyway, and waking a second thread for one task wastes tens of
//!   microseconds of syscalls on both sides. The woken worker is counted as searching before it runs
//!   (not so one woken to take the driver over: it was not woken for a task).
//! - At most **half** of the workers search at once ([`Idle::try_transition_to_searching`]), so a
//!   burst of idle workers does not hammer the same queues.
//! - A searcher that finds work stops searching; if it was the **last searcher**
//!   ([`Idle::transition_worker_from_searching`] returns true) and some queue still holds work, it
//!   wakes one more worker, since no one is looking for that work now. (Waking one when the queues
//!   are empty would only cost a futex round trip: on a single chain of tasks, one per hop.)
//! - A worker going to sleep registers as parked under the lock, and if it was the **last searcher**
//!   it checks every queue once more afterwards and wakes a worker if it sees work.
//!
//! # Why no wake-up is lost
//!
//! The pusher writes the task, then (after a SeqCst fence) reads the counters; the last searcher
//! writes the counters (SeqCst read-modify-write), then reads the queues. Under SeqCst one of the two
//! must see the other's write: either the pusher sees no searcher and wakes someone, or the parking
//! searcher sees the task and wakes someone (possibly itself). A worker that was not searching when
//! it parks had no task and could not start searching only because others were; those will be the
//! last searcher eventually. The loom models in `scheduler/loom_tests.rs` check this.

use crate::loom::lock;
use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::loom::sync::Mutex;

/// Searching workers in the low bits, unparked workers above.
const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Sleepers>,
    num_workers: usize,
}

struct Sleepers {
    /// Indices of parked workers, most recently parked last.
    parked: Vec<usize>,
    /// Workers taken off `parked` by [`Idle::any_worker_to_notify`] (woken to take the driver
    /// over, not for a task): counted as unparked but not searching.
    handed: Vec<usize>,
}

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    /// All workers start unparked and not searching.
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers * UNPARK_ONE),
            sleepers: Mutex::new(Sleepers {
                parked: Vec::with_capacity(num_workers),
                handed: Vec::with_capacity(num_workers),
            }),
            num_workers,
        }
    }

    /// Called after making work available: the index of a parked worker to unpark, if one should
    /// be woken. That worker is already counted as unparked and searching.
    ///
    /// Among the parked workers it picks the one `rank` puts highest, the most recently parked
    /// among equals (the scheduler ranks a worker sleeping on its parker above the deputy, which
    /// watches the driver, and both above the one blocked in the driver, which I/O will wake soon
    /// anyway and which would only have to block in the driver again). Worker `except` is never
    /// chosen.
    pub(crate) fn worker_to_notify(
        &self,
        rank: impl Fn(usize) -> u8,
        except: Option<usize>,
    ) -> Option<usize> {
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        // Re-check under the lock: another notifier may have woken someone meanwhile.
        if !self.should_notify() {
            return None;
        }
        let mut best: Option<(usize, u8)> = None;
        for (pos, &i) in sleepers.parked.iter().enumerate().rev() {
            if Some(i) == except {
                continue;
            }
            let r = rank(i);
            if best.is_none_or(|(_, b)| r > b) {
                best = Some((pos, r));
            }
        }
        let index = sleepers.parked.remove(best?.0);
        // SeqCst: part of the protocol's total order (see the module doc).
        self.state.fetch_add(UNPARK_ONE | 1, Ordering::SeqCst);
        Some(index)
    }

    /// Like [`Idle::worker_to_notify`], but wakes a parked worker even while others search: used
    /// to hand the driver over, which a searcher would not take. The worker is counted as
    /// unparked but **not** as searching: it was not woken for a task, and counting it as a
    /// searcher would stop a push meanwhile from waking anyone; if it then ran that task
    /// instead of taking the driver (it looks for tasks first), every other worker would sleep
    /// with the driver unwatched (found by the loom model
    /// `a_deputy_woken_for_work_leaves_the_driver_watched`).
    pub(crate) fn any_worker_to_notify(&self) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        let index = sleepers.parked.pop()?;
        sleepers.handed.push(index);
        self.state.fetch_add(UNPARK_ONE, Ordering::SeqCst);
        Some(index)
    }

    /// Whether any worker is parked. SeqCst (a plain load on x86): the unwatched hook reads it
    /// after inserting its timer, and must be ordered with a parking worker's registration (the
    /// SeqCst read-modify-write in `transition_worker_to_parked`).
    pub(crate) fn any_parked(&self) -> bool {
        num_unparked(self.state.load(Ordering::SeqCst)) < self.num_workers
    }

    /// Whether every worker is parked (for the paused clock's auto-advance). SeqCst, as
    /// `any_parked`: ordered with the parking workers' registrations.
    pub(crate) fn all_parked(&self) -> bool {
        num_unparked(self.state.load(Ordering::SeqCst)) == 0
    }

    fn should_notify(&self) -> bool {
        // SeqCst fence: orders the caller's push before this load (pairs with the SeqCst
        // read-modify-write in `transition_worker_to_parked`).
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// A worker out of local work asks to search. Refused when half the workers already search.
    pub(crate) fn try_transition_to_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * num_searching(state) >= self.num_workers {
            return false;
        }
        // Two workers may pass the check at once; the bound is a heuristic, so that is fine.
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searcher found work. True if it was the last searcher: the caller must then check the
    /// queues and, if any holds work, wake another worker ([`Idle::worker_to_notify`]).
    #[must_use]
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(num_searching(prev) > 0);
        num_searching(prev) == 1
    }

    /// Registers worker `index` as parked. True if it was the last searcher: the caller must then
    /// check every queue once more and wake a worker if any holds work.
    #[must_use]
    pub(crate) fn transition_worker_to_parked(&self, index: usize, is_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARK_ONE + usize::from(is_searching);
        // SeqCst: pairs with the fence in `should_notify` (see the module doc).
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.parked.push(index);
        is_searching && num_searching(prev) == 1
    }

    /// Called by worker `index` after its park returned. True if a notifier woke it for work
    /// ([`Idle::worker_to_notify`]): it is already counted as unparked and searching. Otherwise
    /// (woken to take the driver over, a spurious wake-up, or shutdown) it ends up counted as
    /// unparked and not searching.
    pub(crate) fn transition_worker_from_parked(&self, index: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.parked.iter().position(|&i| i == index) {
            sleepers.parked.remove(pos);
            self.state.fetch_add(UNPARK_ONE, Ordering::SeqCst);
            return false;
        }
        if let Some(pos) = sleepers.handed.iter().position(|&i| i == index) {
            // Counted as unparked by `any_worker_to_notify`.
            sleepers.handed.swap_remove(pos);
            return false;
        }
        true
    }
}
