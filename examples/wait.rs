//! asyncio's `wait(tasks, return_when=...)`: wait on spawned tasks until the first one finishes,
//! the first one fails, or all of them finish (optionally with a timeout), and get back what is
//! done and what is still pending — each with its position in the input.
//!
//! `cargo run --example wait`

use filch::{JoinHandle, ReturnWhen, Waited};
use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Spawns a job that finishes after `ms` milliseconds, with an error if `fail` is true.
fn job(ms: u64, fail: bool) -> JoinHandle<Result<u64, String>> {
    filch::spawn(async move {
        filch::sleep(Duration::from_millis(ms)).await;
        if fail {
            Err(format!("job {ms} ms: disk full"))
        } else {
            Ok(ms)
        }
    })
}

/// Prints what `wait` returned.
fn report(start: Instant, waited: &Waited<u64, String>) {
    for (index, result) in &waited.done {
        match result {
            Ok(Ok(ms)) => log(start, format!("  done:    #{index} -> Ok({ms})")),
            Ok(Err(err)) => log(start, format!("  done:    #{index} -> Err({err:?})")),
            Err(join_err) => log(start, format!("  done:    #{index} -> {join_err}")),
        }
    }
    for (index, _) in &waited.pending {
        log(start, format!("  pending: #{index}"));
    }
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(start, "FIRST_COMPLETED over jobs of 300, 100, 200 ms");
    let handles = [300, 100, 200].map(|ms| job(ms, false));
    let waited = filch::wait(handles, ReturnWhen::FirstCompleted).await;
    report(start, &waited);
    log(start, "aborting the pending ones");
    for (index, handle) in waited.pending {
        handle.abort();
        let err = handle.await.expect_err("an aborted job cannot finish");
        log(
            start,
            format!("  #{index}: {err} (is_cancelled = {})", err.is_cancelled()),
        );
    }

    log(
        start,
        "FIRST_ERROR over jobs of 100 ms, 150 ms (fails), 400 ms",
    );
    let handles = [job(100, false), job(150, true), job(400, false)];
    let waited = filch::wait(handles, ReturnWhen::FirstError).await;
    report(start, &waited);
    for (_, handle) in waited.pending {
        handle.abort();
    }

    log(
        start,
        "ALL_COMPLETED with a 250 ms timeout over jobs of 100, 200, 400, 600 ms",
    );
    let handles = [100, 200, 400, 600].map(|ms| job(ms, false));
    let waited = filch::wait(handles, ReturnWhen::AllCompleted)
        .timeout(Duration::from_millis(250))
        .await;
    report(start, &waited);
    log(
        start,
        "the pending jobs are still running: wait for them again, without timeout",
    );
    let handles = waited.pending.into_iter().map(|(_, handle)| handle);
    let waited = filch::wait(handles, ReturnWhen::AllCompleted).await;
    report(start, &waited);
    log(start, "(positions are in the second call's input now)");
}
