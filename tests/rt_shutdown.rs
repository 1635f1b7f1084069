//! Shutdown: dropping a runtime drops every pending future and cancels its tasks, handles that
//! outlive the runtime spawn cancelled tasks instead of hanging, `shutdown_timeout` is bounded
//! even with a stuck task or blocking job, and queued `spawn_blocking` jobs are cancelled.

mod common;

use common::{runtime, within, DropGuard};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn dropping_the_runtime_drops_every_pending_future_and_cancels_its_task() {
    const TASKS: usize = 1000;
    let rt = runtime(2, "shut-drop");
    let dropped = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    // Keep the senders of half of the tasks' channels alive, so those tasks wait on a waker
    // that nobody will ever use; the other half wait on `pending`.
    let mut senders = Vec::new();
    let mut joins = Vec::new();
    for i in 0..TASKS {
        let guard = DropGuard(dropped.clone());
        let started = started_tx.clone();
        let join = if i % 2 == 0 {
            rt.spawn(async move {
                let _guard = guard;
                started.send(()).unwrap();
                std::future::pending::<()>().await;
            })
        } else {
            let (tx, rx) = futures_channel::oneshot::channel::<()>();
            senders.push(tx);
            rt.spawn(async move {
                let _guard = guard;
                started.send(()).unwrap();
                let _ = rx.await;
                unreachable!("the sender is never used");
            })
        };
        // Keep every 10th handle to check it after the runtime is gone.
        if i % 10 == 0 {
            joins.push(join);
        }
    }
    for _ in 0..TASKS {
        started_rx
            .recv_timeout(LIMIT)
            .expect("not every task was polled");
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 0);

    within(LIMIT, "dropping the runtime", move || drop(rt));
    assert_eq!(dropped.load(Ordering::SeqCst), TASKS);

    // The handles outlive the runtime and report cancellation, from any executor.
    let other = runtime(1, "shut-drop-other");
    for join in joins {
        assert!(join.is_finished());
        let id = join.id();
        let err = other
            .block_on(join)
            .expect_err("the task cannot have completed");
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!err.is_panic());
        assert_eq!(err.id(), id);
        assert!(err.to_string().contains("cancelled"), "{err}");
    }
    drop(senders);
}

#[test]
fn dropping_the_runtime_drops_futures_that_never_ran() {
    // One worker, kept busy, so the tasks spawned after it are still queued at shutdown.
    let rt = runtime(1, "shut-queued");
    let (busy_tx, busy_rx) = mpsc::channel();
    let _busy = rt.spawn(async move {
        busy_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    });
    busy_rx.recv_timeout(LIMIT).unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let polled = Arc::new(AtomicUsize::new(0));
    let joins: Vec<_> = (0..100)
        .map(|_| {
            let guard = DropGuard(dropped.clone());
            let polled = polled.clone();
            rt.spawn(async move {
                let _guard = guard;
                // A worker may still run a few queued tasks before it notices the shutdown;
                // those then wait forever, so every task ends cancelled either way.
                polled.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            })
        })
        .collect();
    within(LIMIT, "dropping the runtime", move || drop(rt));
    assert_eq!(dropped.load(Ordering::SeqCst), 100);
    assert!(
        polled.load(Ordering::SeqCst) < 100,
        "every queued task ran after shutdown began"
    );
    let other = runtime(1, "shut-queued-other");
    for join in joins {
        assert!(join.is_finished());
        assert!(other.block_on(join).unwrap_err().is_cancelled());
    }
}

#[test]
fn spawning_through_a_handle_after_the_runtime_is_dropped_gives_a_cancelled_task() {
    let rt = runtime(1, "shut-late");
    let handle = rt.handle().clone();
    drop(rt);

    let dropped = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicBool::new(false));
    let guard = DropGuard(dropped.clone());
    let ran2 = ran.clone();
    let join = handle.spawn(async move {
        let _guard = guard;
        ran2.store(true, Ordering::SeqCst);
    });
    let ran3 = ran.clone();
    let blocking = handle.spawn_blocking(move || ran3.store(true, Ordering::SeqCst));

    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the refused future was not dropped"
    );
    let (task_err, blocking_err) = within(LIMIT, "awaiting late tasks", move || {
        let other = runtime(1, "shut-late-other");
        (
            other.block_on(join).expect_err("the task cannot run"),
            other.block_on(blocking).expect_err("the job cannot run"),
        )
    });
    assert!(task_err.is_cancelled(), "{task_err:?}");
    assert!(blocking_err.is_cancelled(), "{blocking_err:?}");
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn spawning_through_a_handle_on_a_plain_thread_races_with_drop_without_hanging() {
    // Tasks spawned while the runtime shuts down either run or are cancelled; none is lost.
    for round in 0..20 {
        let rt = runtime(2, "shut-race");
        let handle = rt.handle().clone();
        let spawner = std::thread::spawn(move || {
            (0..200)
                .map(|i| handle.spawn(async move { i }))
                .collect::<Vec<_>>()
        });
        drop(rt);
        let joins = spawner.join().unwrap();
        let results = within(LIMIT, "awaiting racing tasks", move || {
            let other = runtime(1, "shut-race-other");
            joins
                .into_iter()
                .map(|j| other.block_on(j))
                .collect::<Vec<_>>()
        });
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(v, i, "round {round}"),
                Err(e) => assert!(e.is_cancelled(), "round {round}: {e:?}"),
            }
        }
    }
}

