//! Attacks on the stuck-worker rescue, the watchdog's nap and `block_in_place`: races with the
//! worker's own take, with shutdown and abort, several runtimes at once, the watchdog's idle
//! cost, and `block_in_place` in odd places.
//!
//! The watchdog is one thread for the whole process, so the tests here run one at a time
//! (`serial`): one test's busy runtime would otherwise keep the watchdog awake under another's
//! idleness check.
// Two tests hand a join handle out of a task on purpose: it is awaited outside, after the
// blocking poll, to see what the rescue did with the task.
#![allow(clippy::async_yields_async)]

mod common;

use filch::{Builder, SlowPoll};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn runtime(rescue: Option<Duration>) -> filch::Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .rescue_threshold(rescue)
        .slow_poll_threshold(None)
        .build()
        .unwrap()
}

fn rescued(rt: &filch::Runtime) -> u64 {
    rt.handle()
        .metrics()
        .workers
        .iter()
        .map(|w| w.rescued)
        .sum()
}

/// The watchdog thread's voluntary context switches (how often it has slept and woken).
fn watchdog_switches() -> u64 {
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = entry.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() == "filch-watchdog" {
            let status = std::fs::read_to_string(path.join("status")).unwrap();
            let line = status
                .lines()
                .find(|l| l.starts_with("voluntary_ctxt_switches"))
                .unwrap();
            return line.split_whitespace().nth(1).unwrap().parse().unwrap();
        }
    }
    panic!("no filch-watchdog thread");
}

