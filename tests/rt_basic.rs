//! Runtime basics: `block_on` and `filch::run` outputs, spawning from inside and outside a
//! runtime, `Handle::current`/`try_current`, the panics that guard misuse (spawn outside a
//! runtime, `block_on` inside a task, zero workers), panic propagation out of `block_on`, and
//! thread names.

mod common;

use common::{panic_message, runtime, spin_until, within};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn block_on_returns_the_output_of_the_future() {
    let rt = runtime(2, "basic-blockon");
    assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    // A non-Copy output, and a second block_on on the same runtime.
    assert_eq!(rt.block_on(async { String::from("done") }), "done");
}

#[test]
fn run_returns_the_output_of_the_future_and_runs_spawned_tasks() {
    let total = filch::run(async {
        let a = filch::spawn(async { 20u64 });
        let b = filch::spawn(async { 22u64 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(total, 42);
}

#[test]
fn spawn_works_inside_block_on_and_inside_a_task() {
    let rt = runtime(2, "basic-nested");
    let out = rt.block_on(async {
        // From block_on (not a worker thread) ...
        let outer = filch::spawn(async {
            // ... and from a task, on a worker.
            let inner = filch::spawn(async { 1 });
            inner.await.unwrap() + 1
        });
        outer.await.unwrap() + 1
    });
    assert_eq!(out, 3);
}

#[test]
fn runtime_spawn_from_outside_runs_the_task_without_block_on() {
    let rt = runtime(2, "basic-outside");
    let (tx, rx) = mpsc::channel();
    let handle = rt.spawn(async move {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap();
        "out"
    });
    // The workers run the task on their own; nobody is in block_on.
    let name = rx
        .recv_timeout(LIMIT)
        .expect("a task spawned with Runtime::spawn never ran");
    let name = name.expect("worker threads have names");
    assert!(name.starts_with("basic-outside-worker-"), "ran on {name:?}");
    assert_eq!(rt.block_on(handle).unwrap(), "out");
}

#[test]
fn handle_spawn_from_a_plain_thread() {
    let rt = runtime(2, "basic-handle");
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let join = std::thread::spawn(move || {
        assert!(
            filch::Handle::try_current().is_err(),
            "a plain thread has no runtime"
        );
        handle.spawn(async move {
            tx.send(()).unwrap();
            7
        })
    })
    .join()
    .unwrap();
    rx.recv_timeout(LIMIT)
        .expect("a task spawned through a Handle from a plain thread never ran");
    assert_eq!(rt.block_on(join).unwrap(), 7);
}

#[test]
fn handle_spawn_blocking_from_a_plain_thread() {
    let rt = runtime(1, "basic-hblk");
    let handle = rt.handle().clone();
    let join = std::thread::spawn(move || handle.spawn_blocking(|| 6 * 7))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(join).unwrap(), 42);
}

#[test]
fn handle_current_inside_a_runtime_and_try_current_outside() {
    let err = filch::Handle::try_current().expect_err("no runtime on the test thread");
    let msg = err.to_string();
    assert!(msg.contains("filch::run"), "unhelpful message: {msg}");

    let rt = runtime(2, "basic-current");
    let out = rt.block_on(async {
        // Inside block_on.
        let from_block_on = filch::Handle::current();
        // Inside a task.
        let from_task = filch::spawn(async {
            let h = filch::Handle::current();
            h.spawn(async { 2 }).await.unwrap()
        });
        // Inside a spawn_blocking job.
        let from_blocking = filch::spawn_blocking(|| {
            let h = filch::Handle::try_current().expect("blocking jobs run inside the runtime");
            h.spawn(async { 3 })
        })
        .await
        .unwrap();
        from_block_on.spawn(async { 1 }).await.unwrap()
            + from_task.await.unwrap()
            + from_blocking.await.unwrap()
    });
    assert_eq!(out, 6);

    // Leaving block_on leaves the runtime.
    assert!(filch::Handle::try_current().is_err());
}

#[test]
fn handle_current_outside_a_runtime_panics_with_guidance() {
    let payload = catch_unwind(filch::Handle::current).expect_err("Handle::current outside");
    let msg = panic_message(&*payload);
    assert!(msg.contains("filch::run"), "unhelpful message: {msg}");
}

#[test]
fn spawn_outside_a_runtime_panics_with_guidance() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = common::DropGuard(dropped.clone());
    let payload = catch_unwind(AssertUnwindSafe(|| {
        filch::spawn(async move {
            let _guard = guard;
        })
    }))
    .expect_err("filch::spawn outside a runtime must panic");
    let msg = panic_message(&*payload);
    assert!(msg.contains("filch::run"), "unhelpful message: {msg}");
    assert!(msg.contains("Handle::spawn"), "unhelpful message: {msg}");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the refused future was leaked"
    );
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_with_guidance() {
    let payload = catch_unwind(|| filch::spawn_blocking(|| 1))
        .expect_err("filch::spawn_blocking outside a runtime must panic");
    let msg = panic_message(&*payload);
    assert!(msg.contains("filch::run"), "unhelpful message: {msg}");
}

#[test]
fn block_on_inside_a_task_panics_and_the_join_handle_reports_it() {
    let rt = Arc::new(runtime(2, "basic-bo-task"));
    let other = Arc::new(runtime(1, "basic-bo-other"));
    let (rt2, other2) = (rt.clone(), other.clone());
    let same = rt.spawn(async move { rt2.block_on(async { 1 }) });
    let different = rt.spawn(async move { other2.block_on(async { 1 }) });
    for (what, join) in [("its own runtime", same), ("another runtime", different)] {
        let err = rt
            .block_on(join)
            .expect_err("block_on inside a task must panic");
        assert!(err.is_panic(), "{what}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("block_on"), "{what}: unhelpful message: {msg}");
    }
    // The runtime still works afterwards.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    drop(other);
}

#[test]
fn block_on_inside_block_on_panics() {
    let rt = runtime(1, "basic-bo-nested");
    let inner = rt.block_on(async { catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 1 }))) });
    let payload = inner.expect_err("nested block_on must panic");
    let msg = panic_message(&*payload);
    assert!(msg.contains("block_on"), "unhelpful message: {msg}");
    // The outer block_on's state was restored: block_on works again.
    assert_eq!(rt.block_on(async { 2 }), 2);
}

