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

use crate::loom::sync::atomic::{fence, AtomicBool, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use std::sync::TryLockError;

/// The driver behind its lock, with the pending hand-off request.
pub(crate) struct DriverSlot<D> {
    driver: Mutex<D>,
    /// Someone found the driver taken while they wanted it watched (a worker going to sleep, a
    /// worker handing it off, a timer registered while no thread blocked in it).
    wanted: AtomicBool,
}

impl<D> DriverSlot<D> {
    pub(crate) fn new(driver: D) -> DriverSlot<D> {
        DriverSlot {
            driver: Mutex::new(driver),
            wanted: AtomicBool::new(false),
        }
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
