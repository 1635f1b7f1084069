//! Scheduling: idle workers steal queued work, `spawn_blocking` never holds a worker, the
//! blocking pool grows to `max_blocking_threads` and no further (and idle threads exit after
//! `thread_keep_alive`), and `yield_now` really lets other tasks run. (The cooperative budget
//! is covered by `sched_coop.rs`.)

mod common;

use common::{busy_for, runtime, spin_until, within};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn cpu_bound_tasks_spawned_by_one_task_run_on_every_worker() {
    let rt = runtime(2, "steal");
    let names = Arc::new(Mutex::new(HashSet::new()));
    let spawner = {
        let names = names.clone();
        rt.spawn(async move {
            // All spawned on one worker's queues: the other worker only gets work by stealing.
            let joins: Vec<_> = (0..64)
                .map(|_| {
                    let names = names.clone();
                    filch::spawn(async move {
                        busy_for(Duration::from_millis(2));
                        let name = std::thread::current().name().unwrap().to_owned();
                        names.lock().unwrap().insert(name);
                    })
                })
                .collect();
            for join in joins {
                join.await.unwrap();
            }
        })
    };
    within(LIMIT, "the CPU-bound tasks", move || rt.block_on(spawner)).unwrap();
    let names = names.lock().unwrap();
    let expected: HashSet<String> = ["steal-worker-0", "steal-worker-1"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(*names, expected);
}

#[test]
fn spawn_blocking_does_not_hold_the_only_worker() {
    let rt = runtime(1, "steal-blk");
    let outcome = within(LIMIT, "blocking job and task", move || {
        rt.block_on(async {
            // From a task, so the job is started on the worker itself.
            filch::spawn(async {
                let (tx, rx) = mpsc::channel::<()>();
                let job = filch::spawn_blocking(move || {
                    let name = std::thread::current().name().map(str::to_owned);
                    // Blocks its thread until the task below has run on the worker.
                    (rx.recv_timeout(Duration::from_secs(10)).is_ok(), name)
                });
                let signaller = filch::spawn(async move { tx.send(()).unwrap() });
                let job = job.await.unwrap();
                signaller.await.unwrap();
                job
            })
            .await
            .unwrap()
        })
    });
    let (signalled, name) = outcome;
    assert!(
        signalled,
        "the task never ran while the blocking job blocked"
    );
    assert_eq!(name.as_deref(), Some("steal-blk-blocking"));
}

#[test]
fn the_blocking_pool_grows_to_max_blocking_threads_and_no_further() {
    const MAX: usize = 3;
    const JOBS: usize = 10;
    let rt = filch::Builder::new()
        .worker_threads(1)
        .thread_name("steal-pool")
        .max_blocking_threads(MAX)
        .build()
        .unwrap();
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    // Set once MAX jobs ran at the same time.
    let filled = Arc::new(AtomicBool::new(false));
    let threads = Arc::new(Mutex::new(HashSet::<ThreadId>::new()));
    let joins: Vec<_> = (0..JOBS)
        .map(|_| {
            let (active, peak) = (active.clone(), peak.clone());
            let (filled, threads) = (filled.clone(), threads.clone());
            rt.spawn_blocking(move || {
                threads.lock().unwrap().insert(std::thread::current().id());
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                if now >= MAX {
                    filled.store(true, Ordering::SeqCst);
                }
                // The first jobs wait (bounded) until the pool is full, so that they overlap
                // however slowly threads start; a pool that grew past MAX shows in `peak`.
                assert!(spin_until(LIMIT, || filled.load(Ordering::SeqCst)));
                std::thread::sleep(Duration::from_millis(50));
                peak.fetch_max(active.load(Ordering::SeqCst), Ordering::SeqCst);
                active.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    within(LIMIT, "the blocking jobs", move || {
        for join in joins {
            rt.block_on(join).unwrap();
        }
    });
    assert_eq!(peak.load(Ordering::SeqCst), MAX);
    // The default keep-alive (10 s) is far longer than the test: no thread exited and was
    // replaced, so the jobs ran on at most MAX threads.
    let threads = threads.lock().unwrap().len();
    assert!(threads <= MAX, "{threads} blocking threads");
}

#[test]
fn idle_blocking_threads_exit_after_the_keep_alive() {
    let rt = filch::Builder::new()
        .worker_threads(1)
        .thread_name("steal-keepalive")
        .thread_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let first = rt
        .block_on(rt.spawn_blocking(|| std::thread::current().id()))
        .unwrap();
    // Idle for far longer than the keep-alive: that thread exits, the next job gets a new one.
    std::thread::sleep(Duration::from_millis(500));
    let second = rt
        .block_on(rt.spawn_blocking(|| std::thread::current().id()))
        .unwrap();
    assert_ne!(first, second);
}

#[test]
fn yield_now_lets_another_task_run_on_the_same_worker() {
    let rt = runtime(1, "steal-yield");
    let yields = within(LIMIT, "the yielding task", move || {
        rt.block_on(async {
            filch::spawn(async {
                let flag = Arc::new(AtomicBool::new(false));
                let waiter = filch::spawn({
                    let flag = flag.clone();
                    async move {
                        // Spawns the setter itself: it lands in this worker's LIFO slot, and
                        // only runs if the yield gives the worker away.
                        let setter = filch::spawn({
                            let flag = flag.clone();
                            async move { flag.store(true, Ordering::SeqCst) }
                        });
                        let mut yields = 0u32;
                        while !flag.load(Ordering::SeqCst) {
                            filch::yield_now().await;
                            yields += 1;
                        }
                        setter.await.unwrap();
                        yields
                    }
                });
                waiter.await.unwrap()
            })
            .await
            .unwrap()
        })
    });
    assert!(yields >= 1);
}

#[test]
fn yield_now_lets_a_remotely_spawned_task_run() {
    let rt = runtime(1, "steal-yield-remote");
    let flag = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let waiter = rt.spawn({
        let flag = flag.clone();
        async move {
            started_tx.send(()).unwrap();
            while !flag.load(Ordering::SeqCst) {
                filch::yield_now().await;
            }
        }
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    // Goes through the injector while the only worker is busy yielding.
    let setter = rt.spawn(async move { flag.store(true, Ordering::SeqCst) });
    within(LIMIT, "the yielding task", move || {
        rt.block_on(setter).unwrap();
        rt.block_on(waiter).unwrap();
    });
}
