//! Who watches the I/O driver: the driver's lock, and the hand-off requests left for its holder.
//!
//! There is no reactor thread: an idle worker takes the driver and blocks in it; busy workers take
//! it for a non-blocking turn at maintenance ticks. Every take is a `try_lock`, so a worker never
//! waits for the driver — but then a worker that finds it taken parks on its own parker, and once
//! the holder lets go (a busy worker's non-blocking turn ends in microseconds) nobody may be left
//! watching the timers and sockets. A later long poll would stall all of them.
//!
//! # The rule
//!
//! Whoever wanted someone in the driver and found it taken leaves a request
//! ([`DriverSlot::take_or_request`]); whoever lets the driver go reads the requests
//! ([`DriverSlot::release`]) and, if there was one, hands the driver to a parked worker. So the
//! driver is never left unwatched by a race between a release and a failed take:
//!
//! ```text
//!   requester:  store(wanted) ; fence(SeqCst) ; try_lock        (fails: held)
//!   holder:     unlock        ; fence(SeqCst) ; load(wanted)
//! ```
//!
//! By the fences, either the holder's load sees the request, or the requester's `try_lock` comes
//! after the unlock and succeeds (the requester then has the driver itself). A holder that claims
//! a request left by a worker going to sleep wakes a parked worker into the driver without
//! consulting the "has work" hints, which a timer registered meanwhile may not have reached yet
//! (`Shared::hand_off_driver`). The loom model
//! `scheduler::loom_tests::a_driver_released_by_a_busy_worker_is_handed_to_a_parked_one` checks
//! this together with the parking protocol.
//!
//! # The deputy: no hand-off while the holder's tasks are short
//!
//! Handing the driver over each time its holder leaves it with events costs a thread wake-up
//! (a futex wake, a context switch, a second `epoll_wait`) per driver turn: on a busy server that
//! is most of the difference in context switches against tokio, which never hands its driver
//! over and lets one long poll stall every timer. filch keeps both: one parked worker at a time
//! may sleep as the **deputy** ([`DriverSlot::try_become_deputy`]), on its parker with a short
//! timeout ([`DEPUTY_CHECK_MIN`] doubling to [`DEPUTY_CHECK_MAX`]) instead of leaving a request.
//! While a deputy sleeps:
//!
//! - a holder leaving the driver to run what it woke does not hand it over: it returns to the
//!   driver when its tasks are done, as tokio's does, and only bumps [`DriverSlot::note_leave`];
//! - a worker going to sleep while the driver is taken leaves no request (the deputy watches);
//! - the unwatched hook (a timer registered while nobody blocks in the driver) wakes nobody.
//!
//! Each time its timeout ends the deputy looks: if the driver is free (its holder has been away
//! for a whole timeout: a long poll, or just a busy batch) it takes it and blocks in it. So the
//! driver is never unwatched for longer than about `DEPUTY_CHECK_MAX`, and a long poll delays
//! timers and sockets by at most that much. The deputy wakes up to 250 times a second, which
//! pays only while the holder leaves the driver more often than that: after
//! [`DEPUTY_QUIET_ROUNDS`] timeouts in a row with fewer than [`DEPUTY_BUSY_LEAVES`] leaves each
//! (an idle runtime, or a light one: a heartbeat timer), the deputy retires and sleeps as any
//! other worker, with a request. An idle runtime makes no periodic wake-ups, and a light one
//! pays a hand-off per leave as before, plus at most three deputy wake-ups after each.
//!
//! Any worker that goes to sleep while the driver is taken becomes the deputy if there is none;
//! the busy rule above only decides how long it stays.
//!
//! Resigning keeps the promise. A deputy woken for work (or one that took the driver, on a
//! timeout or just after retiring, and was notified before it blocked in it) clears the flag
//! and then, if any worker is parked (one may have skipped its request), answers as if a request
//! had been left (`Shared::deputy_resigned`, `hand_off_driver(true)`): a free driver goes to a
//! parked worker, whatever the work hints say; a held one gets a request for its holder. A
//! sleeper reads the deputy flag after registering as parked (both SeqCst), so either the
//! resigning deputy counts it, or it sees no deputy and leaves its request. A retiring deputy
//! goes through `take_or_request` itself (or, if a new deputy has appeared meanwhile, only
//! `try_take`: that one watches).

use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use std::sync::TryLockError;