#[test]
fn block_on_inside_spawn_blocking_is_allowed() {
    let rt = Arc::new(runtime(1, "basic-bo-blocking"));
    let rt2 = rt.clone();
    let job = rt.spawn_blocking(move || rt2.block_on(async { filch::spawn(async { 9 }).await }));
    let out = within(LIMIT, "block_on in spawn_blocking", {
        let rt = rt.clone();
        move || rt.block_on(job)
    });
    assert_eq!(out.unwrap().unwrap(), 9);
}

#[test]
fn a_panic_in_the_block_on_future_reaches_the_caller() {
    let rt = runtime(1, "basic-bo-panic");
    let payload = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { panic!("boom from the block_on future") })
    }))
    .expect_err("the panic must propagate");
    assert_eq!(panic_message(&*payload), "boom from the block_on future");
    // The thread and the runtime are usable after the unwind.
    assert!(
        filch::Handle::try_current().is_err(),
        "block_on left the runtime entered"
    );
    assert_eq!(
        rt.block_on(async { filch::spawn(async { 3 }).await.unwrap() }),
        3
    );
}

#[test]
fn a_panic_in_the_run_future_reaches_the_caller() {
    let payload = catch_unwind(|| filch::run(async { panic!("boom from run") }))
        .expect_err("the panic must propagate");
    assert_eq!(panic_message(&*payload), "boom from run");
}

#[test]
fn builder_rejects_zero_workers_and_zero_blocking_threads() {
    let payload = catch_unwind(|| {
        filch::Builder::new().worker_threads(0);
    })
    .expect_err("worker_threads(0) must panic");
    assert!(panic_message(&*payload).contains("at least 1"));

    let payload = catch_unwind(|| {
        filch::Builder::new().max_blocking_threads(0);
    })
    .expect_err("max_blocking_threads(0) must panic");
    assert!(panic_message(&*payload).contains("at least 1"));
}

#[test]
fn threads_are_named_with_the_builder_prefix() {
    const WORKERS: usize = 2;
    let rt = filch::Builder::new()
        .worker_threads(WORKERS)
        .thread_name("named-rt")
        .build()
        .unwrap();
    let names = Arc::new(Mutex::new(Vec::new()));
    let arrived = Arc::new(AtomicUsize::new(0));
    // Each task waits (bounded) until every task has started, so they must run at the same
    // time, one per worker.
    let joins: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (names, arrived) = (names.clone(), arrived.clone());
            rt.spawn(async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                let all = spin_until(LIMIT, || arrived.load(Ordering::SeqCst) == WORKERS);
                let name = std::thread::current().name().map(str::to_owned);
                names.lock().unwrap().push(name);
                all
            })
        })
        .collect();
    for join in joins {
        assert!(
            rt.block_on(join).unwrap(),
            "the tasks never ran at the same time"
        );
    }
    let mut names: Vec<String> = names
        .lock()
        .unwrap()
        .drain(..)
        .map(Option::unwrap)
        .collect();
    names.sort();
    assert_eq!(names, ["named-rt-worker-0", "named-rt-worker-1"]);

    let blocking =
        rt.block_on(rt.spawn_blocking(|| std::thread::current().name().map(str::to_owned)));
    assert_eq!(blocking.unwrap().as_deref(), Some("named-rt-blocking"));
}

#[test]
fn default_thread_names_start_with_filch() {
    let name = filch::run(async {
        filch::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    })
    .expect("worker threads have names");
    assert!(name.starts_with("filch-worker-"), "{name:?}");
}
