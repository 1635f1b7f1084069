//! The driver entered on the current thread: what sockets and timers created here use.

use crate::driver::Handle;
use std::cell::RefCell;
use std::io;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Restores the previously entered driver when dropped.
#[derive(Debug)]
pub struct EnterGuard {
    prev: Option<Handle>,
}

/// Makes `handle` the current thread's driver until the guard is dropped. The runtime enters
/// its driver on its worker threads, in `block_on`, and on blocking-pool threads.
pub fn enter(handle: Handle) -> EnterGuard {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(handle));
    EnterGuard { prev }
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

const NO_RUNTIME: &str = "there is no filch runtime on this thread: sockets, timers and signal \
                          listeners must be created inside a task or inside `filch::run(...)` / \
                          `Runtime::block_on(...)`";

/// The current driver, or an `io::Error` saying there is none (for socket constructors).
pub(crate) fn current() -> io::Result<Handle> {
    CURRENT
        .try_with(|c| c.borrow().clone())
        .ok()
        .flatten()
        .ok_or_else(|| io::Error::other(NO_RUNTIME))
}

/// The current driver; panics outside a runtime (for timers, which have no error to return).
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Handle {
    match current() {
        Ok(handle) => handle,
        Err(_) => panic!("{what}: {NO_RUNTIME}"),
    }
}
