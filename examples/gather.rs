//! asyncio's `gather`, four ways: `join_all` for many futures of one type (outputs in input
//! order, whatever the completion order), `join!` for a few futures of different types,
//! `try_join_all` that stops at the first error, and `join_all` over spawned tasks to use every
//! core for CPU work (a plain future only runs concurrently, inside the awaiting task).
//!
//! `cargo run --example gather`

use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Stands in for a network call that takes `ms` milliseconds.
async fn fetch(start: Instant, name: &'static str, ms: u64) -> String {
    filch::sleep(Duration::from_millis(ms)).await;
    log(start, format!("  fetched {name} ({ms} ms)"));
    format!("<{name}>")
}

/// Like `fetch`, but the `broken` source fails.
async fn fetch_checked(start: Instant, name: &'static str, ms: u64) -> Result<String, String> {
    if name == "broken" {
        filch::sleep(Duration::from_millis(ms)).await;
        log(start, format!("  {name} failed ({ms} ms)"));
        return Err(format!("{name}: connection refused"));
    }
    Ok(fetch(start, name, ms).await)
}

/// CPU work: how many primes are below `n`.
fn count_primes(n: u64) -> usize {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count()
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(start, "join_all: three fetches of 300, 100 and 200 ms");
    let sources = [("users", 300), ("orders", 100), ("stock", 200)];
    let pages = filch::join_all(sources.map(|(name, ms)| fetch(start, name, ms))).await;
    log(
        start,
        format!("join_all -> {pages:?} (input order, ~300 ms)"),
    );

    log(start, "join!: futures of different types");
    let (count, page, ratio) = filch::join!(
        async {
            filch::sleep(Duration::from_millis(50)).await;
            42u32
        },
        fetch(start, "profile", 100),
        async { 0.75f64 },
    );
    log(start, format!("join! -> ({count}, {page:?}, {ratio})"));

    log(
        start,
        "try_join_all: one of three sources fails after 100 ms",
    );
    let sources = [("users", 300), ("broken", 100), ("stock", 200)];
    let result =
        filch::try_join_all(sources.map(|(name, ms)| fetch_checked(start, name, ms))).await;
    log(
        start,
        format!("try_join_all -> {result:?} (the others were dropped)"),
    );

    log(
        start,
        "join_all over spawned tasks: CPU work on every worker",
    );
    let tasks = [200_000u64, 210_000, 220_000, 230_000].map(|n| {
        filch::spawn(async move {
            let primes = count_primes(n);
            let thread = std::thread::current().name().unwrap_or("?").to_owned();
            log(start, format!("  primes below {n}: {primes} (on {thread})"));
            primes
        })
    });
    let counts: Vec<usize> = filch::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .collect();
    log(start, format!("join_all of handles -> {counts:?}"));
}
