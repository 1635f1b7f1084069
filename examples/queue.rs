//! asyncio's producer/consumer pattern with `Queue`: three workers take jobs from a bounded
//! queue, mark each done with `task_done`, and the producer waits with `join` until every job
//! was processed, not merely taken; then it closes the queue and the workers return. A second
//! part shows the graceful-shutdown pattern of a service: a `CancellationToken` stops workers
//! that wait on a `Notify`-driven schedule.
//!
//! `cargo run --example queue`

use filch::sync::{CancellationToken, Queue};
use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Takes jobs until the queue is closed; each job is "work" of `ms` milliseconds.
async fn worker(start: Instant, id: u32, queue: Queue<(u32, u64)>) -> u32 {
    let mut done = 0;
    while let Ok((job, ms)) = queue.recv().await {
        log(start, format!("worker {id}: job {job} ({ms} ms)"));
        filch::sleep(Duration::from_millis(ms)).await;
        queue.task_done();
        done += 1;
    }
    log(start, format!("worker {id}: queue closed, did {done} jobs"));
    done
}

#[filch::main]
async fn main() {
    let start = Instant::now();

    // asyncio: queue = asyncio.Queue(maxsize=2)
    let queue = Queue::bounded(2);
    let workers: Vec<_> = (1..=3)
        .map(|id| filch::spawn(worker(start, id, queue.clone())))
        .collect();
    for job in 1..=8u32 {
        let ms = 10 + u64::from(job % 3) * 15;
        // `send` waits while the queue holds 2 jobs: backpressure on the producer.
        queue.send((job, ms)).await.expect("the queue is open");
        log(
            start,
            format!("producer: queued job {job}, {} waiting", queue.len()),
        );
    }
    log(
        start,
        "producer: all queued; waiting for every job to be done",
    );
    queue.join().await; // asyncio: await queue.join()
    log(
        start,
        format!("producer: all done ({} unfinished)", queue.unfinished()),
    );
    queue.close(); // asyncio 3.13: queue.shutdown()
    let total: u32 = filch::join_all(workers)
        .await
        .into_iter()
        .map(|r| r.expect("a worker panicked"))
        .sum();
    log(start, format!("{total} jobs done by 3 workers"));

    // Graceful shutdown: workers tick until the token is cancelled; children stop with it.
    let shutdown = CancellationToken::new();
    let tickers: Vec<_> = (1..=2)
        .map(|id| {
            let token = shutdown.child_token();
            filch::spawn(async move {
                let mut ticks = 0;
                loop {
                    filch::select! {
                        _ = token.cancelled() => break,
                        _ = filch::sleep(Duration::from_millis(15)) => ticks += 1,
                    }
                }
                log(start, format!("ticker {id}: stopped after {ticks} ticks"));
            })
        })
        .collect();
    filch::sleep(Duration::from_millis(50)).await;
    log(start, "main: cancelling");
    shutdown.cancel();
    filch::join_all(tickers).await;
    log(start, "main: every ticker stopped");
}
