//! `join_all` and `try_join_all`.

use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::Mutex;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::mem;
use std::pin::Pin;
// std's `Arc` even under loom: `Waker::from` needs it, and the counts are not the protocol.
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Runs every future of `iter` concurrently in the calling task and returns their outputs in
/// input order — asyncio's `gather`.
///
/// Only the children that were woken are polled again, so `n` futures that each wake once cost
/// `O(n)` polls. To run the futures in parallel on several workers, `spawn` them and join the
/// handles instead (`join_all(handles)`).
///
/// Not cancel-safe in `select!`: dropping a `JoinAll` drops every child and the outputs gathered
/// so far.
///
/// ```
/// filch::run(async {
///     let squares = filch::join_all((1..=4u64).map(|n| async move { n * n })).await;
///     assert_eq!(squares, [1, 4, 9, 16]);
/// });
/// ```
pub fn join_all<I>(iter: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    JoinAll {
        inner: Gather::new(iter.into_iter().map(IntoFuture::into_future).collect()),
    }
}

/// Like [`join_all`] for futures returning `Result`: `Ok` with every value in input order, or the
/// first `Err` as soon as it happens, in which case the other futures are dropped at once.
///
/// Not cancel-safe in `select!`, as [`join_all`].
///
/// ```
/// filch::run(async {
///     let ok = filch::try_join_all((1..=2).map(|i| async move { Ok::<_, String>(i) })).await;
///     assert_eq!(ok, Ok(vec![1, 2]));
///     let err = filch::try_join_all((1..=3).map(|i| async move {
///         if i == 2 { Err(format!("{i} failed")) } else { Ok(i) }
///     }))
///     .await;
///     assert_eq!(err, Err("2 failed".to_owned()));
/// });
/// ```
pub fn try_join_all<I, T, E>(iter: I) -> TryJoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryJoinAll {
        inner: Gather::new(iter.into_iter().map(IntoFuture::into_future).collect()),
    }
}

/// The future of [`join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<F: Future> {
    inner: Gather<F>,
}

