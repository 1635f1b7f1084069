//! Unit tests of the task cell on its own, with a hand-cranked scheduler: every state transition
//! and every way a task's memory is released. They run under Miri (see `.ci/run`), which checks
//! the unsafe code for undefined behaviour and leaks.

use super::*;
use crate::loom::lock;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A scheduler whose run queue is turned by the test.
#[derive(Default)]
struct Sched {
    queue: Mutex<VecDeque<Notified<Arc<Sched>>>>,
    yields: AtomicUsize,
}

type TestSched = Arc<Sched>;

impl Schedule for TestSched {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }
    fn schedule(&self, task: Notified<Self>) {
        lock(&self.queue).push_back(task);
    }
    fn yield_now(&self, task: Notified<Self>) {
        self.yields.fetch_add(1, SeqCst);
        self.schedule(task);
    }
}

impl Sched {
    fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (notified, join) = unowned(future, self.clone(), Id::next());
        self.schedule(notified);
        join
    }

    /// Runs every queued task once; returns how many ran.
    fn tick(self: &Arc<Self>) -> usize {
        let batch: Vec<_> = lock(&self.queue).drain(..).collect();
        let n = batch.len();
        for task in batch {
            task.run();
        }
        n
    }

    fn queued(&self) -> usize {
        lock(&self.queue).len()
    }
}

/// Counts wake-ups.
#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn poll_join<T>(join: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(waker))
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Pending until `release` is called; stores the latest waker where the test can reach it.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Option<Waker>)>>);

impl Gate {
    fn wait(&self) -> GateWait {
        GateWait(self.clone())
    }
    fn release(&self) {
        let waker = {
            let mut g = lock(&self.0);
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
    fn take_waker(&self) -> Option<Waker> {
        lock(&self.0).1.take()
    }
}

struct GateWait(Gate);

impl Future for GateWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = lock(&(self.0).0);
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn completes_and_joins() {
    let sched = Arc::new(Sched::default());
    let mut join = sched.spawn(async { 7 });
    assert_eq!(sched.tick(), 1);
    assert!(join.is_finished());
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(7))));
}

#[test]
fn join_waker_is_woken_on_completion() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let mut join = sched.spawn({
        let gate = gate.clone();
        async move {
            gate.wait().await;
            "done"
        }
    });
    let count = Arc::new(CountWaker::default());
    let waker = Waker::from(count.clone());
    assert!(poll_join(&mut join, &waker).is_pending());
    sched.tick();
    assert!(poll_join(&mut join, &waker).is_pending());
    gate.release();
    assert_eq!(sched.tick(), 1);
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(matches!(
        poll_join(&mut join, &waker),
        Poll::Ready(Ok("done"))
    ));
}

#[test]
fn join_waker_can_be_replaced() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let mut join = sched.spawn(gate.wait());
    let first = Arc::new(CountWaker::default());
    let second = Arc::new(CountWaker::default());
    assert!(poll_join(&mut join, &Waker::from(first.clone())).is_pending());
    assert!(poll_join(&mut join, &Waker::from(second.clone())).is_pending());
    sched.tick();
    gate.release();
    sched.tick();
    assert_eq!(first.0.load(SeqCst), 0);
    assert_eq!(second.0.load(SeqCst), 1);
    assert!(poll_join(&mut join, &Waker::from(second)).is_ready());
}

#[test]
fn output_dropped_by_runner_when_handle_dropped_first() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let out = DropCount(drops.clone());
    drop(sched.spawn(async move { out }));
    assert_eq!(drops.load(SeqCst), 0);
    sched.tick();
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn output_dropped_by_handle_when_dropped_after_completion() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let out = DropCount(drops.clone());
    let join = sched.spawn(async move { out });
    sched.tick();
    assert_eq!(drops.load(SeqCst), 0);
    drop(join);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn handle_dropped_with_join_waker_set() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let mut join = sched.spawn(gate.wait());
    let count = Arc::new(CountWaker::default());
    assert!(poll_join(&mut join, &Waker::from(count.clone())).is_pending());
    sched.tick();
    drop(join);
    gate.release();
    sched.tick();
    assert_eq!(
        count.0.load(SeqCst),
        0,
        "a dropped handle's waker is not woken"
    );
    // The Arc behind the waker was released: only our reference is left.
    assert_eq!(Arc::strong_count(&count), 1);
}

