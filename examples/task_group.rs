//! `TaskGroup`, asyncio's `TaskGroup`: children that never outlive their group.
//!
//! 1. Fail-fast (the default): one child fails after 150 ms, its siblings are cancelled at once
//!    (their drop guards say so) and `join` returns a `GroupError` listing the failure.
//! 2. A supervisor group: failures are collected while the other children go on.
//! 3. `with_limit(2)`: at most two children run at a time, the others wait their turn.
//! 4. The scope form (`async with TaskGroup() as tg:`), where children spawn siblings.
//!
//! `cargo run --example task_group`

use filch::TaskGroup;
use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Prints "cancelled" if dropped before `finished` is set.
struct Guard {
    start: Instant,
    name: &'static str,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            log(self.start, format!("  {} cancelled", self.name));
        }
    }
}

/// A child that sleeps `ms` milliseconds, then returns `Ok(ms)` or, if `fail`, an error.
async fn child(start: Instant, name: &'static str, ms: u64, fail: bool) -> Result<u64, String> {
    let mut guard = Guard {
        start,
        name,
        finished: false,
    };
    filch::sleep(Duration::from_millis(ms)).await;
    guard.finished = true;
    if fail {
        log(start, format!("  {name} fails"));
        return Err("connection reset".to_owned());
    }
    log(start, format!("  {name} finished"));
    Ok(ms)
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(
        start,
        "1. fail-fast group: two 1 s children and one that fails at 150 ms",
    );
    let group = TaskGroup::new();
    group.spawn_named("fetch-a", child(start, "fetch-a", 1000, false));
    group.spawn_named("fetch-b", child(start, "fetch-b", 1000, false));
    group.spawn_named("flaky", child(start, "flaky", 150, true));
    let err = group.join().await.expect_err("flaky fails");
    log(start, format!("join -> Err: {err}"));
    for failure in err.failures() {
        log(
            start,
            format!(
                "  failure: name {:?}, is_panic {}, error {:?}",
                failure.name(),
                failure.is_panic(),
                failure.as_error()
            ),
        );
    }

    log(
        start,
        "2. supervisor group: two failures, the other children go on",
    );
    let group = TaskGroup::supervisor();
    group.spawn_named("a", child(start, "a", 50, true));
    group.spawn_named("b", child(start, "b", 100, false));
    group.spawn_named("c", child(start, "c", 150, true));
    let err = group.join().await.expect_err("a and c fail");
    log(
        start,
        format!("join -> Err with {} failures: {err}", err.len()),
    );

    log(start, "3. with_limit(2): five 100 ms jobs, two at a time");
    let running = Arc::new(AtomicUsize::new(0));
    let group = TaskGroup::<usize, String>::new().with_limit(2);
    for i in 1..=5 {
        let running = running.clone();
        group.spawn(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            log(start, format!("  job {i} starts ({now} running)"));
            filch::sleep(Duration::from_millis(100)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(i * 10)
        });
    }
    log(start, format!("join -> {:?}", group.join().await));

    log(start, "4. scope: a crawler whose children spawn siblings");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let result = TaskGroup::scope(|scope| {
        let seen = seen.clone();
        async move {
            for page in ["/docs", "/blog"] {
                let (seen, spawner) = (seen.clone(), scope.clone());
                scope.spawn(async move {
                    filch::sleep(Duration::from_millis(50)).await;
                    seen.lock().unwrap().push(page.to_owned());
                    let link = format!("{page}/1");
                    let seen = seen.clone();
                    spawner.spawn(async move {
                        filch::sleep(Duration::from_millis(50)).await;
                        seen.lock().unwrap().push(link);
                        Ok::<(), String>(())
                    });
                    Ok(())
                });
            }
            Ok("crawl started")
        }
    })
    .await;
    log(
        start,
        format!("scope -> {result:?}, pages: {:?}", seen.lock().unwrap()),
    );
}
