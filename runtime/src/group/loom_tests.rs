//! Loom models of the task group's protocol: a child's completion racing the group's
//! cancellation (by `cancel`, by a sibling's failure, by the group being dropped) and the joiner's
//! polls. Whatever the interleaving, no child's future outlives the moment the joiner sees the
//! group finished, every future is dropped exactly once, and the joiner is woken when the last
//! child is gone (a lost wake-up shows up as a deadlock in `block_on`, which loom reports).
//!
//! The children are real `Child` wrappers in real task cells, on the task models' queue-only
//! scheduler; the group's state lock is loom's. `spawn` itself is not modelled (it needs the
//! runtime): `group` leaves the state as `spawn` and `start` leave it. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib group::shared::loom_tests`.

use super::*;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::task::loom_tests::{model, Sched};
use loom::sync::Arc as LoomArc;
use loom::thread;

type Group = Arc<Shared<u32, &'static str>>;

/// Counts drops; a loom `Arc`, so that loom also reports a future that is never dropped.
struct DropCount(LoomArc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A child that returns `result` on its first poll and holds its guard until the future itself is
/// dropped, as a child owning a socket or a nested group holds them.
struct Ready {
    result: Option<Result<u32, &'static str>>,
    _guard: DropCount,
}

impl Future for Ready {
    type Output = Result<u32, &'static str>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(self.result.take().expect("polled after completion"))
    }
}

fn ready(
    drops: &LoomArc<AtomicUsize>,
    result: Result<u32, &'static str>,
) -> Boxed<u32, &'static str> {
    Box::pin(Ready {
        result: Some(result),
        _guard: DropCount(drops.clone()),
    })
}

/// A child that never finishes on its own and never asks to be woken: only a cancellation ends
/// it.
fn forever(drops: &LoomArc<AtomicUsize>) -> Boxed<u32, &'static str> {
    let guard = DropCount(drops.clone());
    Box::pin(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
        unreachable!()
    })
}

/// A group with `children` started as `spawn` starts them: a slot holding each task's handle,
/// the task queued on `sched`.
fn group(
    fail_fast: bool,
    sched: &LoomArc<Sched>,
    children: Vec<Boxed<u32, &'static str>>,
) -> Group {
    let shared: Group = Arc::new(Shared::new(fail_fast, None));
    add(&shared, sched, children);
    shared
}

fn add(shared: &Group, sched: &LoomArc<Sched>, children: Vec<Boxed<u32, &'static str>>) {
    for future in children {
        let index = {
            let mut state = lock(&shared.state);
            state.live += 1;
            state.running += 1;
            state.slots.push(Slot::Starting);
            state.slots.len() - 1
        };
        let id = Id::next();
        let child = Child {
            future: Some(future),
            shared: shared.clone(),
            index,
            id,
            name: None,
            ended: false,
        };
        let (notified, handle) = crate::task::unowned(child, sched.clone(), id);
        lock(&shared.state).slots[index] = Slot::Running(handle);
        crate::task::Schedule::schedule(sched, notified);
    }
}

/// Waits, as `join` does, until every child's future is gone.
fn join(shared: &Group) {
    loom::future::block_on(std::future::poll_fn(|cx| shared.poll_finished(cx)));
}

/// Two children complete on two threads while the group is joined on a third: the joiner is
/// woken by whichever completion is the last, and by then both futures are gone.
#[test]
fn the_joiner_wakes_when_the_last_of_two_concurrent_completions_is_done() {
    model(|| {
        let sched = Sched::new();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let shared = group(
            true,
            &sched,
            vec![ready(&drops, Ok(1)), ready(&drops, Ok(2))],
        );
        let runners: Vec<_> = (0..2)
            .map(|_| {
                let sched = sched.clone();
                thread::spawn(move || sched.run_all())
            })
            .collect();
        join(&shared);
        assert_eq!(drops.load(SeqCst), 2, "a child's future outlived the join");
        for runner in runners {
            runner.join().unwrap();
        }
        assert_eq!(shared.finish().unwrap(), [1, 2], "values in spawn order");
    });
}

/// `cancel` on another thread races the child's run: the child is either cancelled before it
/// runs or completes; either way its future is gone when the join returns, and the group reports
/// the cancellation.
#[test]
fn cancel_races_a_completing_child() {
    model(|| {
        let sched = Sched::new();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let shared = group(true, &sched, vec![ready(&drops, Ok(1))]);
        let runner = {
            let sched = sched.clone();
            thread::spawn(move || sched.run_all())
        };
        let canceller = {
            let shared = shared.clone();
            thread::spawn(move || shared.cancel())
        };
        join(&shared);
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the child's future outlived the join"
        );
        runner.join().unwrap();
        canceller.join().unwrap();
        sched.run_all();
        let err = shared.finish().unwrap_err();
        assert!(err.is_cancelled() && err.is_empty());
    });
}

/// A child's failure cancels an idle sibling (fail-fast) while `cancel` comes from another
/// thread too: the sibling is dropped exactly once, by whichever cancellation gets it, before
/// the join returns.
#[test]
fn a_failure_and_a_cancel_race_to_cancel_an_idle_sibling() {
    model(|| {
        let sched = Sched::new();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let shared = group(true, &sched, vec![forever(&drops)]);
        // The sibling runs once and goes idle; then the failing child is started.
        sched.run_all();
        add(&shared, &sched, vec![ready(&drops, Err("boom"))]);
        let runner = {
            let sched = sched.clone();
            thread::spawn(move || sched.run_all())
        };
        let canceller = {
            let shared = shared.clone();
            thread::spawn(move || shared.cancel())
        };
        join(&shared);
        assert_eq!(drops.load(SeqCst), 2, "a child's future outlived the join");
        runner.join().unwrap();
        canceller.join().unwrap();
        sched.run_all();
        let err = shared.finish().unwrap_err();
        // The failing child may have been cancelled before it ran.
        assert!(err.failures().len() <= 1);
    });
}

/// The join future is dropped (the group closed and cancelled) while a child completes and
/// another sits idle: every future is dropped exactly once, no count is lost, and a waker the
/// joiner left behind is released (loom reports a leaked `Arc` otherwise).
#[test]
fn dropping_the_join_races_a_completing_child() {
    model(|| {
        let sched = Sched::new();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let shared = group(false, &sched, vec![forever(&drops)]);
        sched.run_all();
        add(&shared, &sched, vec![ready(&drops, Ok(7))]);
        let runner = {
            let sched = sched.clone();
            thread::spawn(move || sched.run_all())
        };
        shared.close_and_cancel();
        runner.join().unwrap();
        sched.run_all();
        assert_eq!(drops.load(SeqCst), 2);
        assert_eq!(shared.live(), 0, "a child was never counted out");
        assert!(lock(&shared.state).waiter.is_none());
    });
}
