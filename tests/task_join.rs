//! `JoinHandle` and `JoinError`: outputs, `abort` before the first poll, while pending, while
//! running and after completion, panic propagation and payloads, detaching by drop,
//! `is_finished`, unique ids, and workers surviving panicking tasks.

mod common;

use common::{panic_message, runtime, spin_until, within, DropGuard};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// Awaits (inside a task or block_on) until `cond` holds, yielding between checks; panics after
/// `LIMIT`.
async fn yield_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        filch::yield_now().await;
    }
}

#[test]
fn awaiting_a_join_handle_gives_the_task_output() {
    let rt = runtime(2, "join-output");
    let out = rt.block_on(async {
        let join = filch::spawn(async { vec![String::from("a"), String::from("b")] });
        join.await
    });
    assert_eq!(out.unwrap(), ["a", "b"]);
    // Awaited from outside any task, through block_on.
    assert_eq!(rt.block_on(rt.spawn(async { 3u8 })).unwrap(), 3);
}

#[test]
fn abort_before_the_first_poll_means_the_future_never_runs() {
    let rt = runtime(1, "join-abort-early");
    let release = Arc::new(AtomicBool::new(false));
    let (busy_tx, busy_rx) = mpsc::channel();
    // Occupies the only worker until released.
    let busy = rt.spawn({
        let release = release.clone();
        async move {
            busy_tx.send(()).unwrap();
            spin_until(LIMIT, || release.load(Ordering::SeqCst))
        }
    });
    busy_rx.recv_timeout(LIMIT).unwrap();

    let ran = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(dropped.clone());
    let victim = rt.spawn({
        let ran = ran.clone();
        async move {
            let _guard = guard;
            ran.store(true, Ordering::SeqCst);
        }
    });
    assert!(!victim.is_finished());
    victim.abort();
    release.store(true, Ordering::SeqCst);

    assert!(
        rt.block_on(busy).unwrap(),
        "the busy task was never released"
    );
    let err = rt
        .block_on(victim)
        .expect_err("an aborted task has no output");
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!ran.load(Ordering::SeqCst), "the aborted future was polled");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the aborted future was not dropped"
    );
}

#[test]
fn abort_while_pending_drops_the_future() {
    let rt = runtime(2, "join-abort-pending");
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(dropped.clone());
    let (started_tx, started_rx) = mpsc::channel();
    let (_never_tx, never_rx) = futures_channel::oneshot::channel::<()>();
    let join = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).unwrap();
        let _ = never_rx.await;
        unreachable!("the sender is never used");
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    assert!(!join.is_finished());
    assert_eq!(dropped.load(Ordering::SeqCst), 0);

    join.abort();
    join.abort(); // Aborting twice is harmless.
    let id = join.id();
    let err = within(LIMIT, "awaiting an aborted task", move || rt.block_on(join))
        .expect_err("an aborted task has no output");
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(err.id(), id);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn abort_while_running_cancels_when_the_poll_returns() {
    let rt = runtime(2, "join-abort-running");
    let release = Arc::new(AtomicBool::new(false));
    let resumed = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let join = rt.spawn({
        let (release, resumed) = (release.clone(), resumed.clone());
        async move {
            started_tx.send(()).unwrap();
            assert!(spin_until(LIMIT, || release.load(Ordering::SeqCst)));
            // The poll returns here; the task must not be polled again.
            filch::yield_now().await;
            resumed.store(true, Ordering::SeqCst);
        }
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    join.abort();
    release.store(true, Ordering::SeqCst);
    let err = within(LIMIT, "awaiting an aborted task", move || rt.block_on(join)).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!resumed.load(Ordering::SeqCst), "polled again after abort");
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let rt = runtime(2, "join-abort-late");
    let out = rt.block_on(async {
        let join = filch::spawn(async { String::from("kept") });
        yield_until("the task to finish", || join.is_finished()).await;
        join.abort();
        join.await
    });
    assert_eq!(out.unwrap(), "kept");
}

#[test]
fn a_panic_in_a_task_is_returned_as_a_join_error() {
    let rt = runtime(2, "join-panic");
    rt.block_on(async {
        // A `&'static str` payload.
        let join = filch::spawn(async {
            panic!("task exploded");
        });
        let id = join.id();
        let err: filch::JoinError = join.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(err.id(), id);
        let shown = err.to_string();
        assert!(shown.contains("task exploded"), "{shown}");
        assert!(format!("{err:?}").contains("task exploded"));
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"task exploded"));

        // A `String` payload, through try_into_panic and resume_unwind.
        let n = 5;
        let err = filch::spawn(async move {
            panic!("formatted {n}");
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("formatted 5"));
        let payload = err.try_into_panic().expect("a panic error");
        let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::panic::resume_unwind(payload)
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*resumed), "formatted 5");

        // A non-string payload.
        let err = filch::spawn(async {
            std::panic::panic_any(17u32);
        })
        .await
        .unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("panicked"), "{err}");
        assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&17));
    });
}