/// The driver behind its lock, with the pending hand-off request.
pub(crate) struct DriverSlot<D> {
    driver: Mutex<D>,
    /// Someone found the driver taken while they wanted it watched (a worker going to sleep, a
    /// worker handing it off, a timer registered while no thread blocked in it).
    wanted: AtomicBool,
    /// The deputy's index + 1, or 0: a parked worker watching the driver on a timer (see "The
    /// deputy" above).
    deputy: AtomicUsize,
    /// Times a holder left the driver with events and handed nothing over because a deputy
    /// slept; the deputy reads it to tell a busy runtime from an idle one.
    leaves: AtomicUsize,
}

/// The deputy's first timeout; each next one is twice as long, up to [`DEPUTY_CHECK_MAX`].
pub(crate) const DEPUTY_CHECK_MIN: std::time::Duration = std::time::Duration::from_millis(1);
/// The deputy's longest timeout: how long, at most, the driver stays unwatched behind a long
/// poll while a deputy sleeps.
pub(crate) const DEPUTY_CHECK_MAX: std::time::Duration = std::time::Duration::from_millis(4);
/// Leaves with events ([`DriverSlot::note_leave`]) during one of its timeouts for which the
/// deputy counts the driver as busy: fewer, and its own wake-ups cost more than the hand-offs
/// it saves.
pub(crate) const DEPUTY_BUSY_LEAVES: usize = 2;
/// Timeouts in a row without a busy driver after which the deputy retires (7 ms from its
/// start, at most 12 ms later).
pub(crate) const DEPUTY_QUIET_ROUNDS: u32 = 3;

impl<D> DriverSlot<D> {
    pub(crate) fn new(driver: D) -> DriverSlot<D> {
        DriverSlot {
            driver: Mutex::new(driver),
            wanted: AtomicBool::new(false),
            deputy: AtomicUsize::new(0),
            leaves: AtomicUsize::new(0),
        }
    }

    /// Worker `index` becomes the deputy if there is none. The caller is registered as parked.
    pub(crate) fn try_become_deputy(&self, index: usize) -> bool {
        // SeqCst: ordered with the sleepers' registrations and their reads of the flag.
        self.deputy.load(Ordering::Relaxed) == 0
            && self
                .deputy
                .compare_exchange(0, index + 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
    }

    /// Stops being the deputy. A caller woken for work must then call
    /// `Shared::deputy_resigned`.
    pub(crate) fn resign_deputy(&self) {
        self.deputy.store(0, Ordering::SeqCst);
    }

    /// Whether a deputy sleeps, watching the driver on a timer.
    pub(crate) fn has_deputy(&self) -> bool {
        self.deputy.load(Ordering::SeqCst) != 0
    }

    /// Whether worker `index` is the deputy (a hint, for choosing whom to wake).
    pub(crate) fn is_deputy(&self, index: usize) -> bool {
        self.deputy.load(Ordering::Relaxed) == index + 1
    }

    /// A holder left the driver with events and, a deputy sleeping, handed nothing over.
    pub(crate) fn note_leave(&self) {
        self.leaves.fetch_add(1, Ordering::Relaxed);
    }

    /// See [`DriverSlot::note_leave`].
    pub(crate) fn leaves(&self) -> usize {
        self.leaves.load(Ordering::Relaxed)
    }

    /// Takes the driver if no one holds it; never waits.
    pub(crate) fn try_take(&self) -> Option<MutexGuard<'_, D>> {
        match self.driver.try_lock() {
            Ok(guard) => Some(guard),
            // A waker or the poller panicked inside a turn; the driver's own state is consistent
            // between turns.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Takes the driver, or, if someone holds it, leaves a request that the holder hands it off
    /// when it lets go (see the module doc).
    pub(crate) fn take_or_request(&self) -> Option<MutexGuard<'_, D>> {
        if let Some(guard) = self.try_take() {
            return Some(guard);
        }
        // SeqCst store and fence: pairs with the fence in `release` (see the module doc).
        self.wanted.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.try_take()
    }

    /// Lets the driver go. True if a hand-off was requested meanwhile: the caller must then hand
    /// the driver to a parked worker. The request is claimed, so one release answers it.
    #[must_use = "a requested hand-off must be carried out"]
    pub(crate) fn release(&self, guard: MutexGuard<'_, D>) -> bool {
        drop(guard);
        // SeqCst fence: pairs with the one in `take_or_request`.
        fence(Ordering::SeqCst);
        // The load keeps a release with no request (the common case) free of a read-modify-write.
        self.wanted.load(Ordering::SeqCst) && self.wanted.swap(false, Ordering::SeqCst)
    }
}
