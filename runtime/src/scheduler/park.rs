//! Putting a worker to sleep until there is work, on its own parker or inside the I/O driver.
//!
//! An idle worker first tries to take the driver: if it gets it, it blocks in `Driver::turn`
//! (woken by I/O, by the next timer, or by the driver's waker); otherwise it sleeps on its
//! `Parker` (crossbeam-utils' in normal builds, a modelled twin with the same contract under
//! loom). Whoever wakes the worker must use the matching mechanism, so each worker publishes where
//! it sleeps in a [`ParkSignal`]:
//!
//! ```text
//!             park_on_parker                 park_in_driver
//!   EMPTY ───────────────────► PARKED_PARKER  EMPTY ──────────► PARKED_DRIVER
//!     ▲  unpark: swap(NOTIFIED) → unparker.unpark()      unpark: swap(NOTIFIED) → driver.unpark()
//!     └──────────── the worker consumes NOTIFIED (or its own state) on waking ─────────┘
//! ```
//!
//! `unpark` swaps in `NOTIFIED` and then wakes whatever the worker published; a worker that sees
//! `NOTIFIED` before it sleeps does not sleep. Both wake-up mechanisms keep a token (the parker's
//! flag, the driver's eventfd), so a wake that lands between publishing and blocking is not lost.
//! Both may also wake spuriously, which the scheduler tolerates (`Idle::transition_worker_from_parked`).
//!
//! The driver's deputy (`handoff.rs`) sleeps with a timeout ([`ParkSignal::park_on_parker_timeout`]):
//! on a timeout it takes its `PARKED_PARKER` back to `EMPTY`, so a notification that races the
//! timeout is left as `NOTIFIED` for its next park (never lost); the parker token that notifier
//! left ends a later timed park at once, which costs only an early look at the driver.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(filch_loom))]
pub(crate) use crossbeam_utils::sync::{Parker, Unparker};

#[cfg(filch_loom)]
pub(crate) use model::{Parker, Unparker};

const EMPTY: usize = 0;
const PARKED_PARKER: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// Where a worker sleeps, and its parker's waking end.
pub(crate) struct ParkSignal {
    state: AtomicUsize,
    unparker: Unparker,
}

impl ParkSignal {
    pub(crate) fn new(unparker: Unparker) -> ParkSignal {
        ParkSignal {
            state: AtomicUsize::new(EMPTY),
            unparker,
        }
    }

    /// Wakes the worker, wherever it sleeps (or makes its next park return at once).
    /// `wake_driver` interrupts the driver's blocking turn.
    pub(crate) fn unpark(&self, wake_driver: impl FnOnce()) {
        // SeqCst: pairs with the worker's compare_exchange that publishes where it sleeps.
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            PARKED_PARKER => self.unparker.unpark(),
            PARKED_DRIVER => wake_driver(),
            _ => {}
        }
    }

    /// Whether the worker was unparked and has not consumed the notification yet.
    pub(crate) fn is_notified(&self) -> bool {
        self.state.load(Ordering::SeqCst) == NOTIFIED
    }

    /// Whether the worker sleeps on its parker (a hint: it may wake up at any moment).
    pub(crate) fn is_on_parker(&self) -> bool {
        self.state.load(Ordering::Relaxed) == PARKED_PARKER
    }

    /// Worker side: sleeps on `parker` until unparked.
    pub(crate) fn park_on_parker(&self, parker: &Parker) {
        if self
            .state
            .compare_exchange(EMPTY, PARKED_PARKER, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // Already notified: consume it and do not sleep.
            self.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        loop {
            parker.park();
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Worker side: sleeps on `parker` until unparked or until `timeout` has passed. True if
    /// unparked (the notification is consumed); false on a timeout, with the worker published as
    /// awake again, so that it may go on to `park_in_driver` or park once more.
    pub(crate) fn park_on_parker_timeout(
        &self,
        parker: &Parker,
        timeout: std::time::Duration,
    ) -> bool {
        if self
            .state
            .compare_exchange(EMPTY, PARKED_PARKER, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            self.state.store(EMPTY, Ordering::SeqCst);
            return true;
        }
        parker.park_timeout(timeout);
        // Notified (whether the park ended for it or timed out first), or still published as
        // parked: take that back. A notifier that swaps in NOTIFIED after this finds EMPTY and
        // leaves NOTIFIED behind, so the next park returns at once: no notification is lost. (A
        // parker token left by a notifier that raced the timeout only makes a later park wake
        // once spuriously, which the loop in `park_on_parker` absorbs.)
        match self
            .state
            .compare_exchange(PARKED_PARKER, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => false,
            Err(_) => {
                // NOTIFIED: consume it.
                self.state.store(EMPTY, Ordering::SeqCst);
                true
            }
        }
    }

    /// Worker side: runs `turn` (a blocking driver turn) unless already notified. Returns what the
    /// turn returned, or `None` if it did not run.
    pub(crate) fn park_in_driver<R>(&self, turn: impl FnOnce() -> R) -> Option<R> {
        if self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            self.state.store(EMPTY, Ordering::SeqCst);
            return None;
        }
        let ret = turn();
        // Whether the turn ended for a notification, I/O or a timer, the worker is awake now; a
        // notification that raced with the end of the turn is consumed here (its driver wake-up,
        // if any, makes a later turn return early once, which is harmless).
        self.state.store(EMPTY, Ordering::SeqCst);
        Some(ret)
    }
}

#[cfg(filch_loom)]
mod model {
    use crate::loom::lock;
    use crate::loom::sync::{Arc, Condvar, Mutex};

    struct Inner {
        token: Mutex<bool>,
        cond: Condvar,
    }

    /// crossbeam's `Parker` contract, on loom's primitives.
    pub(crate) struct Parker {
        inner: Arc<Inner>,
    }

    #[derive(Clone)]
    pub(crate) struct Unparker {
        inner: Arc<Inner>,
    }

    impl Parker {
        pub(crate) fn new() -> Parker {
            Parker {
                inner: Arc::new(Inner {
                    token: Mutex::new(false),
                    cond: Condvar::new(),
                }),
            }
        }
        /// Unlike crossbeam's (which lends one), returns a new handle; callers clone either way.
        pub(crate) fn unparker(&self) -> Unparker {
            Unparker {
                inner: self.inner.clone(),
            }
        }
        pub(crate) fn park(&self) {
            let mut token = lock(&self.inner.token);
            while !*token {
                token = self.inner.cond.wait(token).unwrap();
            }
            *token = false;
        }
        /// A timeout is modelled as ending at once: consumes the token if there is one, and
        /// otherwise returns as a timed-out park would.
        pub(crate) fn park_timeout(&self, _timeout: std::time::Duration) {
            *lock(&self.inner.token) = false;
        }
    }

    impl Unparker {
        pub(crate) fn unpark(&self) {
            *lock(&self.inner.token) = true;
            self.inner.cond.notify_one();
        }
    }
}
