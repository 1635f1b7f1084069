//! Structured concurrency: `TaskGroup` (asyncio's `TaskGroup`, Trio's nursery).
//!
//! # Design
//!
//! A group is an `Arc<Shared>` (see `shared.rs`) held by its owner and by every child. Each
//! child runs as an ordinary task whose future is a `Child` wrapper around the user's future. The
//! wrapper catches a panic of the user future, drops the user future, *then* reports the outcome
//! (value, error, panic) to the group; its own destructor reports a cancellation if nothing was
//! reported, and frees the child's place. So a child counts as finished exactly when its future,
//! with everything it owned, has been dropped — whether it completed, failed, was aborted, or its
//! runtime shut down. (A nested group it owned is dropped then too, which aborts the nested
//! children; those stop at their next poll, possibly after the outer `join` returned.)
//!
//! - **Failure** (an `Err` or a panic), in fail-fast mode: the reporting child, on its own
//!   worker, marks the group cancelled, aborts every running sibling through its `JoinHandle`
//!   and drops the queued ones, then wakes the task awaiting the group, which drops the scope
//!   body. Aborts and drops happen after the group's lock is released: they run user code and
//!   scheduler code.
//! - **Waiting**: `join` and the scope future are `Ready` once no child's future is left
//!   (`live == 0`) and, for a scope, the body has finished or been dropped.
//! - **Dropping** the group (or a `join`/scope future before it finished) closes it and aborts
//!   every child. A child that is in the middle of a poll on another worker stops when that poll
//!   returns; a destructor cannot wait for it. Nested groups cancel all the way down because a
//!   child's future, dropped when the child is cancelled, owns the nested group.
//! - **Limit**: beyond `with_limit(n)` running children, a spawned future is boxed and queued;
//!   the child that frees a place starts the next one, from its own worker.
//! - **Panics** are reported in [`GroupError`] like errors, never resumed by the group itself
//!   (as a panicking task's `JoinHandle` reports a `JoinError`): the group stays a value that can
//!   be inspected, and every failure comes back. [`GroupError::resume_panic`] turns a child's
//!   panic into the awaiting task's panic for code that prefers that.

mod error;
mod shared;

pub use error::{Failure, GroupError};

use shared::Shared;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

/// A group of child tasks that live no longer than the group: asyncio's `TaskGroup`.
///
/// - Children run in parallel on the workers, each a task returning `Result<T, E>`.
/// - In the default mode ([`new`](TaskGroup::new)), the first child failure — an `Err` or a panic
///   — cancels every other child. [`join`](TaskGroup::join) waits until every child has
///   finished, then returns the children's values in spawn order, or a [`GroupError`] with every
///   failure, in the order they happened.
/// - [`supervisor`](TaskGroup::supervisor) groups never cancel: failures are collected while the
///   other children go on.
/// - [`with_limit(n)`](TaskGroup::with_limit) runs at most `n` children at once; the others wait
///   their turn in spawn order.
/// - Dropping the group cancels every child: no child outlives its group.
///
/// For a body that spawns children and whose failure should cancel them too (the `async with`
/// form), see [`TaskGroup::scope`].
///
/// ```
/// use filch::TaskGroup;
/// use std::time::Duration;
///
/// filch::run(async {
///     let group = TaskGroup::new();
///     for i in 1..=3u64 {
///         group.spawn(async move {
///             filch::sleep(Duration::from_millis(10 * i)).await;
///             Ok::<_, std::io::Error>(i * i)
///         });
///     }
///     assert_eq!(group.join().await.unwrap(), [1, 4, 9]);
/// });
/// ```
pub struct TaskGroup<T: Send + 'static, E: Send + 'static> {
    shared: Arc<Shared<T, E>>,
}

/// What a scope body receives: spawns children into the scope's group. Cloneable, so that
/// children can spawn siblings; it must not outlive the scope.
pub struct Scope<E: Send + 'static> {
    shared: Arc<Shared<(), E>>,
}

impl<T: Send + 'static, E: Send + 'static> TaskGroup<T, E> {
    /// A group in which the first failure cancels every other child.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            shared: Arc::new(Shared::new(true, None)),
        }
    }

    /// A group in which failures are collected and the other children keep running.
    ///
    /// ```
    /// use filch::TaskGroup;
    ///
    /// filch::run(async {
    ///     let group = TaskGroup::supervisor();
    ///     group.spawn(async { Err::<u8, _>("first") });
    ///     group.spawn(async { filch::yield_now().await; Err("second") });
    ///     let err = group.join().await.unwrap_err();
    ///     assert_eq!(err.len(), 2, "the failure of one child did not cancel the other");
    /// });
    /// ```
    pub fn supervisor() -> TaskGroup<T, E> {
        TaskGroup {
            shared: Arc::new(Shared::new(false, None)),
        }
    }

    /// Runs at most `limit` children at once; the others wait, in spawn order, for a running
    /// child to finish.
    ///
    /// # Panics
    /// If `limit` is 0, or if children were already spawned.
    ///
    /// ```
    /// use filch::TaskGroup;
    ///
    /// filch::run(async {
    ///     let group = TaskGroup::new().with_limit(2);
    ///     for i in 0..10u32 {
    ///         group.spawn(async move { Ok::<_, ()>(i) });
    ///     }
    ///     assert_eq!(group.join().await.unwrap(), (0..10).collect::<Vec<_>>());
    /// });
    /// ```
    pub fn with_limit(self, limit: usize) -> TaskGroup<T, E> {
        assert!(
            limit > 0,
            "TaskGroup::with_limit(0): a group must run at least one child"
        );
        assert!(
            self.shared.spawned() == 0,
            "TaskGroup::with_limit must be called before the first spawn"
        );
        TaskGroup {
            shared: Arc::new(Shared::new(self.shared.fail_fast, Some(limit))),
        }
    }

    /// Spawns a child. It starts at once (or, under a limit, when its turn comes).
    ///
    /// Once the group is cancelled (a failure in fail-fast mode, or [`cancel`](Self::cancel)),
    /// the future is dropped without being polled.
    ///
    /// # Panics
    /// Outside a runtime, as [`filch::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.shared.spawn(None, future);
    }

    /// Spawns a child with a name, which appears in its [`Failure`] and in the
    /// [`JoinError`](crate::JoinError) machinery.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<Arc<str>>, future: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.shared.spawn(Some(name.into()), future);
    }

    /// Cancels every child. [`join`](Self::join) then returns a [`GroupError`] for which
    /// [`is_cancelled`](GroupError::is_cancelled) is true (with any failures that came first).
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// How many children have not finished yet.
    pub fn len(&self) -> usize {
        self.shared.live()
    }

    /// True when no child is running or waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every child has finished; returns their values in spawn order, or every
    /// failure.
    ///
    /// Not cancel-safe: dropping the `join` future drops the group, which cancels its children.
    pub async fn join(self) -> Result<Vec<T>, GroupError<E>> {
        // `self` lives in this future: dropping the future early cancels the children.
        poll_fn(|cx| self.shared.poll_finished(cx)).await;
        self.shared.finish()
    }
}