#[test]
fn a_cancelled_error_has_no_panic_payload() {
    let rt = runtime(1, "join-cancel-payload");
    let join = rt.spawn(std::future::pending::<()>());
    join.abort();
    let err = rt.block_on(join).unwrap_err();
    let err = err.try_into_panic().expect_err("cancelled, not panicked");
    assert!(err.is_cancelled());
    let payload = std::panic::catch_unwind(move || err.into_panic()).unwrap_err();
    assert!(panic_message(&*payload).contains("cancelled"));
}

#[test]
fn a_panic_while_dropping_an_aborted_future_is_reported_as_the_task_panic() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("panic in drop");
        }
    }
    let rt = runtime(1, "join-drop-panic");
    let (started_tx, started_rx) = mpsc::channel();
    let join = rt.spawn(async move {
        let _bomb = PanicOnDrop;
        started_tx.send(()).unwrap();
        std::future::pending::<()>().await;
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    join.abort();
    let err = within(LIMIT, "awaiting the aborted task", move || {
        runtime(1, "join-drop-panic-2").block_on(join)
    })
    .unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(panic_message(&*err.into_panic()), "panic in drop");
    // The worker that dropped the bomb still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    let rt = runtime(2, "join-detach");
    let (go_tx, go_rx) = futures_channel::oneshot::channel::<u32>();
    let (done_tx, done_rx) = mpsc::channel();
    let join = rt.spawn(async move {
        let v = go_rx.await.unwrap();
        filch::yield_now().await;
        done_tx.send(v + 1).unwrap();
    });
    drop(join);
    go_tx.send(41).unwrap();
    assert_eq!(
        done_rx
            .recv_timeout(LIMIT)
            .expect("the detached task never completed"),
        42
    );
}

#[test]
fn dropping_a_finished_join_handle_drops_the_output() {
    let rt = runtime(1, "join-drop-output");
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(dropped.clone());
    let join = rt.spawn(async move { guard });
    rt.block_on(yield_until("the task to finish", || join.is_finished()));
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        0,
        "the output is kept for the handle"
    );
    drop(join);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn is_finished_turns_true_when_the_task_completes() {
    let rt = runtime(2, "join-finished");
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    let join = rt.spawn(async move { rx.await.is_ok() });
    assert!(!join.is_finished());
    tx.send(()).unwrap();
    rt.block_on(yield_until("is_finished", || join.is_finished()));
    assert!(join.is_finished());
    assert!(rt.block_on(join).unwrap());

    // A cancelled task is finished too.
    let join = rt.spawn(std::future::pending::<()>());
    join.abort();
    rt.block_on(yield_until("is_finished after abort", || {
        join.is_finished()
    }));
    assert!(rt.block_on(join).unwrap_err().is_cancelled());
}

#[test]
fn task_ids_are_unique_across_threads() {
    let rt = runtime(2, "join-ids");
    let handle = rt.handle().clone();
    // Spawn from plain threads, from block_on and from tasks.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let handle = handle.clone();
            std::thread::spawn(move || (0..500).map(|_| handle.spawn(async {})).collect::<Vec<_>>())
        })
        .collect();
    let mut joins: Vec<filch::JoinHandle<()>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let from_tasks = rt.block_on(async {
        let mut joins: Vec<_> = (0..500).map(|_| filch::spawn(async {})).collect();
        let nested = filch::spawn(async { (0..500).map(|_| filch::spawn(async {})).collect() });
        let nested: Vec<_> = nested.await.unwrap();
        joins.extend(nested);
        joins
    });
    joins.extend(from_tasks);
    let ids: HashSet<filch::Id> = joins.iter().map(|j| j.id()).collect();
    assert_eq!(ids.len(), 3000);
    assert_eq!(
        ids.iter()
            .map(|id| id.as_u64())
            .collect::<HashSet<_>>()
            .len(),
        3000
    );
    for join in joins {
        rt.block_on(join).unwrap();
    }
}

