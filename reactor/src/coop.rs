//! The cooperative budget: how many leaf-resource polls one task poll may make.
//!
//! It lives in the reactor, the crate of the leaf resources (sockets, timers), and the runtime sets
//! it around every task poll; it is a thread-local counter and knows nothing of the scheduler.
//!
//! A task that never sees `Pending` (say, one that awaits join handles of tasks that are already
//! done, in a loop) would otherwise keep its worker forever. Every task poll starts with a budget of
//! [`BUDGET`] units; each poll of a leaf resource (a socket, a timer, a `JoinHandle`) spends one
//! unit through [`poll_proceed`]; once it is spent, leaf resources answer
//! `Pending` and wake the task at once, so it goes to the back of the run queue and others run.
//! Outside a task (no budget set) nothing is limited.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units per task poll (tokio's figure: large enough to be invisible to well-behaved tasks).
pub const BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained (not inside a task poll).
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
    /// Leaf polls on this thread that the spent budget turned away (each makes its task yield),
    /// not yet taken by [`take_forced_yields`].
    static FORCED: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards (also on unwind).
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|c| c.set(self.0));
        }
    }
    let prev = CURRENT.with(|c| c.replace(Some(BUDGET)));
    let _reset = Reset(prev);
    f()
}

/// Runs `f` with no budget: for code on a thread that may block anyway (`spawn_blocking`).
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|c| c.set(self.0));
        }
    }
    let prev = CURRENT.with(|c| c.replace(None));
    let _reset = Reset(prev);
    f()
}

/// How many leaf polls on this thread the spent budget turned away since the last call (a
/// metric: the runtime adds it to the worker's count). Counted on that path alone, which is
/// already the slow one, so that task polls pay nothing for it.
pub fn take_forced_yields() -> u64 {
    FORCED.try_with(|f| f.replace(0)).unwrap_or(0)
}

/// Whether the budget is spent: the next leaf poll would answer `Pending`. For a combinator that
/// polls many children in one poll (`join_all`), so that it stops at once instead of polling each
/// remaining child only to be told `Pending` by it.
pub fn is_exhausted() -> bool {
    CURRENT.try_with(|c| c.get() == Some(0)).unwrap_or(false)
}

/// Spends one unit, or answers `Pending` (after waking the task) if the budget is exhausted. The
/// unit is given back unless the caller reports [`Progress::made_progress`].
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Progress> {
    let spent = CURRENT.try_with(|c| match c.get() {
        None => Some(None),
        Some(0) => None,
        Some(n) => {
            c.set(Some(n - 1));
            Some(Some(n))
        }
    });
    match spent {
        Ok(Some(prev)) => Poll::Ready(Progress { restore: prev }),
        // Thread-local already destroyed: a thread exiting; do not limit it.
        Err(_) => Poll::Ready(Progress { restore: None }),
        Ok(None) => {
            let _ = FORCED.try_with(|f| f.set(f.get() + 1));
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A spent unit, returned to the budget on drop unless the resource made progress.
#[must_use]
#[derive(Debug)]
pub struct Progress {
    restore: Option<u8>,
}

impl Progress {
    /// Keeps the unit spent: the resource produced a value.
    pub fn made_progress(mut self) {
        self.restore = None;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(prev) = self.restore {
            let _ = CURRENT.try_with(|c| c.set(Some(prev)));
        }
    }
}
