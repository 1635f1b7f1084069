//! The runtime entered on the current thread: what `filch::spawn` and `Handle::current` use.
//!
//! Worker threads and blocking-pool threads enter their runtime for their whole life; `block_on`
//! enters it for the duration of the call. Entering a runtime also enters its I/O driver (the
//! reactor's own thread-local), for sockets and timers.

use crate::scheduler;
use std::cell::RefCell;

thread_local! {
    static CURRENT: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
}

/// Restores the previously entered runtime (if any) when dropped.
pub(crate) struct EnterGuard {
    prev: Option<scheduler::Handle>,
    /// The runtime's driver, entered too so that sockets and timers created here find it.
    _reactor: filch_reactor::EnterGuard,
}

pub(crate) fn enter(handle: scheduler::Handle) -> EnterGuard {
    let reactor = filch_reactor::enter(handle.shared.driver_handle.clone());
    let prev = CURRENT.with(|c| c.borrow_mut().replace(handle));
    EnterGuard {
        prev,
        _reactor: reactor,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // The handle being left is dropped after the borrow ends: if it is the last one, its
        // drop frees the runtime's state, which may run code that looks up the current runtime.
        let left = CURRENT.try_with(|c| c.replace(prev));
        drop(left);
    }
}

/// Runs `f` with the entered runtime, or returns `None` outside one.
pub(crate) fn with_current<R>(f: impl FnOnce(&scheduler::Handle) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(f))
        .ok()
        .flatten()
}
