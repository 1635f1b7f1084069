//! Stuck-worker rescue: a task queued in the LIFO slot of a worker that then blocks is run by
//! another worker within the rescue threshold and a reading; `block_in_place` hands a worker's
//! queued tasks over before it blocks.

use filch::Builder;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const THRESHOLD: Duration = Duration::from_millis(50);
/// How long the blocking task blocks: far longer than any rescue takes.
const BLOCK: Duration = Duration::from_millis(1000);

fn runtime(rescue: Option<Duration>) -> filch::Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .rescue_threshold(rescue)
        // Reports are another test's business; this one keeps stderr quiet.
        .slow_poll_threshold(None)
        .build()
        .unwrap()
}

/// On a worker: wakes a task waiting on a oneshot (it goes to this worker's LIFO slot), then
/// blocks the worker for `block`. Returns how long the woken task waited to run.
async fn wake_then_block(block: Duration) -> Duration {
    let (tx, rx) = filch::sync::oneshot::channel::<Instant>();
    let (ran_tx, ran_rx) = filch::sync::oneshot::channel::<Instant>();
    drop(filch::spawn(async move {
        let sent = rx.await.unwrap();
        let _ = ran_tx.send(sent);
        Instant::now()
    }));
    drop(filch::spawn(async move {
        // Let the waiter park on its channel first.
        filch::sleep(Duration::from_millis(20)).await;
        tx.send(Instant::now()).unwrap();
        std::thread::sleep(block);
    }));
    let sent = ran_rx.await.unwrap();
    sent.elapsed()
}

#[test]
fn a_task_woken_by_a_worker_that_then_blocks_runs_on_another_worker() {
    let rt = runtime(Some(THRESHOLD));
    let waited = rt.block_on(wake_then_block(BLOCK));
    assert!(
        waited < 2 * THRESHOLD,
        "the woken task waited {waited:?}, threshold {THRESHOLD:?}"
    );
    let rescued: u64 = rt
        .handle()
        .metrics()
        .workers
        .iter()
        .map(|w| w.rescued)
        .sum();
    // Shuffle builds send some wake-ups to the injector instead of the LIFO slot.
    if !cfg!(filch_shuffle) {
        assert_eq!(rescued, 1);
    }
}

#[test]
fn without_the_rescue_the_woken_task_waits_for_the_block() {
    // The same workload with the rescue off: what the rescue saves (so the test above tests it).
    let rt = runtime(None);
    let block = Duration::from_millis(300);
    let waited = rt.block_on(wake_then_block(block));
    if cfg!(filch_shuffle) {
        // Shuffle builds send some wake-ups to the injector instead of the LIFO slot, where
        // the other worker takes them without a rescue.
        return;
    }
    assert!(waited >= block, "waited only {waited:?}");
    let rescued: u64 = rt
        .handle()
        .metrics()
        .workers
        .iter()
        .map(|w| w.rescued)
        .sum();
    assert_eq!(rescued, 0);
}

#[test]
fn a_spawned_task_is_rescued_after_the_runtime_was_idle() {
    // Idle first: the watchdog naps once every worker has slept for 8 readings (here 8 x 25
    // ms), and must wake when one wakes up.
    let rt = runtime(Some(THRESHOLD));
    std::thread::sleep(Duration::from_millis(500));
    let waited = rt.block_on(async {
        filch::spawn(async {
            let (tx, rx) = mpsc::channel();
            let queued = Instant::now();
            // Spawned from a worker: this worker's LIFO slot.
            drop(filch::spawn(
                async move { tx.send(queued.elapsed()).unwrap() },
            ));
            std::thread::sleep(BLOCK);
            // With a timeout: unrescued, the task would wait behind this very thread.
            rx.recv_timeout(Duration::from_secs(5)).unwrap()
        })
        .await
        .unwrap()
    });
    assert!(
        waited < 2 * THRESHOLD,
        "the spawned task waited {waited:?}, threshold {THRESHOLD:?}"
    );
}

