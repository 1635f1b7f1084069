//! Loom models of the task state machine: every interleaving (within loom's bounds) of a wake, a
//! run to completion, an abort and a join-handle drop. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib task::loom_tests`.
//!
//! The cell's `UnsafeCell`s are loom cells here, so loom also checks that the stage and the join
//! waker slot are never touched by two threads at once; the drop counters check that the future and
//! the output are each dropped exactly once, and loom checks that every `Arc` is freed.

use super::*;
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use loom::thread;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// A scheduler that queues woken tasks until `run_all`; other models (the task group's) use it too.
pub(crate) struct Sched {
    queue: Mutex<VecDeque<Notified<Arc<Sched>>>>,
}

impl Schedule for Arc<Sched> {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }
    fn schedule(&self, task: Notified<Self>) {
        lock(&self.queue).push_back(task);
    }
}

impl Sched {
    pub(crate) fn new() -> Arc<Sched> {
        Arc::new(Sched {
            queue: Mutex::new(VecDeque::new()),
        })
    }
    pub(crate) fn run_all(&self) {
        loop {
            let task = lock(&self.queue).pop_front();
            match task {
                Some(task) => task.run(),
                None => return,
            }
        }
    }
}

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Pending on its first poll, leaving its waker where another thread can take it.
struct PendingOnce {
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
    _guard: DropCount,
}

impl Future for PendingOnce {
    type Output = DropCount;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCount> {
        if self.polled {
            let counter = self._guard.0.clone();
            return Poll::Ready(DropCount(counter));
        }
        self.polled = true;
        let waker = cx.waker().clone();
        let old = lock(&self.slot).replace(waker);
        drop(old);
        Poll::Pending
    }
}

/// A waker that does nothing when woken, but holds a loom `Arc`: if the task cell ever leaks a
/// join waker, loom reports the leaked `Arc` at the end of the execution.
struct TrackedWaker(#[allow(dead_code)] Arc<()>);

impl Wake for TrackedWaker {
    fn wake(self: std::sync::Arc<Self>) {}
}

fn tracked_waker() -> Waker {
    Waker::from(std::sync::Arc::new(TrackedWaker(Arc::new(()))))
}

fn spawn_pending_once(
    sched: &Arc<Sched>,
) -> (
    JoinHandle<DropCount>,
    Arc<Mutex<Option<Waker>>>,
    Arc<AtomicUsize>,
) {
    let slot = Arc::new(Mutex::new(None));
    let drops = Arc::new(AtomicUsize::new(0));
    let future = PendingOnce {
        slot: slot.clone(),
        polled: false,
        _guard: DropCount(drops.clone()),
    };
    let (notified, join) = unowned(future, sched.clone(), Id::next());
    sched.schedule(notified);
    (join, slot, drops)
}

/// Checks `f` under loom, at preemption bound 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise
/// (shared with the task group's models).
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// A wake from another thread races the runner's first poll; the task must still run to
/// completion, and the joiner gets the output exactly once.
#[test]
fn wake_races_first_poll() {
    model(|| {
        let sched = Sched::new();
        let (mut join, slot, drops) = spawn_pending_once(&sched);
        let waker_thread = thread::spawn(move || loop {
            let taken = lock(&slot).take();
            if let Some(waker) = taken {
                waker.wake();
                return;
            }
            thread::yield_now();
        });
        // Run until the wake has happened and the task completed.
        while !join.is_finished() {
            sched.run_all();
            thread::yield_now();
        }
        waker_thread.join().unwrap();
        let waker = tracked_waker();
        let out = Pin::new(&mut join).poll(&mut Context::from_waker(&waker));
        assert!(matches!(out, Poll::Ready(Ok(_))));
        drop(out);
        drop(join);
        sched.run_all();
        // The future's guard and the output's guard.
        assert_eq!(drops.load(SeqCst), 2);
    });
}

/// Completion races the join handle being polled (registering its waker) and then dropped.
#[test]
fn complete_races_join_poll_and_drop() {
    model(|| {
        let sched = Sched::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let out = DropCount(drops.clone());
        let (notified, mut join) = unowned(async move { out }, sched.clone(), Id::next());
        sched.schedule(notified);
        let joiner = thread::spawn(move || {
            let waker = tracked_waker();
            let polled = Pin::new(&mut join).poll(&mut Context::from_waker(&waker));
            drop(polled);
            drop(join);
        });
        sched.run_all();
        joiner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the output is dropped exactly once");
    });
}

/// `abort` from another thread races the task's run and a concurrent wake.
#[test]
fn abort_races_run_and_wake() {
    model(|| {
        let sched = Sched::new();
        let (join, slot, drops) = spawn_pending_once(&sched);
        let join = Arc::new(join);
        let j = join.clone();
        let aborter = thread::spawn(move || j.abort());
        sched.run_all();
        let taken = lock(&slot).take();
        if let Some(waker) = taken {
            waker.wake();
        }
        aborter.join().unwrap();
        sched.run_all();
        assert!(
            join.is_finished(),
            "aborted or completed, the task is finished"
        );
        drop(join);
        let dropped = drops.load(SeqCst);
        // Cancelled: only the future's guard; completed: the output's guard as well.
        assert!(dropped == 1 || dropped == 2, "{dropped}");
    });
}

/// The join handle is dropped on another thread while a waker (also on another thread) wakes the
/// task and the runner completes it: every reference is released, nothing is dropped twice.
#[test]
fn handle_drop_races_wake_and_complete() {
    model(|| {
        let sched = Sched::new();
        let (join, slot, drops) = spawn_pending_once(&sched);
        sched.run_all();
        let waker = lock(&slot).take().expect("first poll stored a waker");
        let dropper = thread::spawn(move || drop(join));
        let waker_thread = thread::spawn(move || waker.wake());
        dropper.join().unwrap();
        waker_thread.join().unwrap();
        sched.run_all();
        assert_eq!(drops.load(SeqCst), 2);
    });
}

/// The join handle replaces its waker (a second poll with another waker) while the task
/// completes: the slot is never written while the completer may read it.
#[test]
fn join_waker_replaced_while_completing() {
    model(|| {
        let sched = Sched::new();
        let (mut join, slot, drops) = spawn_pending_once(&sched);
        sched.run_all();
        let waker = lock(&slot).take().expect("first poll stored a waker");
        let joiner = thread::spawn(move || {
            for _ in 0..2 {
                let w = tracked_waker();
                let polled = Pin::new(&mut join).poll(&mut Context::from_waker(&w));
                if polled.is_ready() {
                    break;
                }
            }
            drop(join);
        });
        waker.wake();
        sched.run_all();
        joiner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 2);
    });
}