#[test]
fn wake_from_another_thread() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let mut join = sched.spawn({
        let gate = gate.clone();
        async move {
            gate.wait().await;
            1
        }
    });
    sched.tick();
    assert_eq!(sched.queued(), 0);
    let g = gate.clone();
    std::thread::spawn(move || g.release()).join().unwrap();
    assert_eq!(sched.tick(), 1);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(1))));
}

#[test]
fn repeated_wakes_queue_the_task_once() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let _join = sched.spawn(gate.wait());
    sched.tick();
    let waker = gate.take_waker().unwrap();
    waker.wake_by_ref();
    waker.wake_by_ref();
    // Wake by value through a second reference, on a task that is already queued.
    let by_value = waker.clone();
    by_value.wake();
    assert_eq!(sched.queued(), 1);
    drop(waker);
    sched.tick();
    // The future stored a fresh waker when polled again.
    assert!(gate.take_waker().is_some());
}

#[test]
fn wakers_outliving_the_task_are_harmless() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let join = sched.spawn(gate.wait());
    sched.tick();
    let waker = gate.take_waker().unwrap();
    let clone = waker.clone();
    gate.release();
    waker.wake_by_ref();
    sched.tick();
    assert!(join.is_finished());
    drop(join);
    // The task is complete and its handle gone; the wakers still hold the cell.
    clone.wake_by_ref();
    assert_eq!(sched.queued(), 0);
    clone.wake();
    drop(waker);
}

#[test]
fn self_wake_while_running_is_a_yield() {
    let sched = Arc::new(Sched::default());
    let mut join = sched.spawn(async {
        crate::yield_now().await;
        crate::yield_now().await;
        3
    });
    assert_eq!(sched.tick(), 1);
    assert_eq!(sched.tick(), 1);
    assert_eq!(sched.tick(), 1);
    assert_eq!(sched.yields.load(SeqCst), 2);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(3))));
}

#[test]
fn abort_before_first_poll() {
    let sched = Arc::new(Sched::default());
    let polled = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let p = polled.clone();
    let mut join = sched.spawn(async move {
        let _guard = guard;
        p.fetch_add(1, SeqCst);
    });
    join.abort();
    assert_eq!(
        sched.queued(),
        1,
        "abort on a queued task does not queue it twice"
    );
    sched.tick();
    assert_eq!(polled.load(SeqCst), 0);
    assert_eq!(drops.load(SeqCst), 1);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    match poll_join(&mut join, &waker) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e}"),
        other => panic!("unexpected {:?}", other.map(|r| r.map(|_| ()))),
    }
}

#[test]
fn abort_while_idle_schedules_the_cancellation() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let gate = Gate::default();
    let g = gate.clone();
    let mut join = sched.spawn(async move {
        let _guard = guard;
        g.wait().await;
    });
    sched.tick();
    join.abort();
    assert_eq!(
        drops.load(SeqCst),
        0,
        "the future is dropped by a runner, not by abort"
    );
    assert_eq!(sched.tick(), 1);
    assert_eq!(drops.load(SeqCst), 1);
    // A wake after cancellation finds the task complete.
    gate.release();
    assert_eq!(sched.queued(), 0);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn abort_while_running_cancels_after_the_poll() {
    let sched = Arc::new(Sched::default());
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let s = slot.clone();
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let join = sched.spawn(async move {
        let _guard = guard;
        // Abort ourselves through our own handle, mid-poll.
        lock(&s).as_ref().unwrap().abort();
        std::future::pending::<()>().await;
    });
    *lock(&slot) = Some(join);
    sched.tick();
    assert_eq!(drops.load(SeqCst), 1);
    assert_eq!(sched.queued(), 0);
    let mut join = lock(&slot).take().unwrap();
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Err(e)) if e.is_cancelled()));
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let sched = Arc::new(Sched::default());
    let mut join = sched.spawn(async { 5 });
    sched.tick();
    join.abort();
    assert_eq!(sched.queued(), 0);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(5))));
}

