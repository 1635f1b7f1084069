//! The state a group shares with its children, and the child task wrapper.

use super::error::{Failure, GroupError};
use crate::context;
use crate::loom::lock;
use crate::loom::sync::Mutex;
use crate::scheduler;
use crate::task::{Id, JoinHandle, SpawnMeta};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

/// A child future waiting for a free slot under `with_limit`.
type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

pub(crate) struct Shared<T, E> {
    /// Whether the first failure cancels the rest (`TaskGroup::new`) or not (`supervisor`).
    pub(crate) fail_fast: bool,
    /// At most this many children run at once (`with_limit`).
    pub(crate) limit: Option<usize>,
    /// The runtime the children run on: the one entered at the first `spawn`.
    runtime: OnceLock<scheduler::Handle>,
    state: Mutex<State<T, E>>,
}

struct State<T, E> {
    /// One slot per child, by spawn order.
    slots: Vec<Slot<T>>,
    failures: Vec<Failure<E>>,
    /// Children spawned or queued whose future has not been dropped yet.
    live: usize,
    /// Children started as tasks whose future has not been dropped yet.
    running: usize,
    /// Children waiting for a free slot, in spawn order.
    queue: VecDeque<Queued<T, E>>,
    /// A failure (in fail-fast mode) or `cancel` has cancelled every child.
    cancelled: bool,
    /// `cancel` was called (as opposed to a failure cancelling the group).
    cancel_called: bool,
    /// A child was cancelled by something other than the group: its runtime shut down (the
    /// group's own handles are the only ones that could abort it). The group then ends with a
    /// cancellation, never with success: those children never finished.
    child_lost: bool,
    /// The group was joined or dropped: a later `spawn` is refused.
    closed: bool,
    /// The group was joined (`join` or the scope returned): a later `spawn` is a bug and panics.
    finished: bool,
    /// The task awaiting the group (`join` or the scope), woken when the last child is gone and
    /// on every failure.
    waiter: Option<Waker>,
}

enum Slot<T> {
    Queued,
    /// Spawned; the spawner has not stored the handle yet.
    Starting,
    Running(JoinHandle<()>),
    Finished(T),
    /// Failed or cancelled.
    Gone,
}

struct Queued<T, E> {
    index: usize,
    id: Id,
    /// Taken at `spawn`: the child's task is made later, by whichever task ends a sibling.
    meta: SpawnMeta,
    name: Option<Arc<str>>,
    future: Boxed<T, E>,
}

impl<T, E> Queued<T, E> {
    /// Drops a child that never became a task (its future may panic in its destructor: that
    /// is ignored, as for any cancelled child) and forgets its name.
    fn drop_unstarted(self) {
        crate::task::name::remove(self.id);
        let _ = catch_unwind(AssertUnwindSafe(|| drop(self.future)));
    }
}

enum Outcome<T, E> {
    Value(T),
    Error(E),
    Panic(Box<dyn std::any::Any + Send>),
    Cancelled,
}

/// Handles and futures taken out of the state under its lock, to be aborted and dropped after the
/// lock is released: aborting schedules a task, and dropping a future runs user code (which may
/// spawn into this very group).
#[must_use]
struct Cancelled<T, E> {
    handles: Vec<JoinHandle<()>>,
    queued: Vec<Queued<T, E>>,
}

impl<T, E> Cancelled<T, E> {
    fn none() -> Cancelled<T, E> {
        Cancelled {
            handles: Vec::new(),
            queued: Vec::new(),
        }
    }

    fn run(self) {
        // At once where the child is idle (its future dropped here, with whatever it owns, a
        // nested group included): a cancelled group's children are gone when its owner moves
        // on, all the way down. A child mid-poll on another worker is dropped when its poll
        // returns. (Found by the soak: `abort` only scheduled the drop, so the grandchildren of a
        // cancelled child outlived the outer group's `join` for a moment.)
        for handle in &self.handles {
            handle.cancel_now();
        }
        drop(self.handles);
        // A queued child's future never ran; dropping it may still panic: keep going.
        for queued in self.queued {
            queued.drop_unstarted();
        }
    }
}