/// Spawned on a worker: queues a child in this worker's LIFO slot, then blocks the worker for
/// `block`. Returns how long the child waited to run (or `None` if it did not run within 5 s).
async fn child_wait_behind_block(block: Duration) -> Option<Duration> {
    filch::spawn(async move {
        let (tx, rx) = mpsc::channel();
        let queued = Instant::now();
        drop(filch::spawn(async move {
            let _ = tx.send(queued.elapsed());
        }));
        std::thread::sleep(block);
        rx.recv_timeout(Duration::from_secs(5)).ok()
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The watchdog's nap: idle cost, and waking for a stuck worker.

/// An idle runtime (every worker parked, no timer) must not wake the watchdog: it naps until a
/// worker wakes up. A periodic wake-up here would be an idle-CPU regression for every process
/// that uses the default builder.
#[test]
fn an_idle_runtime_lets_the_watchdog_nap() {
    let _s = serial();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // Some work first, so that the watchdog has been reading at its fastest period.
    rt.block_on(async {
        for _ in 0..10 {
            filch::spawn(async { std::thread::sleep(ms(2)) })
                .await
                .unwrap();
        }
    });
    // Let the workers settle (a deputy retires after a few timeouts).
    std::thread::sleep(ms(200));
    let before = watchdog_switches();
    std::thread::sleep(ms(1000));
    let woke = watchdog_switches() - before;
    assert!(
        woke <= 5,
        "an idle runtime woke the watchdog {woke} times in 1 s"
    );
    drop(rt);
}

/// The other side of the nap: while a worker is stuck the watchdog reads it every half rescue
/// threshold (2.5 ms by default), so about 400 times in a second; not far more (a busy loop),
/// not far fewer (no rescue).
#[test]
fn a_stuck_worker_keeps_the_watchdog_reading_about_every_half_threshold() {
    let _s = serial();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .rescue_threshold(Some(ms(10)))
        .slow_poll_threshold(None)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let task = rt.spawn(async move {
        started_tx.send(()).unwrap();
        std::thread::sleep(ms(1100));
    });
    started_rx.recv().unwrap();
    std::thread::sleep(ms(50));
    let before = watchdog_switches();
    std::thread::sleep(ms(1000));
    let woke = watchdog_switches() - before;
    // 200 readings a second at 5 ms; a noisy machine oversleeps, never undersleeps (45 seen
    // with two builds on both cores).
    assert!(
        (15..=260).contains(&woke),
        "watchdog woke {woke} times in 1 s"
    );
    rt.block_on(task).unwrap();
}

/// A worker that wakes just as the watchdog decides to nap: whichever order the worker's
/// "awake" store and the watchdog's `NAPPING` store land in, the watchdog must end up reading
/// the worker, or a worker that then blocks is never rescued. Idle gaps of varying length put
/// the wake-up at every point of the watchdog's round.
#[test]
fn a_worker_waking_as_the_watchdog_naps_is_still_rescued() {
    let _s = serial();
    let rt = runtime(Some(ms(10)));
    for i in 0..30u64 {
        // 0 to ~6 ms of idleness: the watchdog reads every 5 ms.
        std::thread::sleep(Duration::from_micros(i * 211 % 6000));
        let waited = rt
            .block_on(child_wait_behind_block(ms(150)))
            .expect("the child was never rescued");
        // A lost nap wake-up leaves the child waiting for the whole 5 s; a loaded machine
        // (another build on both cores) delayed the watchdog by up to 260 ms.
        assert!(waited < ms(1000), "round {i}: the child waited {waited:?}");
    }
    // Shuffle builds send some wake-ups to the injector instead of the slot.
    if !cfg!(filch_shuffle) {
        assert_eq!(rescued(&rt), 30);
    }
}

/// Several runtimes with different thresholds, stuck at once: each is rescued after its own
/// threshold, not before (the watchdog reads all of them at the smallest period).
#[test]
fn runtimes_with_different_thresholds_are_rescued_each_at_its_own() {
    let _s = serial();
    let fast = runtime(Some(ms(10)));
    let slow = runtime(Some(ms(300)));
    let f = fast.spawn(child_wait_behind_block(ms(600)));
    let s = slow.spawn(child_wait_behind_block(ms(600)));
    let f = fast.block_on(f).unwrap().unwrap();
    let s = slow.block_on(s).unwrap().unwrap();
    assert!(f < ms(200), "fast: {f:?}");
    assert!(s < ms(590), "slow: {s:?}");
    // Shuffle builds send some wake-ups to the injector instead of the slot.
    if !cfg!(filch_shuffle) {
        assert!(
            s >= ms(300),
            "slow: rescued before its threshold, after {s:?}"
        );
        assert_eq!(rescued(&fast), 1);
        assert_eq!(rescued(&slow), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The rescue racing the worker, abort and shutdown.

/// Polls that end right about when the rescue fires: the worker takes its own LIFO task or the
/// watchdog does, never both, never neither. Each child counts its runs; all of them must run
/// exactly once, and the owned-task list must empty.
#[test]
fn rescue_racing_the_end_of_the_poll_runs_each_task_exactly_once() {
    let _s = serial();
    let rt = runtime(Some(ms(2)));
    let runs = Arc::new(AtomicUsize::new(0));
    const N: usize = 300;
    rt.block_on({
        let runs = runs.clone();
        async move {
            let mut joins = Vec::new();
            for i in 0..N {
                let runs = runs.clone();
                joins.push(filch::spawn(async move {
                    let child = filch::spawn(async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                    });
                    // Around the rescue threshold and a reading (1 ms period).
                    common::busy_for(Duration::from_micros(1500 + (i as u64 * 97) % 2500));
                    child.await.unwrap();
                }));
            }
            for j in joins {
                j.await.unwrap();
            }
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), N);
    assert!(common::spin_until(Duration::from_secs(2), || rt
        .handle()
        .metrics()
        .live_tasks
        == 0));
}

/// The task in a stuck worker's slot is aborted before the rescue takes it: the rescue runs it
/// as cancelled (its future dropped, its join handle told), and it leaves the owned list.
#[test]
fn an_aborted_task_in_a_stuck_workers_slot_is_cancelled_by_the_rescue() {
    let _s = serial();
    let rt = runtime(Some(ms(10)));
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let d = dropped.clone();
    let err = rt.block_on(async move {
        filch::spawn(async move {
            let count = Count(d);
            let (tx, rx) = filch::sync::oneshot::channel::<()>();
            let child = filch::spawn(async move {
                let _count = count;
                let _ = rx.await;
            });
            // Let it wait on the channel, then wake it (to this worker's slot)...
            filch::yield_now().await;
            filch::sleep(ms(5)).await;
            drop(tx);
            // ...and abort it while it is queued there.
            child.abort();
            std::thread::sleep(ms(200));
            child
        })
        .await
        .unwrap()
        .await
        .unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(common::spin_until(Duration::from_secs(2), || rt
        .handle()
        .metrics()
        .live_tasks
        == 0));
}

/// `shutdown_timeout` while a worker is stuck with a task in its slot: the drop of the
/// registration stops the rescue; the queued task's future is dropped by the shutdown; the
/// watchdog keeps working for the other runtimes.
#[test]
fn shutdown_timeout_with_a_stuck_worker_leaves_the_watchdog_working() {
    let _s = serial();
    for _ in 0..5 {
        let rt = runtime(Some(ms(1)));
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        drop(rt.spawn(async move {
            struct Count(Arc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let count = Count(d);
            // Queued in this worker's slot, with a future that never completes.
            drop(filch::spawn(async move {
                let _count = count;
                std::future::pending::<()>().await;
            }));
            ready_tx.send(()).unwrap();
            std::thread::sleep(ms(300));
        }));
        ready_rx.recv().unwrap();
        std::thread::sleep(ms(3));
        rt.shutdown_timeout(ms(5));
        assert!(
            common::spin_until(Duration::from_secs(2), || dropped.load(Ordering::SeqCst)
                == 1),
            "the queued task's future was not dropped"
        );
    }
    // The watchdog still rescues.
    let rt = runtime(Some(ms(10)));
    let waited = rt.block_on(child_wait_behind_block(ms(150))).unwrap();
    assert!(waited < ms(1000), "{waited:?}");
}

/// Runtimes dropped while the watchdog rescues them at its fastest period (a stuck task waking
/// a child at every turn): the rescue's upgrade may hold the last reference to the runtime's
/// state, which is then freed on the watchdog thread. Nothing hangs or panics, and the
/// watchdog carries on.
#[test]
fn runtimes_dropped_mid_rescue_leave_the_watchdog_working() {
    let _s = serial();
    common::within(Duration::from_secs(30), "drops mid-rescue", || {
        for round in 0..40u64 {
            let rt = runtime(Some(ms(1)));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = stop.clone();
            drop(rt.spawn(async move {
                let deadline = Instant::now() + ms(30);
                while Instant::now() < deadline && !s.load(Ordering::Relaxed) {
                    drop(filch::spawn(async {}));
                    std::thread::sleep(Duration::from_micros(200));
                }
            }));
            std::thread::sleep(Duration::from_micros(2000 + round * 150));
            stop.store(true, Ordering::Relaxed);
            drop(rt);
        }
    });
    let rt = runtime(Some(ms(10)));
    let waited = rt.block_on(child_wait_behind_block(ms(150))).unwrap();
    assert!(waited < ms(1000), "{waited:?}");
}

// ---------------------------------------------------------------------------------------------
// Callbacks.

/// A callback that panics: the watchdog survives, and keeps reporting and rescuing.
#[test]
fn a_panicking_callback_does_not_stop_reports_or_rescues() {
    let _s = serial();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(ms(10)))
        .rescue_threshold(Some(ms(10)))
        .on_slow_poll(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("callback panics");
        })
        .build()
        .unwrap();
    // The panic hook runs on the watchdog thread, before any rescue of the next reading: a
    // backtrace printed there (RUST_BACKTRACE, a sanitizer build) takes long enough to delay
    // every rescue by seconds. Silenced for the watchdog while this test runs (the tests here
    // run one at a time).
    let default_hook = Arc::new(std::panic::take_hook());
    let hook = default_hook.clone();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some("filch-watchdog") {
            hook(info);
        }
    }));
    for _ in 0..2 {
        rt.block_on(child_wait_behind_block(ms(100)))
            .expect("not rescued after a callback panicked");
    }
    // Two reports per blocking poll (more if the loaded machine stretches another poll).
    assert!(common::spin_until(Duration::from_secs(2), || calls
        .load(Ordering::SeqCst)
        >= 4));
    // Silenced until no report of this runtime can come any more: a backtrace printed on the
    // watchdog thread during the next test made it miss a 100 ms poll there altogether.
    drop(rt);
    std::thread::sleep(ms(50));
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| default_hook(info)));
}

/// A callback that builds (and drops) a runtime of its own with a rescue: registration from
/// the watchdog thread, outside its lock, and a runtime dropped there.
#[test]
fn a_callback_that_builds_a_runtime_does_not_deadlock_the_watchdog() {
    let _s = serial();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(ms(10)))
        .on_slow_poll(move |slow: &SlowPoll| {
            if slow.is_finished() {
                return;
            }
            let v = std::panic::catch_unwind(|| {
                let inner = runtime(Some(ms(5)));
                let v = inner.block_on(async { filch::spawn(async { 3 }).await.unwrap() });
                drop(inner);
                v
            })
            .map_err(|e| common::panic_message(&*e));
            let _ = tx.lock().unwrap().send(v);
        })
        .build()
        .unwrap();
    common::within(
        Duration::from_secs(10),
        "callback builds a runtime",
        move || {
            rt.block_on(async {
                filch::spawn(async { std::thread::sleep(ms(100)) })
                    .await
                    .unwrap()
            });
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(Ok(3)));
            // And the watchdog still rescues.
            let rt2 = runtime(Some(ms(10)));
            let waited = rt2.block_on(child_wait_behind_block(ms(150))).unwrap();
            assert!(waited < ms(1000), "{waited:?}");
        },
    );
}