#[test]
fn panicking_tasks_do_not_take_the_worker_down() {
    let rt = runtime(1, "join-survive");
    let out = rt.block_on(async {
        let joins: Vec<_> = (0..100)
            .map(|i| {
                filch::spawn(async move {
                    if i % 2 == 0 {
                        filch::yield_now().await;
                    }
                    panic!("task {i} panics");
                })
            })
            .collect();
        for (i, join) in joins.into_iter().enumerate() {
            let err = join.await.unwrap_err();
            assert!(err.is_panic());
            assert_eq!(
                panic_message(&*err.into_panic()),
                format!("task {i} panics")
            );
        }
        filch::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    // The same (only) worker still runs tasks.
    assert_eq!(out.as_deref(), Some("join-survive-worker-0"));
}

#[test]
fn abort_cancels_a_queued_spawn_blocking_job_but_not_a_running_one() {
    let rt = filch::Builder::new()
        .worker_threads(1)
        .thread_name("join-abort-blocking")
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let running = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(LIMIT).is_ok()
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    // Waits in the queue: the pool's only thread is busy.
    let queued = rt.spawn_blocking({
        let ran = ran.clone();
        move || ran.store(true, Ordering::SeqCst)
    });
    queued.abort();
    // A running closure cannot be interrupted: it completes and keeps its output.
    running.abort();
    release_tx.send(()).unwrap();
    let (running, queued) = within(LIMIT, "awaiting the jobs", move || {
        (rt.block_on(running), rt.block_on(queued))
    });
    assert!(running.expect("the running job completes"));
    assert!(queued.unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst), "the aborted job ran");
}

#[test]
fn a_panic_in_spawn_blocking_is_a_join_error_and_the_pool_survives() {
    let rt = filch::Builder::new()
        .worker_threads(1)
        .thread_name("join-blocking-panic")
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let err = rt
        .block_on(rt.spawn_blocking(|| panic!("blocking job exploded")))
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("blocking job exploded"), "{err}");
    // The pool (of one thread) still runs jobs.
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn a_join_handle_moved_to_another_task_wakes_its_new_owner() {
    use std::future::{poll_fn, Future};
    use std::pin::Pin;
    use std::task::Poll;

    let rt = runtime(2, "join-move");
    let (go_tx, go_rx) = futures_channel::oneshot::channel::<()>();
    let target = rt.spawn(async move {
        go_rx.await.unwrap();
        "moved"
    });
    // Task A polls the handle once (registering A's waker), then hands it back and finishes.
    let first_poller = rt.spawn(async move {
        let mut target = target;
        poll_fn(|cx| {
            assert!(Pin::new(&mut target).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        (target,)
    });
    let (target,) = rt.block_on(first_poller).unwrap();
    // Task B awaits it: the completion must wake B, not the finished A.
    let (b_polled_tx, b_polled_rx) = mpsc::channel();
    let second_poller = rt.spawn(async move {
        let mut target = target;
        poll_fn(|cx| {
            let poll = Pin::new(&mut target).poll(cx);
            let _ = b_polled_tx.send(());
            poll
        })
        .await
    });
    b_polled_rx.recv_timeout(LIMIT).unwrap();
    go_tx.send(()).unwrap();
    let out = within(LIMIT, "awaiting the moved handle", move || {
        rt.block_on(second_poller)
    });
    assert_eq!(out.unwrap().unwrap(), "moved");
}

#[test]
fn abort_racing_with_completion_gives_the_output_or_a_cancellation() {
    const TASKS: usize = 5_000;
    let rt = runtime(2, "join-abort-race");
    let dropped = Arc::new(AtomicUsize::new(0));
    let joins: Vec<_> = (0..TASKS)
        .map(|i| {
            let guard = DropGuard(dropped.clone());
            rt.spawn(async move {
                let _guard = guard;
                if i % 2 == 0 {
                    filch::yield_now().await;
                }
                i
            })
        })
        .collect();
    // Abort from another thread while the workers are running the tasks.
    let joins = std::thread::spawn(move || {
        for join in &joins {
            join.abort();
        }
        joins
    })
    .join()
    .unwrap();
    let results = within(LIMIT, "awaiting the raced tasks", move || {
        joins
            .into_iter()
            .map(|j| rt.block_on(j))
            .collect::<Vec<_>>()
    });
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(v) => assert_eq!(v, i),
            Err(e) => assert!(e.is_cancelled(), "task {i}: {e:?}"),
        }
    }
    assert_eq!(dropped.load(Ordering::SeqCst), TASKS);
}