impl<T, E> State<T, E> {
    /// Marks the group cancelled and takes out everything to abort.
    fn cancel(&mut self) -> Cancelled<T, E> {
        if self.cancelled {
            return Cancelled::none();
        }
        self.cancelled = true;
        let mut handles = Vec::new();
        for slot in self.slots.iter_mut() {
            if matches!(slot, Slot::Running(_)) {
                if let Slot::Running(handle) = std::mem::replace(slot, Slot::Starting) {
                    handles.push(handle);
                }
            }
        }
        let queued: Vec<_> = self.queue.drain(..).collect();
        for q in &queued {
            self.slots[q.index] = Slot::Gone;
        }
        self.live -= queued.len();
        Cancelled { handles, queued }
    }

    fn wake_waiter(&mut self) -> Option<Waker> {
        self.waiter.take()
    }
}

impl<T: Send + 'static, E: Send + 'static> Shared<T, E> {
    pub(crate) fn new(fail_fast: bool, limit: Option<usize>) -> Shared<T, E> {
        Shared {
            fail_fast,
            limit,
            runtime: OnceLock::new(),
            state: Mutex::new(State {
                slots: Vec::new(),
                failures: Vec::new(),
                live: 0,
                running: 0,
                queue: VecDeque::new(),
                cancelled: false,
                cancel_called: false,
                child_lost: false,
                closed: false,
                finished: false,
                waiter: None,
            }),
        }
    }

    fn runtime(&self) -> &scheduler::Handle {
        if let Some(rt) = self.runtime.get() {
            return rt;
        }
        let current = context::with_current(scheduler::Handle::clone).unwrap_or_else(|| {
            panic!(
                "TaskGroup::spawn called outside of a filch runtime: a group's children are \
                 tasks; spawn them from a task or from inside `filch::run(...)` / \
                 `Runtime::block_on(...)`"
            )
        });
        self.runtime.get_or_init(|| current)
    }

    /// Adds a child: starts it now, or queues it if the limit is reached. Refused (the future is
    /// dropped unpolled) once the group is cancelled.
    ///
    /// # Panics
    /// Outside a runtime, or if the group has already finished.
    #[track_caller]
    pub(crate) fn spawn<F>(self: &Arc<Self>, name: Option<Arc<str>>, future: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        // The caller of `TaskGroup::spawn` (`#[track_caller]` all the way), and the task that
        // owns the group (or a child spawning a sibling): the child's parent in the dump.
        let meta = SpawnMeta::here();
        let runtime = self.runtime();
        let mut state = lock(&self.state);
        if state.finished {
            drop(state);
            panic!(
                "TaskGroup: spawn called after the group finished; no child may outlive its \
                 group (a `Scope` was kept past the end of its scope)"
            );
        }
        if state.cancelled {
            drop(state);
            drop(future);
            return;
        }
        // Only now, so that a refused spawn leaves no name behind. (The name table's lock is
        // never held while this one is taken.)
        let id = crate::task::name::id_for(name.clone());
        let index = state.slots.len();
        state.live += 1;
        if self.limit.is_some_and(|limit| state.running >= limit) {
            state.slots.push(Slot::Queued);
            state.queue.push_back(Queued {
                index,
                id,
                meta,
                name,
                future: Box::pin(future),
            });
            return;
        }
        state.running += 1;
        state.slots.push(Slot::Starting);
        drop(state);
        self.start(runtime, index, id, meta, name, future);
    }

