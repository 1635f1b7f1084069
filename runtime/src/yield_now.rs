//! `yield_now`: give the worker to other tasks for one turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler once: the task goes behind the other runnable tasks (local and remote)
/// and resumes after they had their turn — asyncio's `await asyncio.sleep(0)`.
///
/// Like asyncio's loop, which polls for I/O between two iterations, the worker also turns its I/O
/// driver (without blocking) before it resumes a yielded task, when sockets or timers are
/// registered: the tasks that I/O or an expired timer woke run first. A task that loops on
/// `yield_now` while it waits for a socket therefore sees the socket's readiness at its next
/// iteration, not after dozens.
///
/// ```
/// filch::run(async {
///     for _ in 0..3 {
///         filch::yield_now().await;
///     }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Waking ourselves while running makes the worker requeue us behind other work.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