#[test]
fn panic_in_poll_is_caught() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let mut join = sched.spawn(async move {
        let _guard = guard;
        panic!("boom");
    });
    sched.tick();
    assert_eq!(drops.load(SeqCst), 1);
    let waker = Waker::from(Arc::new(CountWaker::default()));
    let Poll::Ready(Err(err)) = poll_join(&mut join, &waker) else {
        panic!("expected a panic error")
    };
    assert!(err.is_panic());
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
}

#[test]
fn panic_while_dropping_a_cancelled_future_is_reported() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop boom");
        }
    }
    let sched = Arc::new(Sched::default());
    let guard = PanicOnDrop;
    let mut join = sched.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    sched.tick();
    join.abort();
    sched.tick();
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Err(e)) if e.is_panic()));
}

#[test]
fn dropping_an_unrun_task_frees_everything() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let join = sched.spawn(async move {
        let _guard = guard;
    });
    drop(join);
    // Dropping the queue entry drops the last reference: the never-polled future goes with it.
    lock(&sched.queue).clear();
    assert_eq!(drops.load(SeqCst), 1);
}

/// A scheduler that owns its tasks, to test the owned-task list and shutdown.
struct OwningSched {
    queue: Mutex<VecDeque<Notified<Arc<OwningSched>>>>,
    owned: OwnedTasks<Arc<OwningSched>>,
}

impl Schedule for Arc<OwningSched> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }
    fn schedule(&self, task: Notified<Self>) {
        lock(&self.queue).push_back(task);
    }
}

#[test]
fn shutdown_cancels_owned_tasks_and_refuses_new_ones() {
    let sched = Arc::new(OwningSched {
        queue: Mutex::new(VecDeque::new()),
        owned: OwnedTasks::new(4),
    });
    let drops = Arc::new(AtomicUsize::new(0));
    let mut joins = Vec::new();
    for i in 0..8 {
        let guard = DropCount(drops.clone());
        let (join, notified) = sched.owned.bind(
            async move {
                let _guard = guard;
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                }
            },
            sched.clone(),
            Id::next(),
            SpawnMeta::here(),
        );
        sched.schedule(notified.unwrap());
        joins.push(join);
    }
    let batch: Vec<_> = lock(&sched.queue).drain(..).collect();
    batch.into_iter().for_each(Notified::run);
    assert_eq!(drops.load(SeqCst), 4, "the odd tasks completed");

    sched.owned.close_and_shutdown();
    assert_eq!(
        drops.load(SeqCst),
        8,
        "shutdown dropped the pending futures"
    );

    let (mut late, notified) =
        sched
            .owned
            .bind(async { 1 }, sched.clone(), Id::next(), SpawnMeta::here());
    assert!(notified.is_none());
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut late, &waker), Poll::Ready(Err(e)) if e.is_cancelled()));
    for (i, mut join) in joins.into_iter().enumerate() {
        match poll_join(&mut join, &waker) {
            Poll::Ready(Ok(())) => assert!(i % 2 == 1),
            Poll::Ready(Err(e)) => assert!(i % 2 == 0 && e.is_cancelled()),
            Poll::Pending => panic!("task {i} still pending after shutdown"),
        }
    }
}

/// A future that remembers where it was first polled and, when dropped, records whether it is
/// still there: `Pin`'s drop guarantee says a pinned value is dropped where it was pinned, which
/// intrusive futures (a waiter linked into a list by address) depend on.
struct StaysPut {
    pinned_at: usize,
    then: Poll<bool>,
    dropped_in_place: Arc<Mutex<Vec<bool>>>,
    _pin: std::marker::PhantomPinned,
}

