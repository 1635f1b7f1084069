//! `block_on`: polling a future on a thread that is not a worker, parking the thread between polls.

use crate::coop;
use crate::scheduler::{Parker, Unparker};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct ThreadWaker(Unparker);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One parker and waker per thread, reused by every `block_on` on it.
    static PARKER: (Parker, Waker) = {
        let parker = Parker::new();
        let waker = Waker::from(Arc::new(ThreadWaker(parker.unparker().clone())));
        (parker, waker)
    };
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// This thread is inside a `block_on` until the guard is dropped.
pub(crate) struct BlockOnGuard(());

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
    }
}

/// Marks this thread as inside a `block_on`.
///
/// # Panics
/// On a worker thread or inside another `block_on`: blocking there would stall a thread the
/// runtime needs, or deadlock.
pub(crate) fn enter_block_on() -> BlockOnGuard {
    let in_worker = crate::scheduler::in_any_worker();
    if in_worker || IN_BLOCK_ON.with(|b| b.replace(true)) {
        panic!(
            "cannot block_on inside a filch runtime (a task or another block_on): it would stall \
             a thread the runtime needs; `.await` the future instead"
        );
    }
    BlockOnGuard(())
}

/// Runs `f` with this thread's parker and a waker that unparks it.
pub(crate) fn with_parker<R>(f: impl FnOnce(&Parker, &Waker) -> R) -> R {
    PARKER.with(|(parker, waker)| f(parker, waker))
}

pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let _guard = enter_block_on();
    let mut future = pin!(future);
    with_parker(|parker, waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return output;
            }
            parker.park();
        }
    })
}
