//! `Handle`: a cloneable reference to a runtime, and the free functions that use the current one.

use crate::context;
use crate::scheduler;
use crate::task::{Id, JoinHandle};
use std::error::Error;
use std::fmt;
use std::future::Future;

/// A cloneable, `Send + Sync` reference to a [`Runtime`](crate::Runtime), to spawn tasks on it
/// from any thread, inside or outside the runtime.
///
/// A handle does not keep the runtime running: once the runtime is dropped, tasks spawned
/// through the handle are cancelled at once (their join handles report
/// [`is_cancelled`](crate::JoinError::is_cancelled)).
///
/// ```
/// let rt = filch::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 7 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(from_thread).unwrap(), 7);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl Handle {
    /// The handle of the runtime entered on this thread (inside a task, a `block_on`, or a
    /// `spawn_blocking` job).
    ///
    /// # Panics
    /// Outside a runtime; see [`Handle::try_current`] for the non-panicking form.
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(err) => panic!("{err}"),
        }
    }

    /// The handle of the runtime entered on this thread, or an error outside one.
    ///
    /// ```
    /// assert!(filch::Handle::try_current().is_err());
    /// filch::run(async { assert!(filch::Handle::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|inner| Handle {
            inner: inner.clone(),
        })
        .ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this runtime; see [`filch::spawn`](crate::spawn).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, Id::next())
    }

    /// Runs a blocking closure on this runtime's blocking pool; see
    /// [`filch::spawn_blocking`](crate::spawn_blocking).
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.shared.blocking.spawn(&self.inner, f)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.inner.shared.num_workers())
            .field("shut_down", &self.inner.is_shutdown())
            .finish()
    }
}

/// Returned by [`Handle::try_current`] outside a runtime.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "there is no filch runtime on this thread: call this from a task, from inside \
             `filch::run(...)` or `Runtime::block_on(...)`, or spawn through a `filch::Handle`",
        )
    }
}

impl Error for TryCurrentError {}

/// Spawns a task on the current runtime, like asyncio's `create_task`: it is scheduled at once
/// and runs on the workers while the caller goes on. Await the returned [`JoinHandle`] for its
/// output; drop the handle to let it run detached.
///
/// ```
/// filch::run(async {
///     let task = filch::spawn(async { 40 + 2 });
///     // ... other work runs meanwhile ...
///     assert_eq!(task.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
/// Outside a runtime (there is nowhere to run the task), with a message that says what to do
/// instead.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Take the id first: if we panic, the future is dropped here, not in a half-made task.
    let id = Id::next();
    match context::with_current(|inner| inner.spawn(future, id)) {
        Some(join) => join,
        None => panic!(
            "filch::spawn called outside of a filch runtime: call it from a task or from inside \
             `filch::run(...)` / `Runtime::block_on(...)`, or use `Runtime::spawn` or \
             `Handle::spawn`"
        ),
    }
}

/// Runs a blocking closure on the current runtime's blocking pool and returns a handle to await
/// its result, so that blocking work (file I/O, a CPU-heavy computation, a blocking library call)
/// never holds a worker — the `asyncio.to_thread` of filch.
///
/// ```
/// filch::run(async {
///     let sum = filch::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
///
/// # Panics
/// Outside a runtime, as [`spawn`].
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::with_current(|inner| inner.shared.blocking.spawn(inner, f)) {
        Some(join) => join,
        None => panic!(
            "filch::spawn_blocking called outside of a filch runtime: call it from a task or from \
             inside `filch::run(...)` / `Runtime::block_on(...)`, or use \
             `Handle::spawn_blocking`"
        ),
    }
}