impl StaysPut {
    /// `then`: what each poll does: stay pending, return (`Ready(false)`) or panic (`Ready(true)`).
    fn new(then: Poll<bool>, log: &Arc<Mutex<Vec<bool>>>) -> StaysPut {
        StaysPut {
            pinned_at: 0,
            then,
            dropped_in_place: log.clone(),
            _pin: std::marker::PhantomPinned,
        }
    }
}

impl Future for StaysPut {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only a plain field is written; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        this.pinned_at = this as *mut StaysPut as usize;
        match this.then {
            Poll::Pending => Poll::Pending,
            Poll::Ready(false) => Poll::Ready(()),
            Poll::Ready(true) => panic!("boom"),
        }
    }
}

impl Drop for StaysPut {
    fn drop(&mut self) {
        if self.pinned_at != 0 {
            let here = self as *mut StaysPut as usize;
            lock(&self.dropped_in_place).push(here == self.pinned_at);
        }
    }
}

#[test]
fn a_pinned_future_is_dropped_where_it_was_pinned() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sched = Arc::new(Sched::default());
    let waker = Waker::from(Arc::new(CountWaker::default()));

    // Completed: the future is dropped once it returned Ready.
    let mut done = sched.spawn(StaysPut::new(Poll::Ready(false), &log));
    // Cancelled while idle.
    let aborted = sched.spawn(StaysPut::new(Poll::Pending, &log));
    // Freed with the future still in it: polled once, then its last reference dropped unrun.
    let freed = sched.spawn(StaysPut::new(Poll::Pending, &log));
    // Dropped after its poll panicked.
    let mut panicked = sched.spawn(StaysPut::new(Poll::Ready(true), &log));
    sched.tick();
    assert!(poll_join(&mut done, &waker).is_ready());
    aborted.abort();
    drop(aborted);
    freed.abort();
    drop(freed);
    // The abort queued the freed task: drop that queue entry unrun, after running the other.
    let batch: Vec<_> = lock(&sched.queue).drain(..).collect();
    for (i, task) in batch.into_iter().enumerate() {
        if i == 0 {
            task.run();
        }
    }
    assert!(matches!(poll_join(&mut panicked, &waker), Poll::Ready(Err(e)) if e.is_panic()));
    assert_eq!(
        *lock(&log),
        [true; 4],
        "every pinned future dropped in place"
    );
}

/// The stage adds nothing to its larger field: which one it holds is the state word's to say, so
/// a 64-byte future makes a 120-byte cell, which the allocator serves from its 128-byte class
/// (a 56-byte one made a 120-byte cell while the owned-task list had two links in the header).
#[cfg(target_pointer_width = "64")]
#[test]
fn the_stage_has_no_tag_of_its_own() {
    use super::raw::{Cell, Header, Trailer};
    use std::mem::size_of;
    struct Words([u64; 8]);
    impl Future for Words {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    let future = size_of::<Words>().max(size_of::<Result<(), JoinError>>());
    let scheduler = size_of::<TestSched>();
    assert_eq!(
        size_of::<Cell<Words, TestSched>>(),
        size_of::<Header>() + scheduler + future + size_of::<Trailer>()
    );
    assert_eq!(size_of::<Cell<Words, TestSched>>(), 120);
    let _ = Words([0; 8]).0;
}

#[test]
#[should_panic(expected = "JoinHandle polled after it returned the task's output")]
fn polling_a_join_handle_after_its_output_panics() {
    let sched = Arc::new(Sched::default());
    let mut join = sched.spawn(async { 1 });
    sched.tick();
    let waker = Waker::from(Arc::new(CountWaker::default()));
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(1))));
    let _ = poll_join(&mut join, &waker);
}

/// A waker whose destructor panics once `armed` is set: dropping its last clone is user code that
/// may unwind, as any destructor may.
struct PanicOnDropWaker {
    armed: std::sync::atomic::AtomicBool,
}

