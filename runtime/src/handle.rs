//! `Handle`: a cloneable reference to a runtime, and the free functions that use the current one.

use crate::context;
use crate::scheduler;
use crate::task::{Id, JoinHandle, SpawnMeta};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

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

    /// Makes this runtime the current one on this thread until the guard is dropped, so that
    /// [`filch::spawn`](crate::spawn), `Handle::current`, timers and sockets work outside a task
    /// or `block_on` (tokio's `Handle::enter`). Guards must be dropped in the reverse order they
    /// were made, on the thread that made them.
    ///
    /// ```
    /// let rt = filch::Runtime::new().unwrap();
    /// let handle = {
    ///     let _guard = rt.enter();
    ///     filch::spawn(async { 6 * 7 }) // no block_on needed to spawn
    /// };
    /// assert_eq!(rt.block_on(handle).unwrap(), 42);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _inner: context::enter(self.inner.clone()),
            _handle: PhantomData,
        }
    }

    /// Runs `future` to completion on the current thread with this runtime entered, as
    /// [`Runtime::block_on`](crate::Runtime::block_on) does, from anywhere a `Handle` reaches
    /// (tokio's `Handle::block_on`).
    ///
    /// On a multi-thread runtime the workers run the tasks meanwhile. On a
    /// [current-thread](crate::Builder::new_current_thread) runtime, only
    /// `Runtime::block_on` runs tasks, timers and sockets: the future given here makes progress
    /// on its own, and what it waits for makes progress only while some thread is inside
    /// `Runtime::block_on`, as in tokio.
    ///
    /// # Panics
    /// When called from a task or from inside another `block_on`, as `Runtime::block_on`.
    ///
    /// ```
    /// let rt = filch::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let got = std::thread::spawn(move || handle.block_on(async { filch::spawn(async { 7 }).await }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(got.unwrap(), 7);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.inner.clone());
        crate::local::run(future, |root| {
            crate::park_thread::block_on(root, &self.inner)
        })
    }

    /// Spawns a task on this runtime; see [`filch::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, Id::next(), SpawnMeta::here())
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

    /// A snapshot of the runtime's counters and queues: per worker (polls, steals, parks, queue
    /// depth, busy time, ...) and for the runtime (live and spawned tasks, the injector, the
    /// blocking pool, the driver's timers, sources and turns). Always on; reading it takes a
    /// few locks briefly and stops nothing. See [`RuntimeMetrics`](crate::RuntimeMetrics).
    ///
    /// ```
    /// let rt = filch::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// rt.block_on(async {
    ///     let sleeper = filch::spawn(filch::sleep(std::time::Duration::from_secs(60)));
    ///     filch::yield_now().await;
    ///     let metrics = handle.metrics();
    ///     assert_eq!(metrics.workers.len(), handle.metrics().workers.len());
    ///     assert!(metrics.live_tasks >= 1);
    ///     sleeper.abort();
    /// });
    /// ```
    pub fn metrics(&self) -> crate::RuntimeMetrics {
        self.inner.shared.metrics()
    }

    /// Starts recording a [`Timeline`](crate::Timeline): every poll (task, start, duration),
    /// park, non-blocking driver turn and steal of every worker, keeping the last `capacity`
    /// events per worker. A recording in progress is dropped and a new one begins. While on, a
    /// worker reads the clock twice per poll and pushes to its own ring; off, it pays one
    /// relaxed load per poll. Tasks of `spawn_local` and the future given to `block_on` are not
    /// recorded (they do not run in the workers' task loop).
    ///
    /// See [`Timeline`](crate::Timeline) for an example.
    pub fn start_timeline(&self, capacity: usize) {
        self.inner.shared.start_timeline(capacity);
    }

    /// Stops the recording and returns its [`Timeline`](crate::Timeline) (empty if none was
    /// started). Write it with [`Timeline::write_chrome_trace`](crate::Timeline::write_chrome_trace)
    /// and open it in Perfetto.
    pub fn stop_timeline(&self) -> crate::Timeline {
        self.inner.shared.stop_timeline()
    }

    /// The runtime's live tasks: id, name, spawn location, state (idle, scheduled, running on
    /// which worker, completing), polls so far, and the task that spawned each, so that it
    /// prints (`Display`) as a tree. Taken while the tasks run: it locks one shard of the task
    /// list at a time, and costs nothing per poll. Not listed: `spawn_blocking` jobs and
    /// `spawn_local` tasks. See [`TaskDump`](crate::TaskDump).
    ///
    /// ```
    /// let rt = filch::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sleeper = filch::spawn(filch::sleep(std::time::Duration::from_secs(60)));
    ///     let line = line!() - 1;
    ///     let dump = filch::Handle::current().dump();
    ///     let task = dump.get(sleeper.id()).unwrap();
    ///     assert_eq!(task.location.line(), line);
    ///     assert_eq!(task.parent, None); // spawned by `block_on`'s future, not by a task
    ///     println!("{dump}");
    ///     sleeper.abort();
    /// });
    /// ```
    pub fn dump(&self) -> crate::TaskDump {
        crate::dump::dump(&self.inner.shared)
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

/// Keeps a runtime current on this thread; from [`Handle::enter`] or
/// [`Runtime::enter`](crate::Runtime::enter). Dropping it makes the runtime that was current
/// before current again.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _inner: context::EnterGuard,
    /// Borrows the handle, and is neither `Send` nor `Sync`: the guard restores a thread-local.
    _handle: PhantomData<(&'a Handle, *const ())>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
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
    // Read here: the closure below would end the `#[track_caller]` chain.
    let meta = SpawnMeta::here();
    match context::with_current(|inner| inner.spawn(future, id, meta)) {
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
