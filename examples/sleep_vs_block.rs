//! `filch::sleep` gives the worker back; `std::thread::sleep` holds it.
//!
//! Part 1: five tasks each `filch::sleep(200 ms)` and all finish after about 200 ms. Part 2: on a
//! runtime with two workers, a task queues four quick tasks and then blocks its worker with
//! `std::thread::sleep(500 ms)`; the other worker steals the queued tasks and runs them at once —
//! all but the one in the blocked worker's LIFO slot, which is not stealable: the stuck-worker
//! rescue moves it a few milliseconds later (`Builder::rescue_threshold`), and the slow-poll
//! watchdog names the blocker on stderr. Part 3: the same, declared with
//! `filch::task::block_in_place`: the queued tasks are handed over before the block, and nothing
//! is reported. Part 4: the blocking call in `filch::spawn_blocking` holds no worker at all.
//!
//! `cargo run --example sleep_vs_block`

use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// The name of the thread running the caller: `filch-worker-N`, `filch-blocking` or `main`.
fn thread() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

fn main() -> std::io::Result<()> {
    let rt = filch::Builder::new().worker_threads(2).build()?;
    let start = Instant::now();
    rt.block_on(async move {
        log(
            start,
            "part 1: five tasks, each awaits filch::sleep(200 ms)",
        );
        let sleepers: Vec<_> = (1..=5)
            .map(|i| {
                filch::spawn(async move {
                    filch::sleep(Duration::from_millis(200)).await;
                    log(start, format!("  sleeper {i} woke up on {}", thread()));
                })
            })
            .collect();
        filch::join_all(sleepers).await;
        log(
            start,
            "all five done after ~200 ms, not 1 s: a sleeping task holds no worker",
        );

        log(
            start,
            "part 2: a task blocks its worker with std::thread::sleep(500 ms)",
        );
        let blocker = filch::spawn(async move {
            log(
                start,
                format!("  blocker runs on {}, queues 4 quick tasks", thread()),
            );
            let quick: Vec<_> = (1..=4)
                .map(|i| {
                    filch::spawn(async move {
                        log(start, format!("  quick task {i} ran on {}", thread()));
                    })
                })
                .collect();
            // Never do this in a task: the worker thread can run nothing else meanwhile.
            std::thread::sleep(Duration::from_millis(500));
            log(start, format!("  blocker lets go of {}", thread()));
            quick
        });
        let quick = blocker.await.expect("blocker failed");
        filch::join_all(quick).await;
        log(
            start,
            "the other worker stole the queued tasks at once; the last one spawned, in the",
        );
        log(
            start,
            "blocked worker's LIFO slot (not stealable), was rescued ~5 ms later",
        );

        log(
            start,
            "part 3: the same block, declared with filch::task::block_in_place",
        );
        let blocker = filch::spawn(async move {
            let quick: Vec<_> = (1..=4)
                .map(|i| {
                    filch::spawn(async move {
                        log(start, format!("  quick task {i} ran on {}", thread()));
                    })
                })
                .collect();
            // The queued tasks go to the other workers first; no slow-poll report.
            filch::task::block_in_place(|| std::thread::sleep(Duration::from_millis(500)));
            log(start, format!("  blocker lets go of {}", thread()));
            quick
        });
        let quick = blocker.await.expect("blocker failed");
        filch::join_all(quick).await;

        log(
            start,
            "part 4: the blocking call in spawn_blocking, with two ticking tasks",
        );
        let job = filch::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(500));
            thread()
        });
        let tickers: Vec<_> = (1..=2)
            .map(|i| {
                filch::spawn(async move {
                    for tick in 1..=2 {
                        filch::sleep(Duration::from_millis(150)).await;
                        log(start, format!("  ticker {i} tick {tick} on {}", thread()));
                    }
                })
            })
            .collect();
        filch::join_all(tickers).await;
        let ran_on = job.await.expect("blocking job failed");
        log(
            start,
            format!("  the blocking job ran on {ran_on}; both workers stayed free"),
        );
    });
    log(start, "runtime shut down");
    Ok(())
}