#[test]
fn shutdown_timeout_returns_while_a_task_is_stuck_in_a_blocking_poll() {
    let rt = runtime(1, "shut-stuck");
    let (started_tx, started_rx) = mpsc::channel();
    let stuck = rt.spawn(async move {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        1
    });
    started_rx.recv_timeout(LIMIT).unwrap();

    let start = Instant::now();
    within(LIMIT, "shutdown_timeout", move || {
        rt.shutdown_timeout(Duration::from_millis(100))
    });
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(100),
        "returned after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");

    // Once the stuck poll returns, its join handle still resolves.
    let result = within(LIMIT, "awaiting the stuck task", move || {
        runtime(1, "shut-stuck-other").block_on(stuck)
    });
    match result {
        Ok(v) => assert_eq!(v, 1),
        Err(e) => assert!(e.is_cancelled(), "{e:?}"),
    }
}

#[test]
fn queued_spawn_blocking_jobs_are_cancelled_at_shutdown() {
    let rt = filch::Builder::new()
        .worker_threads(1)
        .thread_name("shut-blocking")
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    // Occupies the only blocking thread until released.
    let running = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(LIMIT).is_ok()
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..5)
        .map(|_| {
            let ran = ran.clone();
            rt.spawn_blocking(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();

    // The running job cannot be interrupted: shutdown_timeout gives up on it after the timeout.
    let start = Instant::now();
    within(LIMIT, "shutdown_timeout", move || {
        rt.shutdown_timeout(Duration::from_millis(100))
    });
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");

    release_tx.send(()).unwrap();
    let (running, queued) = within(LIMIT, "awaiting the jobs", move || {
        let other = runtime(1, "shut-blocking-other");
        (
            other.block_on(running),
            queued
                .into_iter()
                .map(|j| other.block_on(j))
                .collect::<Vec<_>>(),
        )
    });
    assert!(running.expect("the running job completes"));
    for r in queued {
        assert!(r.expect_err("a queued job ran").is_cancelled());
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn dropping_the_runtime_waits_for_running_blocking_jobs() {
    let rt = runtime(1, "shut-wait-blocking");
    let (started_tx, started_rx) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let finished2 = finished.clone();
    let job = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        // Still running when the runtime is dropped.
        std::thread::sleep(Duration::from_millis(200));
        finished2.store(true, Ordering::SeqCst);
        5
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    within(LIMIT, "dropping the runtime", move || drop(rt));
    assert!(
        finished.load(Ordering::SeqCst),
        "drop returned before the job finished"
    );
    assert_eq!(runtime(1, "shut-wait-other").block_on(job).unwrap(), 5);
}

#[test]
fn run_cancels_tasks_still_running_when_its_future_completes() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(dropped.clone());
    // The handle is returned out of `run` on purpose, to await it after the runtime is gone.
    #[allow(clippy::async_yields_async)]
    let join = filch::run(async move {
        let (started_tx, started_rx) = futures_channel::oneshot::channel();
        let join = filch::spawn(async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        started_rx.await.unwrap();
        join
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let err = runtime(1, "shut-run-other").block_on(join).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn wakers_that_outlive_the_runtime_are_harmless() {
    use std::task::{Poll, Waker};

    let rt = runtime(2, "shut-wakers");
    let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
    let join = rt.spawn(std::future::poll_fn(move |cx| {
        let _ = waker_tx.send(cx.waker().clone());
        Poll::<()>::Pending
    }));
    let waker = waker_rx.recv_timeout(LIMIT).unwrap();
    within(LIMIT, "dropping the runtime", move || drop(rt));
    // Waking a task whose runtime is gone does nothing (and must not crash or hang).
    waker.wake_by_ref();
    let clone = waker.clone();
    waker.wake();
    let err = within(LIMIT, "awaiting the task", move || {
        runtime(1, "shut-wakers-other").block_on(join)
    })
    .unwrap_err();
    assert!(err.is_cancelled());
    clone.wake();
}

#[test]
fn dropping_the_runtime_inside_one_of_its_tasks_does_not_deadlock() {
    let rt = runtime(2, "shut-inside");
    let handle = rt.handle().clone();
    let dropped = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    let pending = rt.spawn({
        let guard = DropGuard(dropped.clone());
        async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        }
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    drop(handle.spawn(async move {
        drop(rt);
        done_tx.send(()).unwrap();
    }));
    done_rx
        .recv_timeout(LIMIT)
        .expect("dropping the runtime from its own task deadlocked");
    // The pending task may still have been inside the poll that sent `started` when the runtime
    // was shut down: its runner then drops the future as that poll returns, a moment later.
    within(LIMIT, "the pending task's future being dropped", {
        let dropped = dropped.clone();
        move || {
            while dropped.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let err = within(LIMIT, "awaiting the cancelled task", move || {
        runtime(1, "shut-inside-other").block_on(pending)
    })
    .unwrap_err();
    assert!(err.is_cancelled());
    // The handle outlives it and spawns only cancelled tasks.
    let late = handle.spawn(async { 1 });
    let err = within(LIMIT, "awaiting the late task", move || {
        runtime(1, "shut-inside-late").block_on(late)
    })
    .unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn dropping_the_runtime_inside_one_of_its_blocking_jobs_does_not_deadlock() {
    let rt = runtime(1, "shut-inside-blocking");
    let handle = rt.handle().clone();
    let (done_tx, done_rx) = mpsc::channel();
    // The drop waits for every blocking thread to exit, including the one it runs on.
    drop(handle.spawn_blocking(move || {
        drop(rt);
        done_tx.send(()).unwrap();
    }));
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("dropping the runtime from its own blocking job deadlocked");
}

/// Regression (use-after-free): a waker woken from another thread while the runtime is being
/// dropped used to push into the freed scheduler state (AddressSanitizer: heap-use-after-free in
/// `Injector::push`). Each task now owns a reference to its runtime's state, and a wake holds the
/// task across the push. Without a sanitizer the old bug shows as a crash or a corrupt heap; under
/// `.ci/run`'s AddressSanitizer step as a report.
#[test]
fn waking_a_task_from_another_thread_while_the_runtime_drops_touches_no_freed_state() {
    within(LIMIT, "wake during drop", || {
        let joiner = runtime(1, "shut-joiner");
        for round in 0..3000 {
            let rt = runtime(1, "shut-wake");
            let (tx, rx) = mpsc::channel();
            let join = rt.spawn(std::future::poll_fn(move |cx| {
                let _ = tx.send(cx.waker().clone());
                std::task::Poll::<()>::Pending
            }));
            let waker = rx.recv().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let waking = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Both kinds of wake: by reference, and by value on a clone.
                        waker.wake_by_ref();
                        // By value: the path that hands its own reference over.
                        let clone = waker.clone();
                        clone.wake();
                    }
                })
            };
            // Let the waker run for a moment, alternating with the task's polls, then drop. (The
            // old bug needed a preemption between the wake's state change and its push: under
            // AddressSanitizer it showed within 3,000 rounds, not within 200.)
            std::thread::sleep(Duration::from_micros(50 * (round % 4)));
            drop(rt);
            stop.store(true, Ordering::Relaxed);
            waking.join().unwrap();
            let err = joiner.block_on(join).expect_err("the task never completes");
            assert!(err.is_cancelled(), "{err}");
        }
    });
}

/// Regression (use-after-free): `JoinHandle::abort` from another thread during the drop took the
/// same path as a wake.
#[test]
fn aborting_a_task_from_another_thread_while_the_runtime_drops_touches_no_freed_state() {
    within(LIMIT, "abort during drop", || {
        let joiner = runtime(1, "shut-joiner");
        for _ in 0..1000 {
            let rt = runtime(1, "shut-abort");
            let joins: Vec<_> = (0..8)
                .map(|_| rt.spawn(std::future::pending::<()>()))
                .collect();
            let aborting = std::thread::spawn(move || {
                for join in &joins {
                    join.abort();
                }
                joins
            });
            drop(rt);
            for join in aborting.join().unwrap() {
                let err = joiner
                    .block_on(join)
                    .expect_err("the task never finishes by itself");
                assert!(err.is_cancelled());
            }
        }
    });
}

/// Regression: `shutdown_timeout(Duration::MAX)` panicked with "overflow when adding duration to
/// instant"; a timeout too long to represent now means "no deadline".
#[test]
fn shutdown_timeout_of_duration_max_waits_without_a_deadline() {
    let rt = runtime(2, "shut-max");
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(dropped.clone());
    let _pending = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    rt.shutdown_timeout(Duration::MAX);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}