/// Polls `join` with one waker until it is ready, as an executor would on each wake-up.
fn poll_until_ready<T>(join: &mut JoinHandle<T>) -> Result<T, JoinError> {
    let waker = tracked_waker();
    loop {
        if let Poll::Ready(out) = Pin::new(&mut *join).poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        thread::yield_now();
    }
}

/// The handle takes the output (and gives up `JOIN_INTEREST` and its waker) while the completer
/// may still be waking that waker and handing the slot back: the waker is dropped exactly once,
/// by whichever side holds the slot last, and the output once, by the joiner.
#[test]
fn output_taken_while_the_completer_wakes() {
    model(|| {
        let sched = Sched::new();
        let (mut join, slot, drops) = spawn_pending_once(&sched);
        sched.run_all();
        let waker = lock(&slot).take().expect("first poll stored a waker");
        let joiner = thread::spawn(move || {
            let out = poll_until_ready(&mut join);
            assert!(out.is_ok());
            drop(out);
            drop(join);
        });
        waker.wake();
        sched.run_all();
        joiner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 2);
    });
}

/// A scheduler with an owned-task list, so that shutdown can race the task.
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

impl OwningSched {
    fn run_all(&self) {
        loop {
            let task = lock(&self.queue).pop_front();
            match task {
                Some(task) => task.run(),
                None => return,
            }
        }
    }
}

/// Runtime shutdown races the task's completion (woken on another thread) and the handle taking
/// the output: the task ends exactly one way, its future and output are each dropped once, and
/// every reference (the list's included) is released.
#[test]
fn shutdown_races_completion_and_the_output_being_taken() {
    model(|| {
        let sched = Arc::new(OwningSched {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
        });
        let slot = Arc::new(Mutex::new(None));
        let drops = Arc::new(AtomicUsize::new(0));
        let future = PendingOnce {
            slot: slot.clone(),
            polled: false,
            _guard: DropCount(drops.clone()),
        };
        let (mut join, notified) =
            sched
                .owned
                .bind(future, sched.clone(), Id::next(), SpawnMeta::here());
        sched.schedule(notified.expect("the list is open"));
        sched.run_all();
        let waker = lock(&slot).take().expect("first poll stored a waker");
        let s = sched.clone();
        let shutdown = thread::spawn(move || s.owned.close_and_shutdown());
        let joiner = thread::spawn(move || {
            let out = poll_until_ready(&mut join);
            drop(join);
            match out {
                Ok(output) => {
                    drop(output);
                    2
                }
                Err(err) => {
                    assert!(err.is_cancelled(), "{err}");
                    1
                }
            }
        });
        waker.wake();
        sched.run_all();
        shutdown.join().unwrap();
        let expected = joiner.join().unwrap();
        sched.run_all();
        assert_eq!(drops.load(SeqCst), expected);
    });
}