/// The future of [`try_join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryJoinAll<F: Future> {
    inner: Gather<F>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Gather` pins its children in its own heap allocation, so `JoinAll` is `Unpin`.
        match self.inner.poll_children(cx, |_| false) {
            Poll::Ready(()) => Poll::Ready(self.inner.take_outputs()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.poll_children(cx, |out| out.is_err()) {
            Poll::Ready(()) => Poll::Ready(self.inner.take_outputs().into_iter().collect()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt("JoinAll", f)
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt("TryJoinAll", f)
    }
}

enum Slot<F: Future> {
    Pending(F),
    Done(F::Output),
    Taken,
}

/// The shared core: children in a pinned boxed slice, one waker per child, and the queue of
/// children that were woken.
pub(super) struct Gather<F: Future> {
    /// # Invariant
    /// Never moved out of or reallocated while a child is `Pending`: a child is pinned in place
    /// from its first poll until it is dropped in place (replaced by `Done`, or with the box).
    slots: Box<[Slot<F>]>,
    /// Each child's waker, and its state.
    wakers: Vec<(Arc<ChildWaker>, Waker)>,
    ready: Arc<ReadyQueue>,
    remaining: usize,
    /// Set when a child's output stopped the gathering early (`try_join_all`'s first `Err`).
    stopped_at: Option<usize>,
    /// The outputs were handed out: polling again is a bug.
    taken: bool,
}

/// Indices of children woken since the last poll, and the parent task's waker.
struct ReadyQueue {
    woken: Mutex<Vec<usize>>,
    /// Behind an `Arc` so that a child's wake copies it out of the lock without running the
    /// waker's own clone (user code) under it.
    parent: Mutex<Option<Arc<Waker>>>,
}

/// The children taken from the woken queue for one poll. Whatever is not polled by the time it
/// is dropped (an early return, or a child's panic unwinding through the poll) goes back to the
/// front of the queue, with its `queued` mark still set, so that a later poll runs it: a woken
/// child is never lost, even if the caller catches a child's panic and polls again.
struct Batch {
    ready: Arc<ReadyQueue>,
    rest: std::vec::IntoIter<usize>,
    /// A child taken and then not polled (the budget was spent): it goes back first.
    put_back: Option<usize>,
}

impl Batch {
    fn take(ready: Arc<ReadyQueue>) -> Batch {
        let rest = mem::take(&mut *lock(&ready.woken)).into_iter();
        Batch {
            ready,
            rest,
            put_back: None,
        }
    }

    /// Returns `index`, just taken and not polled, to the front of what goes back to the queue.
    fn put_back(&mut self, index: usize) {
        self.put_back = Some(index);
    }
}

impl Iterator for Batch {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.rest.next()
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if self.rest.len() == 0 && self.put_back.is_none() {
            return;
        }
        let mut queue = lock(&self.ready.woken);
        let later = mem::take(&mut *queue);
        queue.extend(self.put_back.take());
        queue.extend(self.rest.by_ref());
        queue.extend(later);
    }
}

struct ChildWaker {
    index: usize,
    /// Already in `woken`: a second wake before the next poll adds nothing.
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // AcqRel: pairs with the store(false) before the child is polled again.
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.ready.woken).push(self.index);
        // Only the `Arc` is cloned under the lock; the parent's waker runs after it.
        let parent = lock(&self.ready.parent).clone();
        if let Some(parent) = parent {
            parent.wake_by_ref();
        }
    }
}

impl<F: Future> Gather<F> {
    pub(super) fn new(futures: Vec<F>) -> Gather<F> {
        let n = futures.len();
        let ready = Arc::new(ReadyQueue {
            woken: Mutex::new((0..n).collect()),
            parent: Mutex::new(None),
        });
        let wakers = (0..n)
            .map(|index| {
                let child = Arc::new(ChildWaker {
                    index,
                    queued: AtomicBool::new(true),
                    ready: ready.clone(),
                });
                (child.clone(), Waker::from(child))
            })
            .collect();
        Gather {
            slots: futures.into_iter().map(Slot::Pending).collect(),
            wakers,
            ready,
            remaining: n,
            stopped_at: None,
            taken: false,
        }
    }

    /// Polls the woken children; `Ready` once all are done, or once `stop` is true of an output.
    pub(super) fn poll_children(
        &mut self,
        cx: &mut Context<'_>,
        stop: impl Fn(&F::Output) -> bool,
    ) -> Poll<()> {
        assert!(
            !self.taken,
            "a join_all/try_join_all/race future was polled after it completed"
        );
        if self.remaining == 0 || self.stopped_at.is_some() {
            return Poll::Ready(());
        }
        self.register_parent(cx);
        // Only a budget spent by the children polled here stops the loop. One already spent on
        // entry (by a sibling in the same task) says nothing of these children: those that touch
        // no leaf owe the budget nothing, and a check before the first child would keep them from
        // ever running if every poll comes after such a sibling (regression test
        // `join_all_entered_with_a_spent_budget_still_runs_children_that_spend_none`). Leaf
        // children are then each told `Pending`, as before the check.
        let spent_on_entry = crate::coop::is_exhausted();
        // Dropped on every way out of the loop (a return, a child's panic): see `Batch`.
        let mut batch = Batch::take(self.ready.clone());
        while let Some(index) = batch.next() {
            if !spent_on_entry && crate::coop::is_exhausted() {
                // Every child left would only be told `Pending` by the budget and queue itself
                // again: with many children that made each poll cost O(n) for 128 children's
                // progress (found by the study's semaphore row). The rest stay queued (`Batch`'s
                // drop puts this one back too) and the task comes back after its turn.
                batch.put_back(index);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(output) = self.poll_child(index) {
                let stops = stop(&output);
                self.slots[index] = Slot::Done(output);
                if stops {
                    self.stopped_at = Some(index);
                    // The other children are dropped now, not when the combinator is.
                    for slot in self.slots.iter_mut() {
                        if matches!(slot, Slot::Pending(_)) {
                            *slot = Slot::Taken;
                        }
                    }
                    return Poll::Ready(());
                }
            }
        }
        if self.remaining == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Polls child `index` if it is still pending; its output if it finished (the finished
    /// future is dropped in place, and the slot left `Taken`).
    fn poll_child(&mut self, index: usize) -> Option<F::Output> {
        let Slot::Pending(future) = &mut self.slots[index] else {
            return None;
        };
        // SAFETY: the slot lives in a heap slice that is never moved or reallocated (see
        // `slots`), and a pending child is only ever dropped in place.
        let future = unsafe { Pin::new_unchecked(future) };
        let (child, waker) = &self.wakers[index];
        // Release the child's "queued" mark first: a wake during this poll queues it again.
        child.queued.store(false, Ordering::Release);
        match future.poll(&mut Context::from_waker(waker)) {
            Poll::Ready(output) => {
                // Dropping the finished future in place, as pinning allows.
                self.slots[index] = Slot::Taken;
                self.remaining -= 1;
                Some(output)
            }
            Poll::Pending => None,
        }
    }

    /// The next child to finish, with its index; `None` once every child has finished (or been
    /// taken). The children woken but not polled yet stay queued for the next call.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        self.register_parent(cx);
        // Dropped on every way out of the loop (a return, a child's panic): see `Batch`.
        let mut batch = Batch::take(self.ready.clone());
        while let Some(index) = batch.next() {
            // Here, unlike in `poll_children`, also when the budget was spent on entry: the
            // children are join handles (`as_completed`, `wait`), leaves that the spent budget
            // would each tell `Pending`.
            if crate::coop::is_exhausted() {
                batch.put_back(index);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(output) = self.poll_child(index) {
                // The children not polled yet go back to the queue when the batch is dropped.
                return Poll::Ready(Some((index, output)));
            }
        }
        Poll::Pending
    }

    fn register_parent(&self, cx: &Context<'_>) {
        {
            let parent = lock(&self.ready.parent);
            if parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return;
            }
        }
        // Cloned and dropped outside the lock: a waker's clone and drop are user code.
        let new = Arc::new(cx.waker().clone());
        let old = lock(&self.ready.parent).replace(new);
        drop(old);
    }

    /// How many children have not finished.
    pub(super) fn remaining(&self) -> usize {
        self.remaining
    }

    /// The outputs in input order; after an early stop, only the output that stopped it.
    pub(super) fn take_outputs(&mut self) -> Vec<F::Output> {
        self.taken = true;
        let take = |slot: &mut Slot<F>| match mem::replace(slot, Slot::Taken) {
            Slot::Done(output) => Some(output),
            _ => None,
        };
        match self.stopped_at {
            Some(index) => take(&mut self.slots[index]).into_iter().collect(),
            None => self.slots.iter_mut().filter_map(take).collect(),
        }
    }

    /// Each unfinished child, by reference.
    pub(super) fn pending(&self) -> impl Iterator<Item = &F> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Pending(future) => Some(future),
            _ => None,
        })
    }

    /// Takes every unfinished child out, with its index. Only for `Unpin` children, which may
    /// move.
    pub(super) fn take_pending(&mut self) -> Vec<(usize, F)>
    where
        F: Unpin,
    {
        self.remaining = 0;
        // The children keep their wakers until polled again elsewhere; they must not wake the
        // task that polled this `Gather` any more.
        let parent = lock(&self.ready.parent).take();
        drop(parent);
        let mut taken = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if matches!(slot, Slot::Pending(_)) {
                if let Slot::Pending(future) = mem::replace(slot, Slot::Taken) {
                    taken.push((index, future));
                }
            }
        }
        taken
    }

    pub(super) fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("len", &self.slots.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    //! Polled by hand, without a runtime, so that Miri checks the pinning in `Gather`.
    use super::*;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Pending until `Yield::ready` is set, waking itself on every poll.
    struct Yield(u32);
    impl Future for Yield {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 == 0 {
                return Poll::Ready(7);
            }
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn gathers_in_order_polling_only_woken_children() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut all = join_all([Yield(2), Yield(0), Yield(1)]);
        let mut polls = 0;
        let out = loop {
            polls += 1;
            if let Poll::Ready(out) = Pin::new(&mut all).poll(&mut cx) {
                break out;
            }
        };
        assert_eq!(out, [7, 7, 7]);
        assert_eq!(polls, 3);
    }

    #[test]
    #[should_panic(expected = "polled after it completed")]
    fn polling_a_finished_try_join_all_again_is_a_clear_bug() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut all = try_join_all([std::future::ready(Err::<u8, u8>(1))]);
        assert_eq!(Pin::new(&mut all).poll(&mut cx), Poll::Ready(Err(1)));
        let _ = Pin::new(&mut all).poll(&mut cx);
    }

    #[test]
    fn try_join_all_drops_the_rest_on_error() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        type Boxed = Pin<Box<dyn Future<Output = Result<u32, u32>>>>;
        let futures: Vec<Boxed> = vec![
            Box::pin(std::future::pending()),
            Box::pin(std::future::ready(Err(3))),
        ];
        let mut all = try_join_all(futures);
        assert_eq!(Pin::new(&mut all).poll(&mut cx), Poll::Ready(Err(3)));
    }
}
