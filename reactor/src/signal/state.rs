//! One signal number's state: the pending flag the OS handler sets, the delivery counter, and the
//! listeners' wakers. The protocol is in the module doc of `signal/mod.rs`; the loom model is in
//! `signal/loom_tests.rs`.

use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// The state of one signal number, shared by its OS handler (which only sets `pending`), the
/// drivers (which turn `pending` into a delivery) and the listeners of every runtime.
pub(crate) struct SignalState {
    /// Set by the OS handler, from any thread, at any instruction; taken off by whoever delivers
    /// (always under the `listeners` lock, so that adding a listener is ordered with deliveries).
    pending: AtomicBool,
    /// How many deliveries there have been. Written only under the `listeners` lock; read
    /// without it by a listener that checks for a delivery it has not seen.
    generation: AtomicUsize,
    listeners: Mutex<Listeners>,
}

/// The listeners of one signal: a slot each, with the waker of the task waiting in `recv`.
struct Listeners {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

struct Slot {
    /// The driver the listener was created on (its address): what its shutdown wakes.
    driver: usize,
    waker: Option<Waker>,
}

/// A listener's place in a [`SignalState`], returned by [`SignalState::add_listener`].
#[derive(Debug)]
pub(crate) struct ListenerKey(usize);

impl SignalState {
    pub(crate) fn new() -> SignalState {
        SignalState {
            pending: AtomicBool::new(false),
            generation: AtomicUsize::new(0),
            listeners: Mutex::new(Listeners {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    /// The OS handler's part: async-signal-safe (one atomic store).
    pub(crate) fn set_pending(&self) {
        // SeqCst: the handler then writes a byte to the self-pipe, and the driver that reads it
        // loads this flag (`deliver_if_pending`). The write and the read are system calls, which
        // order memory on every platform; the strongest ordering here costs nothing (a signal is
        // rare) and leans on nothing else.
        self.pending.store(true, Ordering::SeqCst);
    }

    /// Driver side, after draining the self-pipe: if the handler ran since the last delivery,
    /// counts one delivery and hands out the waker of every listener, whatever its runtime.
    /// Whether the handler has run since the last delivery (one load: a listener's poll checks
    /// it before delivering itself, see `unix::Signal::poll_recv`).
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst)
    }

    pub(crate) fn deliver_if_pending(&self, out: &mut Vec<Waker>) {
        // The common case (another signal was delivered) takes no lock. SeqCst: see `set_pending`.
        if !self.pending.load(Ordering::SeqCst) {
            return;
        }
        let mut listeners = lock(&self.listeners);
        self.deliver_locked(&mut listeners, out);
    }

    fn deliver_locked(&self, listeners: &mut Listeners, out: &mut Vec<Waker>) {
        // SeqCst: see `set_pending`. (compare_exchange rather than swap: loom 0.7's `swap` can
        // read a stale value.)
        if self
            .pending
            .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            // Release: pairs with the Acquire load in `poll_listener` (which also re-reads it
            // under the lock).
            self.generation.fetch_add(1, Ordering::Release);
            out.extend(listeners.slots.iter_mut().filter_map(|s| s.waker.take()));
        }
    }

    /// Adds a listener on `driver`. A delivery still pending (the handler ran, no driver has
    /// delivered it yet) is delivered now, to the listeners that were there before: the new
    /// listener sees only the deliveries whose handler runs after this call. Returns its key
    /// and the generation it has seen; `out` gets the wakers to wake once no lock is held.
    pub(crate) fn add_listener(&self, driver: usize, out: &mut Vec<Waker>) -> (ListenerKey, usize) {
        let mut listeners = lock(&self.listeners);
        self.deliver_locked(&mut listeners, out);
        let slot = Slot {
            driver,
            waker: None,
        };
        let index = match listeners.free.pop() {
            Some(index) => {
                listeners.slots[index] = slot;
                index
            }
            None => {
                listeners.slots.push(slot);
                listeners.slots.len() - 1
            }
        };
        // Relaxed: written only under the lock we hold.
        let seen = self.generation.load(Ordering::Relaxed);
        (ListenerKey(index), seen)
    }

    /// Removes a listener; returns its waker, for the caller to drop once no lock is held.
    pub(crate) fn remove_listener(&self, key: &ListenerKey) -> Option<Waker> {
        let mut listeners = lock(&self.listeners);
        let waker = listeners.slots[key.0].waker.take();
        listeners.free.push(key.0);
        waker
    }

    /// A listener's `recv`: `Some(())` if there was a delivery since the generation in `seen`
    /// (several count as one: `seen` jumps to the latest), `None` if its driver shut down
    /// (`is_shutdown`), or else `Pending` with the task's waker stored.
    ///
    /// No wake-up is lost: the waker is stored, and the generation and the shutdown flag read
    /// again, under the lock that a delivery (and a shutdown's wake-up walk) takes after changing
    /// them. Either the delivery finds the waker, or the second read sees the delivery.
    pub(crate) fn poll_listener(
        &self,
        key: &ListenerKey,
        seen: &mut usize,
        is_shutdown: impl Fn() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<Option<()>> {
        let check = |seen: &mut usize, generation: usize| {
            if is_shutdown() {
                Poll::Ready(None)
            } else if generation != *seen {
                *seen = generation;
                Poll::Ready(Some(()))
            } else {
                Poll::Pending
            }
        };
        // Acquire: pairs with the Release increment in `deliver_locked`.
        if let Poll::Ready(out) = check(seen, self.generation.load(Ordering::Acquire)) {
            return Poll::Ready(out);
        }
        let mut listeners = lock(&self.listeners);
        let mut replaced = None;
        let stored = listeners.slots[key.0].waker.as_ref();
        if !stored.is_some_and(|w| w.will_wake(cx.waker())) {
            // A waker's clone and drop are user code: never under the lock. The check below is
            // still made under the lock that stores the waker.
            drop(listeners);
            let waker = cx.waker().clone();
            listeners = lock(&self.listeners);
            replaced = listeners.slots[key.0].waker.replace(waker);
        }
        // Checked again under the lock: see above.
        let polled = check(seen, self.generation.load(Ordering::Acquire));
        drop(listeners);
        drop(replaced);
        polled
    }

    /// Driver side, at shutdown (after its shutdown flag is set): hands out the wakers of the
    /// listeners created on `driver`, whose `recv` then answers `None`.
    pub(crate) fn take_driver_wakers(&self, driver: usize, out: &mut Vec<Waker>) {
        let mut listeners = lock(&self.listeners);
        // A free slot has no waker (`remove_listener` took it), whatever its `driver` says.
        for slot in listeners.slots.iter_mut().filter(|s| s.driver == driver) {
            out.extend(slot.waker.take());
        }
    }
}