impl Wake for PanicOnDropWaker {
    fn wake(self: Arc<Self>) {}
    fn wake_by_ref(self: &Arc<Self>) {}
}

impl Drop for PanicOnDropWaker {
    fn drop(&mut self) {
        if self.armed.load(SeqCst) {
            panic!("waker drop boom");
        }
    }
}

/// A waker for `PanicOnDropWaker`, armed: its last clone will panic when dropped.
fn panicking_drop_waker() -> Waker {
    let inner = Arc::new(PanicOnDropWaker {
        armed: std::sync::atomic::AtomicBool::new(true),
    });
    Waker::from(inner)
}

/// Handing the output out must not depend on the join waker's destructor: the handle drops its
/// waker as it takes the output, and a panic there lost the output (dropped while unwinding) and
/// failed the poll. Regression for the change that made the handle give up `JOIN_INTEREST` (and
/// its waker) at once.
#[test]
fn a_panicking_join_waker_destructor_does_not_lose_the_output() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let out = DropCount(drops.clone());
    let mut join = sched.spawn({
        let gate = gate.clone();
        async move {
            gate.wait().await;
            out
        }
    });
    sched.tick();
    {
        // The slot now holds the only other clone, so it is the last one.
        let waker = panicking_drop_waker();
        assert!(poll_join(&mut join, &waker).is_pending());
    }
    gate.release();
    assert_eq!(sched.tick(), 1);
    let plain = Waker::from(Arc::new(CountWaker::default()));
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| poll_join(&mut join, &plain)));
    let Ok(Poll::Ready(Ok(output))) = polled else {
        panic!("the output was lost to the waker's panic");
    };
    assert_eq!(drops.load(SeqCst), 0, "the output is the caller's");
    drop(output);
    drop(join);
    assert_eq!(drops.load(SeqCst), 1);
    assert_eq!(Arc::strong_count(&sched), 1, "the cell was freed");
}

/// Dropping a handle whose waker's destructor panics must still drop the handle's reference: the
/// cell (and the scheduler it holds) leaked before.
#[test]
fn a_panicking_join_waker_destructor_does_not_leak_the_cell() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let mut join = sched.spawn({
        let gate = gate.clone();
        async move {
            let _guard = guard;
            gate.wait().await;
        }
    });
    sched.tick();
    {
        let waker = panicking_drop_waker();
        assert!(poll_join(&mut join, &waker).is_pending());
    }
    // JOIN_WAKER is set: the slow path takes the slot back and drops the waker itself.
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(join)));
    assert!(dropped.is_ok(), "the waker's panic is discarded");
    gate.release();
    assert_eq!(sched.tick(), 1);
    assert_eq!(drops.load(SeqCst), 1, "the future was dropped once");
    assert_eq!(Arc::strong_count(&sched), 1, "the cell was freed");
}

/// Polling a handle again after it returned the output panics; the handle, dropped while that
/// panic unwinds, finds nothing left to clean: the output was dropped once (by its new owner), the
/// join waker once (when the output was taken) and the cell freed.
#[test]
fn a_handle_polled_after_its_output_panics_and_unwinds_cleanly() {
    let sched = Arc::new(Sched::default());
    let gate = Gate::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let out = DropCount(drops.clone());
    let mut join = sched.spawn({
        let gate = gate.clone();
        async move {
            gate.wait().await;
            out
        }
    });
    sched.tick();
    let count = Arc::new(CountWaker::default());
    let waker = Waker::from(count.clone());
    assert!(poll_join(&mut join, &waker).is_pending());
    assert_eq!(Arc::strong_count(&count), 3, "the slot holds a clone");
    gate.release();
    sched.tick();
    assert_eq!(count.0.load(SeqCst), 1);
    let Poll::Ready(Ok(output)) = poll_join(&mut join, &waker) else {
        panic!("the task completed");
    };
    assert_eq!(
        Arc::strong_count(&count),
        2,
        "the handle dropped its waker as it took the output"
    );
    drop(output);
    assert_eq!(drops.load(SeqCst), 1);
    let again = std::panic::catch_unwind(AssertUnwindSafe(move || {
        // `join` is dropped while this panic unwinds.
        let mut join = join;
        let _ = poll_join(&mut join, &waker);
    }));
    let payload = again.expect_err("a second poll panics");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("JoinHandle polled after it returned the task's output")
    );
    assert_eq!(drops.load(SeqCst), 1, "the output is not dropped again");
    assert_eq!(Arc::strong_count(&count), 1);
    assert_eq!(Arc::strong_count(&sched), 1, "the cell was freed");
}

