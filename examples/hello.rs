//! The smallest filch program: start the runtime, spawn tasks on it, gather their results.
//!
//! `filch::run(future)` is asyncio's `asyncio.run(main())`; the other examples write the same
//! with `#[filch::main]` on an `async fn main`, which expands to a `main` that builds a runtime
//! and blocks on the body.
//!
//! `cargo run --example hello`

use std::time::Instant;

async fn work(n: u64) -> (u64, String) {
    // Some CPU work, then yield the worker to the other tasks once.
    let sum: u64 = (0..n * 100_000).sum();
    filch::yield_now().await;
    (sum, std::thread::current().name().unwrap_or("?").to_owned())
}

fn main() {
    let start = Instant::now();
    filch::run(async move {
        println!("[{:>8.3?}] main task started", start.elapsed());
        let tasks: Vec<_> = (1..=4).map(|n| filch::spawn(work(n))).collect();
        println!(
            "[{:>8.3?}] spawned 4 tasks; they are already running",
            start.elapsed()
        );
        for (i, task) in tasks.into_iter().enumerate() {
            let (sum, thread) = task.await.expect("task failed");
            println!(
                "[{:>8.3?}] task {} finished on {thread}: sum = {sum}",
                start.elapsed(),
                i + 1
            );
        }
        let err = filch::spawn(async { panic!("a task may panic") })
            .await
            .unwrap_err();
        println!(
            "[{:>8.3?}] a panicking task is caught: {err}",
            start.elapsed()
        );
    });
    println!("[{:>8.3?}] runtime shut down", start.elapsed());
}
