//! `filch::spawn` is asyncio's `create_task`, with one difference: the task starts running at
//! once, on a worker thread, without waiting for the caller to reach an `await`.
//!
//! Then "await order vs completion order": three tasks sleep 300, 100 and 200 ms. They finish in
//! the order 100, 200, 300; main awaits them in spawn order, so its first `await` returns only
//! after 300 ms and the two others return at once. All three ran at the same time: the total is
//! about 300 ms, not 600.
//!
//! `cargo run --example create_task`

use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(start, "main: spawning two tasks");
    let greeter = filch::spawn(async move {
        log(
            start,
            "  greeter: running already, main has not awaited anything",
        );
        "hello"
    });
    let counter = filch::spawn(async move {
        log(start, "  counter: running already too");
        (1..=10u32).sum::<u32>()
    });
    // Synchronous work in main, with no `.await`: in asyncio the tasks would not start until
    // main yields. (`#[filch::main]` runs main's body on the program's main thread, not on a
    // worker, so blocking it here holds no worker.)
    std::thread::sleep(Duration::from_millis(50));
    log(
        start,
        "main: 50 ms of synchronous work done, now awaiting the tasks",
    );
    let greeting = greeter.await.expect("greeter failed");
    let sum = counter.await.expect("counter failed");
    log(start, format!("main: got {greeting:?} and {sum}"));

    log(start, "main: spawning three sleepers (300, 100, 200 ms)");
    let sleepers: Vec<_> = [300u64, 100, 200]
        .into_iter()
        .map(|ms| {
            filch::spawn(async move {
                filch::sleep(Duration::from_millis(ms)).await;
                log(start, format!("  sleeper {ms} ms: completed"));
                ms
            })
        })
        .collect();
    let begun = Instant::now();
    for sleeper in sleepers {
        let ms = sleeper.await.expect("sleeper failed");
        log(start, format!("main: await of sleeper {ms} ms returned"));
    }
    log(
        start,
        format!(
            "main: all awaited after {:.0?} (they ran concurrently: not 600 ms)",
            begun.elapsed()
        ),
    );
}