impl<E: Send + 'static> TaskGroup<(), E> {
    /// Runs `body` with a [`Scope`] to spawn children into, then waits for every child — the
    /// `async with asyncio.TaskGroup() as tg:` of filch.
    ///
    /// - The first failure, of a child or of the body (`Err`), cancels every child and the body
    ///   (the body's future is dropped where it stands).
    /// - The scope returns once the body and every child have finished: `Ok` with the body's
    ///   value, or a [`GroupError`] with every failure in the order they happened.
    /// - Dropping the scope future cancels the body and every child (so it is not cancel-safe in
    ///   `select!`: a losing scope is cancelled as a whole).
    ///
    /// Children return `Result<(), E>`; to pass values out, send them through a channel or
    /// collect them behind a mutex, or use the owned form ([`TaskGroup::join`]).
    ///
    /// ```
    /// use filch::TaskGroup;
    /// use std::sync::{Arc, Mutex};
    ///
    /// filch::run(async {
    ///     let found = Arc::new(Mutex::new(Vec::new()));
    ///     let total = TaskGroup::scope(|group| {
    ///         let found = found.clone();
    ///         async move {
    ///             for i in 0..4u32 {
    ///                 let found = found.clone();
    ///                 group.spawn(async move {
    ///                     found.lock().unwrap().push(i);
    ///                     Ok::<_, String>(())
    ///                 });
    ///             }
    ///             Ok(4)
    ///         }
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!(found.lock().unwrap().len(), total);
    /// });
    /// ```
    pub async fn scope<F, Fut, R>(body: F) -> Result<R, GroupError<E>>
    where
        F: FnOnce(Scope<E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        TaskGroup::new().run(body).await
    }

    /// [`scope`](Self::scope) with this group's settings ([`supervisor`](Self::supervisor),
    /// [`with_limit`](Self::with_limit)) and children.
    ///
    /// In a supervisor group, the body's `Err` is collected like a child's and cancels nothing.
    pub async fn run<F, Fut, R>(self, body: F) -> Result<R, GroupError<E>>
    where
        F: FnOnce(Scope<E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let scope = Scope {
            shared: self.shared.clone(),
        };
        let mut body = pin!(Some(body(scope)));
        let mut value = None;
        poll_fn(|cx| loop {
            // Registered before the body runs, so that a failure or `cancel` during its poll (from
            // a child on another worker, or from the body itself) wakes this task again.
            let (no_children, cancelled) = self.shared.watch(cx);
            if cancelled && body.is_some() {
                // A failure (or `cancel`) cancels the body too.
                body.set(None);
            }
            let Some(running) = body.as_mut().as_pin_mut() else {
                return if no_children {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                };
            };
            match running.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    body.set(None);
                    match result {
                        Ok(v) => value = Some(v),
                        Err(err) => self.shared.body_failed(err),
                    }
                    // Look at the group again, now without a body.
                }
            }
        })
        .await;
        self.shared.finish()?;
        Ok(value.expect("the body finished without an error"))
    }
}

impl<E: Send + 'static> Scope<E> {
    /// Spawns a child into the scope's group; see [`TaskGroup::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.shared.spawn(None, future);
    }

    /// Spawns a named child; see [`TaskGroup::spawn_named`].
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<Arc<str>>, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.shared.spawn(Some(name.into()), future);
    }

    /// Cancels every child and the body; the scope returns a [`GroupError`] for which
    /// [`is_cancelled`](GroupError::is_cancelled) is true.
    pub fn cancel(&self) {
        self.shared.cancel();
    }
}

impl<E: Send + 'static> Clone for Scope<E> {
    fn clone(&self) -> Scope<E> {
        Scope {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T: Send + 'static, E: Send + 'static> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        self.shared.close_and_cancel();
    }
}

impl<T: Send + 'static, E: Send + 'static> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("live", &self.shared.live())
            .field("fail_fast", &self.shared.fail_fast)
            .field("limit", &self.shared.limit)
            .finish()
    }
}

impl<E: Send + 'static> fmt::Debug for Scope<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("live", &self.shared.live())
            .finish()
    }
}