/// An output whose destructor panics: dropped by the runner (nobody joined) or by the handle (it
/// was dropped after completion); the panic is discarded either way, the cell freed, and a
/// handle that takes the output hands it over whole.
#[test]
fn an_output_whose_destructor_panics() {
    struct Loud(Arc<AtomicUsize>);
    impl Drop for Loud {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
            panic!("output drop boom");
        }
    }
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));

    let (d1, d2, d3) = (drops.clone(), drops.clone(), drops.clone());
    drop(sched.spawn(async move { Loud(d1) }));
    let by_handle = sched.spawn(async move { Loud(d2) });
    let mut taken = sched.spawn(async move { Loud(d3) });
    assert_eq!(sched.tick(), 3);
    assert_eq!(drops.load(SeqCst), 1, "the runner dropped the unwanted one");
    drop(by_handle);
    assert_eq!(drops.load(SeqCst), 2, "the handle dropped its output");
    let waker = Waker::from(Arc::new(CountWaker::default()));
    let Poll::Ready(Ok(output)) = poll_join(&mut taken, &waker) else {
        panic!("the task completed");
    };
    drop(taken);
    assert_eq!(drops.load(SeqCst), 2, "the taken output is the caller's");
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(output)));
    assert!(dropped.is_err());
    assert_eq!(drops.load(SeqCst), 3);
    assert_eq!(Arc::strong_count(&sched), 1, "every cell was freed");
}

/// A zero-sized future with a zero-sized output: the stage is a zero-sized union, and each of the
/// three ends (completed and joined, cancelled, freed unrun) drops the future exactly once.
#[test]
fn a_zero_sized_future_and_output() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Future for Zst {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, SeqCst);
        }
    }
    assert_eq!(std::mem::size_of::<Zst>(), 0);
    let sched = Arc::new(Sched::default());
    let waker = Waker::from(Arc::new(CountWaker::default()));

    let mut done = sched.spawn(Zst);
    let mut aborted = sched.spawn(Zst);
    aborted.abort();
    sched.tick();
    assert_eq!(DROPS.load(SeqCst), 2);
    assert!(matches!(poll_join(&mut done, &waker), Poll::Ready(Ok(()))));
    assert!(matches!(poll_join(&mut aborted, &waker), Poll::Ready(Err(e)) if e.is_cancelled()));

    drop(sched.spawn(Zst));
    lock(&sched.queue).clear();
    assert_eq!(DROPS.load(SeqCst), 3);
    drop((done, aborted));
    assert_eq!(DROPS.load(SeqCst), 3);
    assert_eq!(Arc::strong_count(&sched), 1);
}

/// A task freed before it ran, whose future's destructor panics: the panic reaches whoever
/// dropped the last reference, but the rest of the future and the cell are freed all the same.
#[test]
fn a_task_freed_unrun_whose_future_panics_in_drop_is_still_freed() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("future drop boom");
        }
    }
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let loud = PanicOnDrop;
    drop(sched.spawn(async move {
        let _guard = guard;
        let _loud = loud;
    }));
    let queued: Vec<_> = lock(&sched.queue).drain(..).collect();
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(queued)));
    assert!(dropped.is_err(), "the destructor's panic propagates");
    assert_eq!(drops.load(SeqCst), 1, "the rest of the future was dropped");
    assert_eq!(Arc::strong_count(&sched), 1, "the cell was freed");
}

