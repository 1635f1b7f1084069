//! `#[filch::test]` and `#[filch::main]` at run time: which runtime a test gets, tests that
//! return `Result` or panic, and the timeout (through the hidden helper the expansion calls).
//! What the attributes say at compile time is in `macros_ui.rs`.

mod common;

use common::panic_message;
use std::collections::HashSet;
use std::error::Error;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

#[filch::test]
async fn a_test_runs_its_tasks_on_the_test_thread_by_default() {
    let test_thread = thread::current().id();
    let task = filch::spawn(async {
        filch::sleep(Duration::from_millis(1)).await;
        thread::current().id()
    });
    assert_eq!(task.await.unwrap(), test_thread);
}

#[filch::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_thread_test_runs_its_tasks_on_the_workers() {
    let test_thread = thread::current().id();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            filch::spawn(async {
                filch::yield_now().await;
                let current = thread::current();
                (current.id(), current.name().map(str::to_owned))
            })
        })
        .collect();
    let mut workers = HashSet::new();
    for task in tasks {
        let (id, name) = task.await.unwrap();
        assert_ne!(id, test_thread);
        let name = name.expect("a worker thread has a name");
        assert!(name.starts_with("filch-worker-"), "ran on {name}");
        workers.insert(name);
    }
    assert!(
        workers.len() <= 2,
        "more workers than asked for: {workers:?}"
    );
}

#[filch::test(worker_threads = 1)]
async fn worker_threads_alone_asks_for_a_multi_thread_runtime() {
    let test_thread = thread::current().id();
    let ran_on = filch::spawn(async { thread::current().id() })
        .await
        .unwrap();
    assert_ne!(ran_on, test_thread);
}

#[filch::test]
async fn a_test_may_return_a_result() -> Result<(), Box<dyn Error>> {
    let n: u32 = filch::spawn(async { "42" }).await?.parse()?;
    assert_eq!(n, 42);
    Ok(())
}

#[filch::test(timeout = "30s")]
async fn a_test_with_a_timeout_may_return_a_result_that_is_not_send() -> Result<(), Box<dyn Error>>
{
    filch::sleep(Duration::from_millis(1)).await;
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[filch::test]
#[should_panic(expected = "a panic in the test's body")]
async fn a_panic_in_the_body_fails_the_test_with_its_message() {
    filch::yield_now().await;
    panic!("a panic in the test's body");
}

#[filch::test(flavor = "multi_thread", timeout = "30s")]
#[should_panic(expected = "a panic on the test's own thread")]
async fn a_panic_under_a_timeout_reaches_the_harness_with_its_message() {
    filch::sleep(Duration::from_millis(1)).await;
    panic!("a panic on the test's own thread");
}

#[filch::test(timeout = "30s")]
async fn a_test_with_a_timeout_runs_on_a_current_thread_runtime_of_its_own() {
    let body_thread = thread::current().id();
    let ran_on = filch::spawn(async { thread::current().id() })
        .await
        .unwrap();
    assert_eq!(ran_on, body_thread);
}

/// `crate = "..."` for a renamed dependency: every path of the expansion goes through it.
mod renamed {
    use filch as runtime;

    #[runtime::test(crate = "runtime")]
    async fn the_expansion_names_the_crate_as_told() {
        assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
    }
}

#[test]
fn a_timeout_fails_a_test_whose_body_blocks_its_thread() {
    let start = Instant::now();
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        filch::__private::run_test("stuck_test", Some(Duration::from_millis(100)), || {
            // What the expansion runs: a runtime, blocked in a poll (not awaiting: blocking).
            filch::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(async { thread::sleep(Duration::from_secs(5)) })
        })
    }))
    .expect_err("the timeout did not fire");
    assert_eq!(
        panic_message(&*payload),
        "test `stuck_test` timed out after 100ms"
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the timeout waited for the body: {:?}",
        start.elapsed()
    );
}

#[test]
fn a_test_within_its_timeout_returns_its_value() {
    let test_thread = thread::current().id();
    let (value, body_thread) =
        filch::__private::run_test("quick_test", Some(Duration::from_secs(30)), || {
            (42, thread::current().id())
        });
    assert_eq!(value, 42);
    assert_ne!(
        body_thread, test_thread,
        "a timeout runs the body on its own thread"
    );
}

#[test]
fn without_a_timeout_the_body_runs_on_the_test_thread() {
    let test_thread = thread::current().id();
    let body_thread = filch::__private::run_test("plain_test", None, || thread::current().id());
    assert_eq!(body_thread, test_thread);
}

/// `#[filch::main]` on a function not named `main`: a plain function that runs its body on a
/// runtime of its own each call; it may take arguments.
#[filch::main(flavor = "current_thread")]
async fn doubled_on_a_runtime(n: u32) -> u32 {
    filch::spawn(async move { n * 2 }).await.unwrap()
}

#[test]
fn main_on_another_function_makes_it_run_its_body_on_a_runtime() {
    assert_eq!(doubled_on_a_runtime(21), 42);
    assert_eq!(doubled_on_a_runtime(1), 2);
}

/// `start_paused = true`: the clock stands still and jumps from deadline to deadline, so a day of
/// sleeps takes no real time and ends at exactly the virtual instant.
#[filch::test(start_paused = true)]
async fn start_paused_makes_a_day_of_sleeps_take_no_time() {
    let wall = Instant::now();
    let start = filch::time::now();
    for _ in 0..24 {
        filch::sleep(Duration::from_secs(3600)).await;
    }
    assert_eq!(filch::time::now() - start, Duration::from_secs(86_400));
    assert!(wall.elapsed() < Duration::from_secs(10));
}

/// The same on the multi-thread flavour.
#[filch::test(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn start_paused_works_on_the_multi_thread_flavour() {
    let start = filch::time::now();
    let joins: Vec<_> = (1..=10u64)
        .map(|h| filch::spawn(filch::sleep_until(start + Duration::from_secs(3600 * h))))
        .collect();
    for join in joins {
        join.await.unwrap();
    }
    assert_eq!(filch::time::now() - start, Duration::from_secs(36_000));
}
