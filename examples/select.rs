//! Waiting on several things at once: `select!` in an event loop, then `race` and `timeout`.
//!
//! The loop handles a ticker (`filch::interval`), a source of messages (here `as_completed`, whose
//! `next()` is cancel-safe) and a deadline. The deadline is a single `Sleep` pinned outside the
//! loop and selected by `&mut`, so it keeps counting across iterations; the ticker and the
//! message source live outside the loop too, so a lost branch loses nothing. `biased;` polls the
//! branches in the order written (deadline first) instead of from a random one.
//!
//! `cargo run --example select`

use std::fmt::Display;
use std::pin::pin;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Stands in for a mirror that answers after `ms` milliseconds.
async fn mirror(name: &'static str, ms: u64) -> String {
    filch::sleep(Duration::from_millis(ms)).await;
    format!("{name} answered after {ms} ms")
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(
        start,
        "event loop: tick every 100 ms, 3 messages, deadline at 450 ms",
    );
    let mut ticker = filch::interval(Duration::from_millis(100));
    let mut messages = filch::as_completed([120u64, 250, 330].map(|ms| async move {
        filch::sleep(Duration::from_millis(ms)).await;
        format!("message sent at {ms} ms")
    }));
    let mut deadline = pin!(filch::sleep(Duration::from_millis(450)));
    let mut ticks = 0;
    loop {
        filch::select! {
            biased;
            () = &mut deadline => {
                log(start, "  deadline reached: leaving the loop");
                break;
            }
            Some(Ok(msg)) = messages.next(), if !messages.is_empty() => {
                log(start, format!("  got {msg:?}"));
            }
            _ = ticker.tick() => {
                ticks += 1;
                log(start, format!("  tick {ticks}"));
            }
        }
    }
    log(start, format!("loop done after {ticks} ticks"));

    log(start, "race: ask three mirrors, keep the first answer");
    let answer = filch::race([mirror("eu", 150), mirror("us", 80), mirror("asia", 220)]).await;
    log(start, format!("  {answer} (the others were dropped)"));

    log(
        start,
        "timeout: 100 ms for a 50 ms call, then for a 300 ms call",
    );
    match filch::timeout(Duration::from_millis(100), mirror("fast", 50)).await {
        Ok(answer) => log(start, format!("  Ok: {answer}")),
        Err(elapsed) => log(start, format!("  Err: {elapsed}")),
    }
    match filch::timeout(Duration::from_millis(100), mirror("slow", 300)).await {
        Ok(answer) => log(start, format!("  Ok: {answer}")),
        Err(elapsed) => log(start, format!("  Err: {elapsed}")),
    }

    log(
        start,
        "select: two futures, the loser handed back to finish later",
    );
    let slow = Box::pin(mirror("slow", 200));
    let fast = Box::pin(mirror("fast", 50));
    let (first, loser) = match filch::select(slow, fast).await {
        filch::Either::Left((out, other)) | filch::Either::Right((out, other)) => (out, other),
    };
    log(start, format!("  first: {first}"));
    log(start, format!("  then:  {}", loser.await));
}