// ---------------------------------------------------------------------------------------------
// block_in_place.

/// Timers of tasks on the other worker stay on time while one worker is in `block_in_place`
/// for a second (the driver must not be left with the blocked worker).
#[test]
fn timers_stay_on_time_while_the_other_worker_is_in_block_in_place() {
    let _s = serial();
    for rescue in [None, Some(ms(5))] {
        let rt = runtime(rescue);
        let late = rt.block_on(async {
            let (started_tx, started_rx) = filch::sync::oneshot::channel();
            let blocker = filch::spawn(async move {
                // A timer task woken by this worker is in its slot as it blocks.
                let ticker = filch::spawn(async {
                    let mut late = Duration::ZERO;
                    for _ in 0..40 {
                        let at = Instant::now();
                        filch::sleep(ms(10)).await;
                        late = late.max(at.elapsed().saturating_sub(ms(10)));
                    }
                    late
                });
                let _ = started_tx.send(());
                filch::task::block_in_place(|| std::thread::sleep(ms(1000)));
                ticker
            });
            started_rx.await.unwrap();
            blocker.await.unwrap().await.unwrap()
        });
        assert!(
            late < ms(150),
            "rescue {rescue:?}: a timer was {late:?} late"
        );
    }
}

/// `f` spawns thousands of tasks: all go to the injector and run on the other worker while
/// `f` waits for them.
#[test]
fn block_in_place_spawning_thousands_of_tasks() {
    let _s = serial();
    let rt = runtime(Some(ms(5)));
    let n = common::within(Duration::from_secs(20), "thousands", move || {
        rt.block_on(async {
            filch::spawn(async {
                filch::task::block_in_place(|| {
                    let done = Arc::new(AtomicUsize::new(0));
                    for _ in 0..5000 {
                        let done = done.clone();
                        drop(filch::spawn(async move {
                            filch::yield_now().await;
                            done.fetch_add(1, Ordering::SeqCst);
                        }));
                    }
                    assert!(
                        common::spin_until(Duration::from_secs(10), || done.load(Ordering::SeqCst)
                            == 5000),
                        "only {} of 5000 ran",
                        done.load(Ordering::SeqCst)
                    );
                    5000
                })
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(n, 5000);
}

/// Inside a `TaskGroup` child, with siblings waiting on timers.
#[test]
fn block_in_place_inside_a_task_group() {
    let _s = serial();
    let rt = runtime(Some(ms(5)));
    let values = rt.block_on(async {
        let group = filch::TaskGroup::new();
        group.spawn(async {
            Ok::<_, String>(filch::task::block_in_place(|| {
                std::thread::sleep(ms(100));
                1
            }))
        });
        for i in 2..10 {
            group.spawn(async move {
                filch::sleep(ms(i)).await;
                Ok(i)
            });
        }
        group.join().await.unwrap()
    });
    assert_eq!(values, (1..10).collect::<Vec<_>>());
}

/// Metrics while a worker is inside `block_in_place`, and after it.
#[test]
fn metrics_during_block_in_place() {
    let _s = serial();
    let rt = runtime(Some(ms(5)));
    let handle = rt.handle();
    let (inside_tx, inside_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let task = rt.spawn(async move {
        filch::task::block_in_place(|| {
            inside_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        })
    });
    inside_rx.recv().unwrap();
    for _ in 0..100 {
        let m = handle.metrics();
        assert_eq!(m.workers.len(), 2);
        assert_eq!(m.live_tasks, 1);
        let _ = m.to_string();
    }
    std::thread::sleep(ms(50));
    assert_eq!(rescued(&rt), 0);
    go_tx.send(()).unwrap();
    rt.block_on(task).unwrap();
}

/// `block_in_place` called from a future's drop while the runtime shuts down (on the worker
/// that drops its queued tasks, and from the shutdown's cancellation): no panic, no hang.
#[test]
fn block_in_place_in_a_drop_during_shutdown() {
    let _s = serial();
    struct Blocks(Arc<AtomicUsize>);
    impl Drop for Blocks {
        fn drop(&mut self) {
            filch::task::block_in_place(|| {
                std::thread::sleep(ms(1));
                drop(filch::Handle::try_current().map(|h| h.spawn(async {})));
            });
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    common::within(Duration::from_secs(10), "drop during shutdown", move || {
        let rt = runtime(Some(ms(5)));
        rt.block_on(async {
            for _ in 0..50 {
                let b = Blocks(d.clone());
                drop(filch::spawn(async move {
                    let _b = b;
                    std::future::pending::<()>().await;
                }));
            }
            filch::spawn(async {
                for _ in 0..20 {
                    drop(filch::spawn(async {}));
                }
            })
            .await
            .unwrap();
        });
        drop(rt);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 50);
}

/// A poll reported as slow, which then enters `block_in_place`, has not returned: no
/// "returned" report may arrive while it is still inside the same poll.
#[test]
fn block_in_place_after_a_slow_report_is_not_reported_as_returned() {
    let _s = serial();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(ms(20)))
        .rescue_threshold(None)
        .on_slow_poll(move |slow: &SlowPoll| {
            let _ = tx
                .lock()
                .unwrap()
                .send((slow.is_finished(), Instant::now()));
        })
        .build()
        .unwrap();
    let returned = rt.block_on(async {
        // Named: its id carries the name flag in its top bit.
        filch::task::Builder::new()
            .name("in place")
            .spawn(async {
                std::thread::sleep(ms(100));
                filch::task::block_in_place(|| std::thread::sleep(ms(100)));
                std::thread::sleep(ms(5));
                Instant::now()
            })
            .await
            .unwrap()
    });
    // The "returned" report comes at the next reading (within 5 ms here).
    let mut reports: Vec<(bool, Instant)> = Vec::new();
    while let Ok(report) = rx.recv_timeout(ms(300)) {
        reports.push(report);
    }
    drop(rt);
    for (finished, at) in &reports {
        assert!(
            !*finished || *at >= returned,
            "a 'returned' report {:?} before the poll returned: {reports:?}",
            returned.saturating_duration_since(*at)
        );
    }
    // One poll: one report while it runs, one when it returns (it was reported again as a new
    // slow poll once `block_in_place` returned).
    let kinds: Vec<bool> = reports.iter().map(|r| r.0).collect();
    assert_eq!(kinds, [false, true], "{reports:?}");
}

/// Idle with a timer pending far ahead, on a multi-thread and on a current-thread runtime (the
/// latter inside `block_on`, as under `#[filch::main]`): the workers sleep in the driver or on
/// their parkers, and the watchdog naps.
#[test]
fn runtimes_idle_on_a_far_timer_let_the_watchdog_nap() {
    let _s = serial();
    let multi = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let timer = multi.spawn(async { filch::sleep(Duration::from_secs(30)).await });
    let current = std::thread::spawn(|| {
        let rt = Builder::new_current_thread()
            .slow_poll_threshold(Some(ms(10)))
            .build()
            .unwrap();
        rt.block_on(async { filch::sleep(ms(1600)).await });
    });
    std::thread::sleep(ms(300));
    let before = watchdog_switches();
    std::thread::sleep(ms(1000));
    let woke = watchdog_switches() - before;
    assert!(
        woke <= 5,
        "idle runtimes woke the watchdog {woke} times in 1 s"
    );
    current.join().unwrap();
    timer.abort();
}

/// Runtimes built and dropped while the watchdog naps (each registration wakes it, each drop
/// leaves a dead entry): an idle runtime built before them is still rescued afterwards.
#[test]
fn runtimes_built_and_dropped_during_a_nap_do_not_lose_the_rescue() {
    let _s = serial();
    let rt = runtime(Some(ms(10)));
    std::thread::sleep(ms(50));
    for i in 0..20 {
        let other = if i % 2 == 0 {
            runtime(Some(ms(1)))
        } else {
            Builder::new_current_thread()
                .slow_poll_threshold(Some(ms(1)))
                .build()
                .unwrap()
        };
        drop(other);
    }
    std::thread::sleep(ms(20));
    let waited = rt
        .block_on(child_wait_behind_block(ms(150)))
        .expect("the child was never rescued");
    assert!(waited < ms(1000), "the child waited {waited:?}");
}

/// KNOWN LIMITATION (ignored: a reproducer, not yet fixed). Callbacks run on the one watchdog
/// thread, between its rounds: a slow `on_slow_poll` of one runtime (a logger, the default
/// `eprintln!` to a stderr pipe nobody drains, a panic hook printing a backtrace) holds back
/// the rescue of every runtime in the process. Interleaving: runtime A's poll is reported, its
/// callback blocks for 1 s; meanwhile runtime B's worker blocks with a task in its LIFO slot;
/// B's rescue waits for A's callback to return (here: ~1 s instead of ~10 ms).
#[test]
#[ignore = "known limitation: callbacks and rescues share the watchdog thread"]
fn a_slow_callback_of_one_runtime_does_not_hold_back_another_runtimes_rescue() {
    let _s = serial();
    let a = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(ms(10)))
        .rescue_threshold(None)
        .on_slow_poll(|slow: &SlowPoll| {
            if !slow.is_finished() {
                std::thread::sleep(ms(1000));
            }
        })
        .build()
        .unwrap();
    let b = runtime(Some(ms(10)));
    let slow = a.spawn(async { std::thread::sleep(ms(50)) });
    // A's report is out (its callback sleeping) once its poll has run past the threshold.
    std::thread::sleep(ms(40));
    let waited = b.block_on(child_wait_behind_block(ms(300))).unwrap();
    a.block_on(slow).unwrap();
    assert!(
        waited < ms(200),
        "B's rescue waited for A's callback: {waited:?}"
    );
}
