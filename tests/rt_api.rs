//! The smaller runtime API tokio users reach for: `Runtime::enter` / `Handle::enter`,
//! `Handle::block_on`, `Builder::on_thread_start` / `on_thread_stop`, `task::unconstrained` and
//! `task::consume_budget`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn enter_makes_the_runtime_current_and_restores_the_previous_one() {
    let rt = filch::Builder::new().worker_threads(2).build().unwrap();
    let other = filch::Builder::new().worker_threads(1).build().unwrap();
    assert!(filch::Handle::try_current().is_err());
    let (task, sleep) = {
        let _outer = rt.enter();
        let task = filch::spawn(async { 7 });
        // A timer made here belongs to `rt` and fires once awaited on it.
        let sleep = filch::sleep(Duration::from_millis(2));
        {
            let _inner = other.enter();
            let on_other = filch::spawn(async { filch::Handle::current() });
            drop(other.block_on(on_other).unwrap());
        }
        // Back to `rt` after the inner guard.
        let again = filch::spawn(async { 8 });
        assert_eq!(rt.block_on(again).unwrap(), 8);
        (task, sleep)
    };
    assert!(
        filch::Handle::try_current().is_err(),
        "the guard left it entered"
    );
    rt.block_on(sleep);
    assert_eq!(rt.block_on(task).unwrap(), 7);
}

#[test]
fn handle_block_on_runs_a_future_from_any_thread() {
    let rt = filch::Builder::new().worker_threads(2).build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let handle = rt.handle();
            std::thread::spawn(move || {
                handle.block_on(async move {
                    filch::sleep(Duration::from_millis(1)).await;
                    filch::spawn(async move { i * 10 }).await.unwrap()
                })
            })
        })
        .collect();
    let got: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, [0, 10, 20, 30]);
}

/// On a current-thread runtime, `Handle::block_on` runs its own future; what it spawns runs once
/// a thread is inside `Runtime::block_on`, as in tokio.
#[test]
fn handle_block_on_on_a_current_thread_runtime_needs_its_runtime_driven() {
    let rt = filch::Builder::new_current_thread().build().unwrap();
    let handle = rt.handle();
    assert_eq!(handle.block_on(async { 5 }), 5);
    let spawned = Arc::new(AtomicBool::new(false));
    // The join handle is what this block_on returns: the task is spawned, not awaited.
    #[allow(clippy::async_yields_async)]
    let join = handle.block_on({
        let spawned = spawned.clone();
        async move { filch::spawn(async move { spawned.store(true, SeqCst) }) }
    });
    assert!(!spawned.load(SeqCst), "ran with nobody driving the runtime");
    rt.block_on(join).unwrap();
    assert!(spawned.load(SeqCst));
}

#[test]
fn thread_hooks_run_on_every_worker_and_blocking_thread() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let in_hook_thread = Arc::new(AtomicUsize::new(0));
    let rt = filch::Builder::new()
        .worker_threads(3)
        .thread_name("hooked")
        .on_thread_start({
            let (started, in_hook_thread) = (started.clone(), in_hook_thread.clone());
            move || {
                started.fetch_add(1, SeqCst);
                let name = std::thread::current().name().unwrap_or("").to_owned();
                if name.starts_with("hooked") {
                    in_hook_thread.fetch_add(1, SeqCst);
                }
            }
        })
        .on_thread_stop({
            let stopped = stopped.clone();
            move || {
                stopped.fetch_add(1, SeqCst);
            }
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let jobs: Vec<_> = (0..2)
            .map(|_| filch::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20))))
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
    });
    drop(rt);
    assert_eq!(started.load(SeqCst), 5, "3 workers and 2 blocking threads");
    assert_eq!(
        in_hook_thread.load(SeqCst),
        5,
        "the hook ran on the runtime's own threads"
    );
    assert_eq!(
        stopped.load(SeqCst),
        5,
        "every thread's stop hook ran before the drop returned"
    );

    // A current-thread runtime starts only blocking threads.
    let started = Arc::new(AtomicUsize::new(0));
    let rt = filch::Builder::new_current_thread()
        .on_thread_start({
            let started = started.clone();
            move || {
                started.fetch_add(1, SeqCst);
            }
        })
        .build()
        .unwrap();
    rt.block_on(async { filch::spawn_blocking(|| ()).await.unwrap() });
    drop(rt);
    assert_eq!(started.load(SeqCst), 1);
}

/// `unconstrained` switches the budget off: on one worker, a loop draining a channel that always
/// has an item runs to its end before a queued task gets the worker (the same loop without
/// `unconstrained` yields: `sync_queue::draining_an_always_full_channel_still_yields_the_worker`).
#[test]
fn unconstrained_keeps_the_worker_through_an_always_ready_loop() {
    let midway = common::queued_task_runs_during(|other_ran| async move {
        let (tx, rx) = filch::sync::mpmc::unbounded();
        for i in 0..5_000u32 {
            tx.try_send(i).unwrap();
        }
        filch::task::unconstrained(async move {
            let mut midway = false;
            for i in 0..5_000u32 {
                assert_eq!(rx.recv().await, Ok(i));
                midway |= i < 4_999 && other_ran.load(SeqCst);
            }
            midway
        })
        .await
    });
    assert!(
        !midway,
        "the queued task ran during an unconstrained loop: the budget was still on"
    );
}

/// `consume_budget` makes a loop without any await point of its own yield now and then.
#[test]
fn consume_budget_makes_a_cpu_loop_yield() {
    let midway = common::queued_task_runs_during(|other_ran| async move {
        let mut midway = false;
        let mut x = 0u64;
        for i in 0..10_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
            filch::task::consume_budget().await;
            midway |= i < 9_000 && other_ran.load(SeqCst);
        }
        assert_ne!(x, 0);
        midway
    });
    assert!(midway, "consume_budget never yielded");
}