    /// Spawns the child's task and stores its handle.
    fn start<F>(
        self: &Arc<Self>,
        runtime: &scheduler::Handle,
        index: usize,
        id: Id,
        meta: SpawnMeta,
        name: Option<Arc<str>>,
        future: F,
    ) where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let child = Child {
            future: Some(future),
            shared: self.clone(),
            index,
            id,
            name: name.clone(),
            ended: false,
        };
        let handle = runtime.spawn(child, id, meta);
        let mut state = lock(&self.state);
        if matches!(state.slots[index], Slot::Starting) && !state.cancelled {
            state.slots[index] = Slot::Running(handle);
            return;
        }
        let cancelled = state.cancelled;
        drop(state);
        // The child finished already, or the group was cancelled while it started.
        if cancelled {
            handle.abort();
        }
    }

    /// A child has ended and its future is gone: records the outcome, cancels the siblings on a
    /// failure (fail-fast), frees the child's place and starts a queued child if one waits. One
    /// lock round trip; the side effects run after it.
    fn child_ended(
        self: &Arc<Self>,
        index: usize,
        id: Id,
        name: &Option<Arc<str>>,
        outcome: Outcome<T, E>,
    ) {
        let mut state = lock(&self.state);
        // Cancelled, yet not by the group: its runtime shut down under it (regression: a group
        // joined from another runtime returned `Ok` for children that never finished).
        let lost = matches!(outcome, Outcome::Cancelled) && !state.cancelled;
        let (slot, failure) = match outcome {
            Outcome::Value(value) => (Slot::Finished(value), None),
            Outcome::Cancelled => (Slot::Gone, None),
            Outcome::Error(err) => (
                Slot::Gone,
                Some(Failure::error(Some(id), name.clone(), err)),
            ),
            Outcome::Panic(payload) => {
                (Slot::Gone, Some(Failure::panic(id, name.clone(), payload)))
            }
        };
        // Our own handle, if the spawner stored it: dropped after the lock is released.
        let own = std::mem::replace(&mut state.slots[index], slot);
        let failed = failure.is_some() || lost;
        let mut cancelled = Cancelled::none();
        if let Some(failure) = failure {
            state.failures.push(failure);
        }
        if lost {
            state.child_lost = true;
        }
        if failed && self.fail_fast {
            cancelled = state.cancel();
        }
        state.live -= 1;
        state.running -= 1;
        let next = if state.cancelled {
            None
        } else {
            state.queue.pop_front()
        };
        if let Some(next) = &next {
            state.running += 1;
            state.slots[next.index] = Slot::Starting;
        }
        let waiter = if failed || state.live == 0 {
            state.wake_waiter()
        } else {
            None
        };
        drop(state);
        drop(own);
        cancelled.run();
        if let Some(next) = next {
            self.start_queued(next);
        }
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Starts a child that waited for a free place, unless the runtime is shutting down.
    fn start_queued(self: &Arc<Self>, next: Queued<T, E>) {
        let runtime = self
            .runtime
            .get()
            .expect("a child ran, so the runtime is known");
        if !runtime.is_shutdown() {
            self.start(
                runtime,
                next.index,
                next.id,
                next.meta,
                next.name,
                next.future,
            );
            return;
        }
        // The runtime is going away: the queued children will never run.
        let mut state = lock(&self.state);
        let cancelled = state.cancel();
        state.live -= 1;
        state.running -= 1;
        // The group is cancelled: its awaiting task must hear of it (to drop a scope body).
        let waiter = state.wake_waiter();
        drop(state);
        cancelled.run();
        next.drop_unstarted();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Records the scope body's error, as a child failure would be.
    pub(crate) fn body_failed(&self, error: E) {
        let mut state = lock(&self.state);
        state.failures.push(Failure::error(None, None, error));
        let cancelled = if self.fail_fast {
            state.cancel()
        } else {
            Cancelled::none()
        };
        drop(state);
        cancelled.run();
    }

    /// Cancels every child (`TaskGroup::cancel`, `Scope::cancel`).
    pub(crate) fn cancel(&self) {
        let mut state = lock(&self.state);
        if !state.cancelled {
            state.cancel_called = true;
        }
        let cancelled = state.cancel();
        let waiter = state.wake_waiter();
        drop(state);
        cancelled.run();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Refuses later spawns and cancels every child: the group is being dropped.
    pub(crate) fn close_and_cancel(&self) {
        let mut state = lock(&self.state);
        if state.closed {
            // Already finished (joined): nothing runs, and a later spawn must still panic.
            return;
        }
        state.closed = true;
        let cancelled = state.cancel();
        drop(state);
        cancelled.run();
    }

    /// For the scope: registers `cx` to be woken when the last child is gone and on every
    /// failure or cancellation, whatever the number of children, and returns (no child left,
    /// cancelled) as seen under the same lock, so that no cancellation can slip in between.
    pub(crate) fn watch(&self, cx: &mut Context<'_>) -> (bool, bool) {
        let state = lock(&self.state);
        if state
            .waiter
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            return (state.live == 0, state.cancelled);
        }
        // Clone and drop wakers outside the lock, as in `poll_finished`.
        drop(state);
        let new = cx.waker().clone();
        let mut state = lock(&self.state);
        let old = state.waiter.replace(new);
        let seen = (state.live == 0, state.cancelled);
        drop(state);
        drop(old);
        seen
    }

    /// Children ever spawned (or queued).
    pub(crate) fn spawned(&self) -> usize {
        lock(&self.state).slots.len()
    }

    /// `Ready` once every child's future is gone; until then, `cx` is woken then and on every
    /// failure.
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        let state = lock(&self.state);
        if state.live == 0 {
            return Poll::Ready(());
        }
        if state
            .waiter
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        // A waker's clone and drop are user code: never under the group's lock (a waker whose
        // drop drops this group would lock it again).
        drop(state);
        let new = cx.waker().clone();
        let mut state = lock(&self.state);
        if state.live == 0 {
            drop(state);
            return Poll::Ready(());
        }
        let old = state.waiter.replace(new);
        drop(state);
        drop(old);
        Poll::Pending
    }

    /// Closes the finished group and takes its outcome: every child's value in spawn order, or
    /// the failures.
    pub(crate) fn finish(&self) -> Result<Vec<T>, GroupError<E>> {
        let mut state = lock(&self.state);
        debug_assert_eq!(state.live, 0);
        state.closed = true;
        state.finished = true;
        if !state.failures.is_empty() || state.cancelled || state.child_lost {
            let failures = std::mem::take(&mut state.failures);
            // Cancelled by `cancel`, or by the runtime shutting down, rather than by a failure.
            let cancelled =
                state.cancel_called || state.child_lost || (state.cancelled && failures.is_empty());
            return Err(GroupError::new(failures, cancelled));
        }
        let slots = std::mem::take(&mut state.slots);
        drop(state);
        Ok(slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Finished(value) => Some(value),
                _ => None,
            })
            .collect())
    }

    /// Children not yet finished.
    pub(crate) fn live(&self) -> usize {
        lock(&self.state).live
    }
}