/// A future that owns its own join handle drops it when the future is dropped (on completion,
/// before the output is stored): the handle gives up its interest then, so the runner drops the
/// output, and everything is freed.
#[test]
fn a_future_owning_its_own_handle() {
    let sched = Arc::new(Sched::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<JoinHandle<DropCount>>>> = Arc::default();
    let gate = Gate::default();
    let out = DropCount(drops.clone());
    let join = sched.spawn({
        let slot = slot.clone();
        let gate = gate.clone();
        async move {
            gate.wait().await;
            // Take our own handle, poll it once (registering our own waker as the join waker)
            // and keep it until we are dropped.
            let mut me = lock(&slot).take().unwrap();
            let polled =
                std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut me).poll(cx).is_pending()))
                    .await;
            assert!(polled);
            let _me = me;
            out
        }
    });
    *lock(&slot) = Some(join);
    sched.tick();
    gate.release();
    assert_eq!(sched.tick(), 1);
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the runner dropped the unwanted output"
    );
    assert_eq!(sched.queued(), 0);
    assert_eq!(Arc::strong_count(&sched), 1, "the cell was freed");
}

/// `cancel_now` drops an idle task's future on the calling thread at once; on a task whose
/// output was already taken it does nothing.
#[test]
fn cancel_now_before_and_after_the_output_was_taken() {
    let sched = Arc::new(Sched::default());
    let waker = Waker::from(Arc::new(CountWaker::default()));
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let mut idle = sched.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    let mut done = sched.spawn(async { 9 });
    sched.tick();
    idle.cancel_now();
    assert_eq!(drops.load(SeqCst), 1, "dropped before cancel_now returned");
    assert_eq!(sched.queued(), 0);
    assert!(matches!(poll_join(&mut idle, &waker), Poll::Ready(Err(e)) if e.is_cancelled()));
    assert!(matches!(poll_join(&mut done, &waker), Poll::Ready(Ok(9))));
    done.cancel_now();
    idle.cancel_now();
    drop((idle, done));
    assert_eq!(drops.load(SeqCst), 1);
    assert_eq!(Arc::strong_count(&sched), 1);
}

#[cfg(target_pointer_width = "64")]
#[test]
fn the_poll_count_saturates_and_leaves_the_reference_count_alone() {
    use super::state::{State, TransitionToIdle, TransitionToNotified, TransitionToRunning};
    assert_eq!(POLLS_MAX, (1 << 20) - 1);
    let state = State::with_polls(2, POLLS_MAX - 1);
    assert_eq!(state.load().polls(), POLLS_MAX - 1);
    assert_eq!(state.load().ref_count(), 2);
    // The last poll the field can count, then one more: it stays at the maximum.
    for _ in 0..2 {
        assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(state.load().polls(), POLLS_MAX);
        assert_eq!(state.load().ref_count(), 2);
        assert_eq!(state.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(state.load().ref_count(), 1);
        assert_eq!(
            state.transition_to_notified_by_ref(),
            TransitionToNotified::Submit
        );
        assert_eq!(state.load().ref_count(), 2);
    }
    // Reference arithmetic under a full poll field: increments, decrements, the terminal drop.
    state.ref_inc();
    assert_eq!(state.load().ref_count(), 3);
    assert!(!state.ref_dec());
    assert_eq!(state.transition_to_running(), TransitionToRunning::Success);
    let prev = state.transition_to_complete();
    assert!(prev.is_running());
    assert!(state.transition_to_terminal(2));
    assert_eq!(state.load().polls(), POLLS_MAX);
    assert_eq!(state.load().ref_count(), 0);
}

#[test]
fn a_cancelled_run_is_not_counted_as_a_poll() {
    use super::state::{State, TransitionToNotified, TransitionToRunning};
    let state = State::new(2);
    assert_eq!(
        state.transition_to_notified_and_cancel(),
        TransitionToNotified::DoNothing
    );
    assert_eq!(
        state.transition_to_running(),
        TransitionToRunning::Cancelled
    );
    assert_eq!(state.load().polls(), 0);
}
