//! `Handle::metrics`: the counters and depths against workloads whose numbers are known.

use filch::{Builder, Runtime};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn polls_spawned_and_live_tasks_are_counted_exactly() {
    let rt = current_thread();
    let handle = rt.handle().clone();
    let before = handle.metrics();
    assert_eq!(before.workers.len(), 1);
    assert_eq!((before.spawned_tasks, before.live_tasks), (0, 0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                filch::spawn(async move {
                    filch::yield_now().await;
                    i
                })
            })
            .collect();
        // All spawned, none run yet (the root has not yielded).
        let m = filch::Handle::current().metrics();
        assert_eq!((m.spawned_tasks, m.live_tasks), (100, 100));
        assert_eq!(
            m.workers[0].local_queue_depth + m.injector_depth + 1,
            100,
            "{m}"
        );
        let sum: i32 = filch::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert_eq!(sum, 4950);
    });
    let after = handle.metrics();
    assert_eq!((after.spawned_tasks, after.live_tasks), (100, 0));
    // Each task: one poll to its yield, one to its end.
    assert_eq!(after.workers[0].polls, 200, "{after}");
    assert_eq!(after.injector_depth, 0);
    assert_eq!(after.workers[0].local_queue_depth, 0);
}

#[test]
fn the_lifo_slot_serves_a_ping_pong() {
    let rt = current_thread();
    rt.block_on(async {
        let (to_b, b_rx) = filch::sync::mpmc::bounded::<u32>(1);
        let (to_a, a_rx) = filch::sync::mpmc::bounded::<u32>(1);
        let b = filch::spawn(async move {
            while let Ok(n) = b_rx.recv().await {
                if to_a.send(n + 1).await.is_err() {
                    break;
                }
            }
        });
        let a = filch::spawn(async move {
            for i in 0..100 {
                to_b.send(i).await.unwrap();
                assert_eq!(a_rx.recv().await.unwrap(), i + 1);
            }
        });
        a.await.unwrap();
        b.await.unwrap();
    });
    let m = rt.handle().metrics();
    // Each wake of the other task puts it in the LIFO slot of the one worker. (Shuffled builds
    // send the LIFO task behind the queue at random, one time in four.)
    let least = if cfg!(filch_shuffle) { 10 } else { 100 };
    assert!(m.workers[0].lifo_hits >= least, "{m}");
}

#[test]
fn budget_forced_yields_are_counted() {
    let rt = current_thread();
    rt.block_on(async {
        filch::spawn(async {
            for _ in 0..10_000 {
                filch::task::consume_budget().await;
            }
        })
        .await
        .unwrap();
        // Let the worker park, which publishes the count.
        filch::sleep(Duration::from_millis(5)).await;
    });
    let m = rt.handle().metrics();
    // 10,000 units at 128 per poll: 78 polls cut short (the count is published at parks and
    // maintenance ticks; this one parked after).
    assert!(m.workers[0].budget_forced_yields >= 70, "{m}");
    assert!(m.workers[0].budget_forced_yields <= 80, "{m}");
}

#[test]
fn timers_sources_and_driver_turns_are_seen() {
    let rt = current_thread();
    let handle = rt.handle().clone();
    rt.block_on(async {
        let base = handle.metrics();
        let sleep = filch::spawn(filch::sleep(Duration::from_secs(3600)));
        let listener = filch::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        filch::yield_now().await;
        let m = handle.metrics();
        assert_eq!(m.timers, base.timers + 1, "{m}");
        assert_eq!(m.io_sources, base.io_sources + 1, "{m}");
        sleep.abort();
        drop(listener);
        let _ = sleep.await;
        let turns = handle.metrics().driver_turns;
        filch::sleep(Duration::from_millis(2)).await;
        let m = handle.metrics();
        assert_eq!(
            (m.timers, m.io_sources),
            (base.timers, base.io_sources),
            "{m}"
        );
        assert!(m.driver_turns > turns, "{m}");
        assert!(m.workers[0].parks >= 1 && m.workers[0].unparks >= 1, "{m}");
    });
}

#[test]
fn the_blocking_pool_shows_busy_and_queued_jobs() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let first = handle.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
    });
    started.recv().unwrap();
    let second = handle.spawn_blocking(|| ());
    let m = handle.metrics();
    assert_eq!(
        (
            m.blocking_threads,
            m.blocking_idle_threads,
            m.blocking_queue_depth
        ),
        (1, 0, 1),
        "{m}"
    );
    release.send(()).unwrap();
    rt.block_on(async {
        first.await.unwrap();
        second.await.unwrap();
    });
    let m = handle.metrics();
    assert_eq!(m.blocking_queue_depth, 0, "{m}");
}

#[test]
fn steals_and_busy_time_show_on_a_multi_thread_runtime() {
    let rt = multi_thread(2);
    let handle = rt.handle().clone();
    // Tasks that each hold their worker for a while, spawned from one worker: the other steals.
    // (On a loaded machine the other worker may be slow to wake: retry a few rounds.)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        rt.block_on(async {
            filch::spawn(async {
                let tasks: Vec<_> = (0..64)
                    .map(|_| {
                        filch::spawn(async {
                            let start = Instant::now();
                            while start.elapsed() < Duration::from_micros(200) {
                                std::hint::spin_loop();
                            }
                        })
                    })
                    .collect();
                filch::join_all(tasks).await;
            })
            .await
            .unwrap();
        });
        let m = handle.metrics();
        let stolen: u64 = m.workers.iter().map(|w| w.steals).sum();
        if stolen > 0 {
            let attempts: u64 = m.workers.iter().map(|w| w.steal_attempts).sum();
            assert!(attempts >= 1, "{m}");
            let polls: u64 = m.workers.iter().map(|w| w.polls).sum();
            assert!(polls >= 65, "{m}");
            // 64 × 200 µs of spinning was done by the workers.
            let busy: Duration = m.workers.iter().map(|w| w.busy).sum();
            assert!(busy >= Duration::from_millis(12), "{m}");
            assert!(m.to_string().contains("worker"), "{m}");
            return;
        }
        assert!(Instant::now() < deadline, "no steal in 20 s: {m}");
    }
}
