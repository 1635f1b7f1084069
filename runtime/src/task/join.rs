//! `JoinHandle`: the owned permission to await a task's output.

use super::raw::{Header, RawTask};
use super::{Id, JoinError};
use crate::coop;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// An owned permission to await a spawned task's output, like the task object that asyncio's
/// `create_task` returns.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it *detaches* the task, which keeps running; [`abort`](JoinHandle::abort) cancels it.
///
/// ```
/// let answer = filch::run(async {
///     let handle = filch::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
#[must_use = "dropping a JoinHandle detaches the task; await it or call `abort` to cancel it"]
pub struct JoinHandle<T> {
    raw: RawTask,
    _p: PhantomData<T>,
}

// SAFETY: the handle only moves the output `T` between threads, which `T: Send` allows; all shared
// access goes through the atomic state word.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, which touch only atomics.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `ptr` points to a task whose output type is `T`, and the caller hands over the reference
    /// that belongs to the join handle.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            // SAFETY: forwarded to the caller.
            raw: unsafe { RawTask::from_raw(ptr) },
            _p: PhantomData,
        }
    }

    /// Cancels the task. A task that has not completed has its future dropped before its next poll
    /// (if it is running now, right after that poll returns), and awaiting the handle then gives a
    /// [`JoinError`] for which [`is_cancelled`](JoinError::is_cancelled) is true. A task that already
    /// completed keeps its output.
    ///
    /// ```
    /// filch::run(async {
    ///     let handle = filch::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Cancels the task *now*, on this thread, if it is idle: its future is dropped before this
    /// returns, as the runtime's shutdown does. A task that is running is cancelled as by
    /// [`abort`](JoinHandle::abort): its runner drops the future when the poll returns. For task
    /// groups, whose children must be gone by the time a cancelled group's owner moves on.
    pub(crate) fn cancel_now(&self) {
        // A reference of our own for the shutdown transition to consume; the handle keeps its.
        self.raw.header().state.ref_inc();
        self.raw.shutdown();
    }

    /// Whether the task has finished: completed, panicked or been cancelled. Awaiting a finished
    /// task's handle does not wait.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's identifier, unique among the tasks alive in this process.
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let progress = std::task::ready!(coop::poll_proceed(cx));
        let mut ret = Poll::Pending;
        // SAFETY: we are the join handle of a task whose output type is `T`, and `ret` has the type
        // `try_read_output` writes.
        unsafe {
            self.raw.try_read_output(
                &mut ret as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        if ret.is_ready() {
            progress.made_progress();
        }
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.raw.header().state.drop_join_handle_fast().is_ok() {
            return;
        }
        self.raw.drop_join_handle_slow();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