#[test]
fn tasks_woken_again_and_again_by_a_stuck_poll_are_all_rescued() {
    // A poll that computes without yielding and wakes a task now and then: each wake-up lands
    // in the LIFO slot (displacing the last into the stealable queue), and each is rescued.
    let rt = runtime(Some(THRESHOLD));
    let (delays, max) = rt.block_on(async {
        let (tx, rx) = mpsc::channel();
        let stuck = filch::spawn(async move {
            for _ in 0..5 {
                let tx = tx.clone();
                let queued = Instant::now();
                drop(filch::spawn(
                    async move { tx.send(queued.elapsed()).unwrap() },
                ));
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let delays: Vec<Duration> = (0..5)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        stuck.await.unwrap();
        let max = delays.iter().max().copied().unwrap();
        (delays, max)
    });
    assert!(max < 2 * THRESHOLD, "{delays:?}");
}

#[test]
fn block_in_place_hands_the_queued_task_over_before_blocking() {
    // The rescue off: the hand-over alone must do it.
    let rt = runtime(None);
    let (waited, value) = rt.block_on(async {
        filch::spawn(async {
            let (tx, rx) = mpsc::channel();
            let queued = Instant::now();
            drop(filch::spawn(
                async move { tx.send(queued.elapsed()).unwrap() },
            ));
            let value = filch::task::block_in_place(|| {
                std::thread::sleep(Duration::from_millis(300));
                7
            });
            (rx.recv_timeout(Duration::from_secs(5)).unwrap(), value)
        })
        .await
        .unwrap()
    });
    assert_eq!(value, 7);
    assert!(waited < Duration::from_millis(200), "waited {waited:?}");
}

#[test]
fn tasks_spawned_inside_block_in_place_run_on_other_workers() {
    let rt = runtime(None);
    let waited = rt.block_on(async {
        filch::spawn(async {
            filch::task::block_in_place(|| {
                let (tx, rx) = mpsc::channel();
                let queued = Instant::now();
                drop(filch::spawn(
                    async move { tx.send(queued.elapsed()).unwrap() },
                ));
                // Blocks until the task has run: it must not be queued on this worker.
                rx.recv_timeout(Duration::from_secs(5)).unwrap()
            })
        })
        .await
        .unwrap()
    });
    assert!(waited < Duration::from_secs(1), "waited {waited:?}");
}

#[test]
fn block_in_place_is_not_reported_as_a_slow_poll() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(Duration::from_millis(20)))
        .on_slow_poll(move |slow| {
            let _ = tx.lock().unwrap().send(slow.to_string());
        })
        .build()
        .unwrap();
    rt.block_on(async {
        filch::spawn(async {
            filch::task::block_in_place(|| std::thread::sleep(Duration::from_millis(200)));
        })
        .await
        .unwrap();
    });
    drop(rt);
    let reports: Vec<String> = rx.try_iter().collect();
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn a_panic_inside_block_in_place_fails_its_task_only() {
    let rt = runtime(None);
    rt.block_on(async {
        let err = filch::spawn(async {
            filch::task::block_in_place(|| panic!("boom"));
        })
        .await
        .unwrap_err();
        assert!(err.is_panic());
        // The worker carries on: later tasks run, and may use block_in_place again.
        let v = filch::spawn(async { filch::task::block_in_place(|| 5) })
            .await
            .unwrap();
        assert_eq!(v, 5);
        let many = (0..100).map(|i| filch::spawn(async move { i }));
        assert_eq!(filch::join_all(many).await.len(), 100);
    });
}

#[test]
fn block_in_place_outside_a_worker_just_runs() {
    assert_eq!(filch::task::block_in_place(|| 3), 3);
    let rt = runtime(None);
    // A multi-thread runtime's `block_on` future runs on the caller's thread, not a worker.
    assert_eq!(rt.block_on(async { filch::task::block_in_place(|| 4) }), 4);
    // Nested: the inner call runs under the outer hand-over.
    let v = rt.block_on(async {
        filch::spawn(async { filch::task::block_in_place(|| filch::task::block_in_place(|| 6)) })
            .await
            .unwrap()
    });
    assert_eq!(v, 6);
}

#[test]
fn block_in_place_on_a_current_thread_runtime_panics_with_advice() {
    let rt = Builder::new_current_thread().build().unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { filch::task::block_in_place(|| ()) })
    }))
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("current-thread runtime"), "{msg}");
    assert!(msg.contains("spawn_blocking"), "{msg}");
}

#[test]
fn a_task_inside_block_in_place_is_running_in_the_dump_and_parents_what_it_spawns() {
    let rt = runtime(None);
    let handle = rt.handle().clone();
    let (id, state, parent) = rt.block_on(async move {
        let task = filch::spawn(async move {
            filch::task::block_in_place(|| {
                let child = filch::spawn(std::future::pending::<()>());
                let dump = handle.dump();
                let me = dump
                    .tasks
                    .iter()
                    .find(|t| t.state != filch::TaskState::Idle && t.id != child.id())
                    .map(|t| (t.id, t.state));
                let parent = dump.get(child.id()).and_then(|t| t.parent);
                child.abort();
                (me, parent)
            })
        });
        let id = task.id();
        let (me, parent) = task.await.unwrap();
        (id, me, parent)
    });
    assert_eq!(state.map(|(t, _)| t), Some(id));
    assert!(
        matches!(
            state,
            Some((_, filch::TaskState::Running { worker: Some(_) }))
        ),
        "{state:?}"
    );
    assert_eq!(parent, Some(id));
}

/// tokio's idiom for synchronous code that must wait for async code: `block_on` inside
/// `block_in_place`, with this runtime's handle (the future's own tasks and timers run on the
/// other worker) or with another runtime of either flavour.
#[test]
fn block_on_inside_block_in_place_waits_for_this_and_other_runtimes() {
    let rt = runtime(None);
    let other = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let other_handle = other.handle().clone();
    let got = rt.block_on(async move {
        filch::spawn(async move {
            let here = filch::Handle::current();
            filch::task::block_in_place(move || {
                let own = here.block_on(async {
                    let helper = filch::spawn(async {
                        filch::sleep(Duration::from_millis(10)).await;
                        20
                    });
                    helper.await.unwrap() + 1
                });
                let multi =
                    other_handle.block_on(async { filch::spawn(async { 300 }).await.unwrap() });
                let current = Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(async { filch::spawn(async { 4000 }).await.unwrap() });
                own + multi + current
            })
        })
        .await
        .unwrap()
    });
    assert_eq!(got, 4321);
    // The worker is a worker again afterwards: its tasks still run, and `block_on` is refused
    // there as before.
    let refused = rt.block_on(async {
        filch::spawn(async {
            let inner = filch::Handle::current();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.block_on(async {})))
                .is_err()
        })
        .await
        .unwrap()
    });
    assert!(
        refused,
        "block_on on a worker outside block_in_place must panic"
    );
}
