//! `Runtime`: the worker pool, `block_on`, and shutdown.

use crate::handle::{EnterGuard, Handle};
use crate::task::JoinHandle;
use crate::{context, local, park_thread, scheduler};
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running filch runtime: worker threads, the injector, and the blocking pool.
///
/// Dropping it shuts it down: each worker stops at its next maintenance tick (every 61 task polls)
/// or when it runs out of work, so a few already-queued tasks may still be polled meanwhile; then
/// every unfinished task has its future dropped (its destructors run, and its join handle reports
/// cancellation), and the worker threads are joined. The drop also waits for running
/// `spawn_blocking` jobs, as they cannot be interrupted (except the one dropping the runtime, if
/// it is dropped from inside a job); [`shutdown_timeout`](Runtime::shutdown_timeout) bounds that
/// wait.
///
/// ```
/// let rt = filch::Runtime::new().unwrap();
/// let handle = rt.spawn(async { "hello" });
/// assert_eq!(rt.block_on(handle).unwrap(), "hello");
/// ```
pub struct Runtime {
    handle: Handle,
    /// The worker threads, or the worker a current-thread runtime lends to `block_on`.
    workers: scheduler::Workers,
    /// Set once `shutdown` ran, so that `Drop` after `shutdown_timeout` does not wait again.
    shut_down: bool,
    /// The slow-poll watchdog's registration (it holds a `Weak`): dropped with the runtime.
    _watched: Option<Arc<crate::watchdog::Watched>>,
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`](crate::Builder::new)).
    pub fn new() -> io::Result<Runtime> {
        crate::Builder::new().build()
    }

    pub(crate) fn from_parts(
        inner: scheduler::Handle,
        workers: scheduler::Workers,
        watched: Option<Arc<crate::watchdog::Watched>>,
    ) -> Runtime {
        Runtime {
            handle: Handle { inner },
            workers,
            shut_down: false,
            _watched: watched,
        }
    }

    /// Runs `future` to completion on the current thread, with this runtime entered (so
    /// `filch::spawn` works inside it), and returns its output. A panic in `future` propagates
    /// to the caller.
    ///
    /// On a multi-thread runtime, the tasks run on the workers meanwhile. On a
    /// [current-thread](crate::Builder::new_current_thread) runtime, this thread runs them (and
    /// the timers and sockets) while it waits for `future`; if another thread is already inside
    /// `block_on` on the same runtime, that one runs them, and this one takes over when it
    /// returns.
    ///
    /// # Panics
    /// When called from a task or from inside another `block_on`: blocking there would stall a
    /// worker (or deadlock); `.await` the future instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.handle.inner.clone());
        // The future runs with this thread's local set, for `spawn_local`.
        local::run(future, |root| match &self.workers {
            scheduler::Workers::Threads(_) => park_thread::block_on(root, &self.handle.inner),
            scheduler::Workers::Lent(lender) => lender.block_on(root, &self.handle.inner),
        })
    }

    /// Spawns a task on this runtime; see [`filch::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the blocking pool; see [`filch::spawn_blocking`](crate::spawn_blocking).
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Makes this runtime the current one on this thread until the guard is dropped; see
    /// [`Handle::enter`].
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// A handle to this runtime (a cheap clone), to spawn on it from anywhere.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Shuts the runtime down, waiting at most `timeout` for the worker threads (each finishes the
    /// poll it is in) and for running blocking jobs. Threads still busy after that are detached;
    /// every task that is not running has its future dropped either way.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        // A timeout too long for `Instant` (`Duration::MAX`) waits without a deadline.
        self.shutdown(Instant::now().checked_add(timeout));
    }

    fn shutdown(&mut self, deadline: Option<Instant>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        let shared = &self.handle.inner.shared;
        shared.begin_shutdown();
        // A runtime dropped from one of its own workers cannot wait for that worker.
        let on_own_worker = scheduler::in_worker_of(&self.handle.inner);
        match &mut self.workers {
            scheduler::Workers::Threads(threads) => {
                if !on_own_worker && shared.wait_workers_exited(deadline) {
                    for thread in threads.drain(..) {
                        let _ = thread.join();
                    }
                } else {
                    threads.clear();
                }
            }
            scheduler::Workers::Lent(lender) => {
                // No thread to wait for: the worker is back (nobody can be in `block_on`).
                lender.shut_down();
            }
        }
        shared.finish_shutdown();
        shared.blocking.shutdown(if on_own_worker {
            Some(Instant::now())
        } else {
            deadline
        });
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self.workers {
            scheduler::Workers::Threads(_) => "multi_thread",
            scheduler::Workers::Lent(_) => "current_thread",
        };
        f.debug_struct("Runtime")
            .field("flavor", &flavor)
            .field("workers", &self.handle.inner.shared.num_workers())
            .finish()
    }
}