/// The task a child runs in: the user's future, reporting its outcome to the group.
struct Child<F, T: Send + 'static, E: Send + 'static> {
    /// # Invariant
    /// Structurally pinned: never moved while `Some`, dropped in place by writing `None`.
    future: Option<F>,
    shared: Arc<Shared<T, E>>,
    index: usize,
    id: Id,
    name: Option<Arc<str>>,
    /// The outcome was reported from `poll`, after the future was dropped.
    ended: bool,
}

impl<F, T, E> Future for Child<F, T, E>
where
    F: Future<Output = Result<T, E>>,
    T: Send + 'static,
    E: Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only `future` is pinned, and it is neither moved nor handed out unpinned; the
        // other fields are plain data.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(());
        };
        // SAFETY: `future` stays in place inside the pinned `Child` until dropped in place.
        let future = unsafe { Pin::new_unchecked(future) };
        let outcome = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => Outcome::Value(value),
            Ok(Poll::Ready(Err(err))) => Outcome::Error(err),
            Err(payload) => Outcome::Panic(payload),
        };
        // The future goes before the group hears of the outcome, so that the child counts as
        // finished only once its own resources (a nested group, say) are released.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.future = None));
        let outcome = match (outcome, dropped) {
            (Outcome::Value(_), Err(payload)) => Outcome::Panic(payload),
            (outcome, _) => outcome,
        };
        this.ended = true;
        this.shared
            .child_ended(this.index, this.id, &this.name, outcome);
        Poll::Ready(())
    }
}

