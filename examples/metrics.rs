//! The runtime's metrics: a mixed workload (tasks that yield, a ping-pong over a channel, timers,
//! a blocking job), then `Handle::metrics()` printed as a table, and the rates between two
//! snapshots.
//!
//! `cargo run --release --example metrics`

use std::time::{Duration, Instant};

fn main() {
    let rt = filch::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime");
    let handle = rt.handle().clone();
    let start = Instant::now();
    let before = handle.metrics();
    rt.block_on(async {
        // 10,000 tasks that yield a few times: polls, LIFO hits, steals.
        let tasks: Vec<_> = (0..10_000)
            .map(|i| {
                filch::spawn(async move {
                    for _ in 0..3 {
                        filch::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        filch::join_all(tasks).await;

        // A ping-pong between two tasks: each wake lands in the LIFO slot.
        let (to_b, b_rx) = filch::sync::mpmc::bounded::<u32>(1);
        let (to_a, a_rx) = filch::sync::mpmc::bounded::<u32>(1);
        let echo = filch::spawn(async move {
            while let Ok(n) = b_rx.recv().await {
                let _ = to_a.send(n).await;
            }
        });
        let ping = filch::spawn(async move {
            for i in 0..10_000 {
                to_b.send(i).await.expect("echo runs");
                a_rx.recv().await.expect("echo answers");
            }
        });
        ping.await.expect("ping ends");
        echo.await.expect("echo ends");

        // Timers and a blocking job, still pending when the snapshot is taken.
        let sleepers: Vec<_> = (0..2)
            .map(|_| filch::spawn(filch::sleep(Duration::from_secs(60))))
            .collect();
        let blocking = filch::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)));
        filch::sleep(Duration::from_millis(10)).await;
        println!("While two sleeps and a blocking job are pending:\n");
        println!("{}", filch::Handle::current().metrics());
        for sleeper in sleepers {
            sleeper.abort();
        }
        blocking.await.expect("the job ran");
    });
    let after = handle.metrics();
    let secs = start.elapsed().as_secs_f64();
    let polls = |m: &filch::RuntimeMetrics| m.workers.iter().map(|w| w.polls).sum::<u64>();
    let steals = |m: &filch::RuntimeMetrics| m.workers.iter().map(|w| w.steals).sum::<u64>();
    println!(
        "Over the {:.0} ms run: {:.0} polls/s, {:.0} tasks stolen/s, {} tasks spawned, {} live now",
        secs * 1e3,
        (polls(&after) - polls(&before)) as f64 / secs,
        (steals(&after) - steals(&before)) as f64 / secs,
        after.spawned_tasks - before.spawned_tasks,
        after.live_tasks,
    );
}