impl<F, T: Send + 'static, E: Send + 'static> Drop for Child<F, T, E> {
    fn drop(&mut self) {
        // Dropping in place, as the pinning invariant allows. A cancelled child's future may
        // panic in its destructor: that is reported as the child's panic.
        if self.ended {
            return;
        }
        let dropped = catch_unwind(AssertUnwindSafe(|| self.future = None));
        let outcome = match dropped {
            Ok(()) => Outcome::Cancelled,
            Err(payload) => Outcome::Panic(payload),
        };
        self.shared
            .child_ended(self.index, self.id, &self.name, outcome);
    }
}

#[cfg(all(test, filch_loom))]
#[path = "loom_tests.rs"]
mod loom_tests;

#[cfg(all(test, not(filch_loom)))]
mod tests {
    //! The child wrapper driven by hand, without a runtime, so that Miri checks its pin
    //! projection and its drop order.
    use super::*;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// A group with one child in place, as `spawn` leaves it just before `start`.
    fn child<F>(
        fail_fast: bool,
        future: F,
    ) -> (Arc<Shared<String, String>>, Child<F, String, String>)
    where
        F: Future<Output = Result<String, String>>,
    {
        let shared = Arc::new(Shared::new(fail_fast, None));
        {
            let mut state = lock(&shared.state);
            state.slots.push(Slot::Starting);
            state.live = 1;
            state.running = 1;
        }
        let child = Child {
            future: Some(future),
            shared: shared.clone(),
            index: 0,
            id: Id::next(),
            name: Some("c".into()),
            ended: false,
        };
        (shared, child)
    }

    fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(Noop));
        f.poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_value_is_stored_and_the_place_freed_once_the_future_is_gone() {
        let mut pending_once = true;
        let future = std::future::poll_fn(move |_| {
            if std::mem::take(&mut pending_once) {
                Poll::Pending
            } else {
                Poll::Ready(Ok("v".to_owned()))
            }
        });
        let (shared, child) = child(true, future);
        let mut child = Box::pin(child);
        assert!(poll(child.as_mut()).is_pending());
        assert!(poll(child.as_mut()).is_ready());
        assert_eq!(shared.live(), 0, "the future was dropped in the last poll");
        drop(child);
        assert_eq!(shared.finish().unwrap(), ["v"]);
    }

    #[test]
    fn a_panic_is_caught_and_reported_as_a_failure() {
        let (shared, child) = child(true, async { panic!("child bug") });
        let mut child = Box::pin(child);
        assert!(poll(child.as_mut()).is_ready());
        drop(child);
        let err = shared.finish().unwrap_err();
        assert!(err.failures()[0].is_panic());
        assert_eq!(err.failures()[0].name(), Some("c"));
    }

    #[test]
    fn a_child_dropped_while_pending_counts_as_cancelled_not_failed() {
        let (shared, child) = child(false, std::future::pending());
        let mut child = Box::pin(child);
        assert!(poll(child.as_mut()).is_pending());
        // Dropped without the group cancelling it (as its runtime's shutdown does): the group
        // cannot report success for a child that never finished.
        drop(child);
        assert_eq!(shared.live(), 0);
        let err = shared.finish().unwrap_err();
        assert!(err.is_cancelled());
        assert!(err.is_empty(), "a cancellation is not a failure");
    }
}
