//! The paused clock (`filch::time::pause`, `advance`, `resume`, `Builder::start_paused`): time
//! stands still until advanced or until the runtime is idle, when it jumps to the next deadline;
//! on both runtime flavours. Every test checks the virtual times exactly (the paused clock is
//! deterministic) and that the real time spent stays far below the virtual one.

mod common;

use common::within;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// Multi-thread runtimes here have 4 workers.
fn paused(flavor: &str) -> filch::Runtime {
    common::paused_runtime(flavor, 4)
}

const FLAVORS: [&str; 2] = ["current_thread", "multi_thread"];

#[test]
fn an_hour_long_sleep_takes_no_real_time() {
    for flavor in FLAVORS {
        within(LIMIT, &format!("paused: an hour, {flavor}"), move || {
            let rt = paused(flavor);
            let wall = Instant::now();
            let slept = rt.block_on(async {
                let start = filch::time::now();
                filch::sleep(Duration::from_secs(3600)).await;
                filch::time::now() - start
            });
            assert_eq!(slept, Duration::from_secs(3600), "{flavor}");
            assert!(wall.elapsed() < Duration::from_secs(10), "{flavor}");
        });
    }
}

#[test]
fn every_task_wakes_exactly_at_its_deadline_in_deadline_order() {
    for flavor in FLAVORS {
        within(
            LIMIT,
            &format!("paused: many sleepers, {flavor}"),
            move || {
                let rt = paused(flavor);
                let order = Arc::new(Mutex::new(Vec::new()));
                rt.block_on({
                    let order = order.clone();
                    async move {
                        let start = filch::time::now();
                        let joins: Vec<_> = (0..200u64)
                            .map(|i| {
                                let order = order.clone();
                                // Distinct durations from 1 s to about 2.8 h, shuffled.
                                let secs = 1 + (i * 7_919) % 10_007;
                                filch::spawn(async move {
                                    let deadline = start + Duration::from_secs(secs);
                                    filch::sleep_until(deadline).await;
                                    // The clock stood at the deadline when the task ran.
                                    assert_eq!(filch::time::now(), deadline);
                                    order.lock().unwrap().push(secs);
                                })
                            })
                            .collect();
                        for join in joins {
                            join.await.unwrap();
                        }
                    }
                });
                let order = order.lock().unwrap();
                assert_eq!(order.len(), 200);
                assert!(
                    order.windows(2).all(|w| w[0] < w[1]),
                    "{flavor}: woken out of deadline order"
                );
            },
        );
    }
}

#[test]
fn advance_moves_the_clock_by_exactly_that_much_and_fires_what_is_due() {
    for flavor in FLAVORS {
        within(LIMIT, &format!("paused: advance, {flavor}"), move || {
            let rt = paused(flavor);
            rt.block_on(async {
                let start = filch::time::now();
                // The deadline is fixed here: the task may first run after the advances.
                let sleeper = filch::spawn(filch::sleep_until(start + Duration::from_secs(10)));
                // The block_on future is never idle here (it yields between advances), so the
                // clock moves only by `advance`.
                filch::time::advance(Duration::from_secs(4)).await;
                assert_eq!(filch::time::now() - start, Duration::from_secs(4));
                assert!(!sleeper.is_finished());
                filch::time::advance(Duration::from_secs(6)).await;
                if flavor == "current_thread" {
                    // On one thread, the tasks the advance woke have run when it returns.
                    assert!(
                        sleeper.is_finished(),
                        "advance returned before the timer fired"
                    );
                }
                sleeper.await.unwrap();
                assert_eq!(filch::time::now() - start, Duration::from_secs(10));
            });
        });
    }
}

#[test]
fn timeout_and_interval_follow_the_paused_clock() {
    for flavor in FLAVORS {
        within(
            LIMIT,
            &format!("paused: timeout and interval, {flavor}"),
            move || {
                let rt = paused(flavor);
                rt.block_on(async {
                    let start = filch::time::now();
                    let elapsed =
                        filch::timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
                    assert!(elapsed.is_err());
                    assert_eq!(filch::time::now() - start, Duration::from_secs(30));

                    let start = filch::time::now();
                    let done = filch::timeout(
                        Duration::from_secs(30),
                        filch::sleep(Duration::from_secs(29)),
                    )
                    .await;
                    assert!(done.is_ok());
                    assert_eq!(filch::time::now() - start, Duration::from_secs(29));

                    let mut ticks = filch::interval(Duration::from_secs(60));
                    let first = ticks.tick().await;
                    for k in 1..=10u32 {
                        let t = ticks.tick().await;
                        assert_eq!(t, first + Duration::from_secs(60) * k);
                        assert_eq!(filch::time::now(), t, "a tick came late on a paused clock");
                    }
                });
            },
        );
    }
}

#[test]
fn the_clock_waits_for_a_running_blocking_job() {
    for flavor in FLAVORS {
        within(
            LIMIT,
            &format!("paused: blocking job, {flavor}"),
            move || {
                let rt = paused(flavor);
                rt.block_on(async {
                    let start = filch::time::now();
                    // The job takes 100 ms of real time; while it runs the runtime is not idle, so
                    // the 1-second timeout around it must not elapse.
                    let job = filch::spawn_blocking(|| {
                        std::thread::sleep(Duration::from_millis(100));
                        7
                    });
                    let got = filch::timeout(Duration::from_secs(1), job).await;
                    assert_eq!(
                        got.expect("the clock jumped past a running job").unwrap(),
                        7
                    );
                    assert_eq!(
                        filch::time::now(),
                        start,
                        "the clock moved with nothing due"
                    );
                });
            },
        );
    }
}

#[test]
fn the_clock_waits_for_a_busy_block_on_future() {
    within(LIMIT, "paused: busy block_on", || {
        let rt = paused("multi_thread");
        rt.block_on(async {
            let sleeper = filch::spawn(filch::sleep(Duration::from_secs(3600)));
            // Every worker is idle, but this future is still running: no jump yet.
            std::thread::sleep(Duration::from_millis(100));
            assert!(
                !sleeper.is_finished(),
                "the clock jumped while block_on was busy"
            );
            sleeper.await.unwrap();
        });
    });
}

#[test]
fn sockets_work_while_the_clock_is_paused() {
    for flavor in FLAVORS {
        within(LIMIT, &format!("paused: sockets, {flavor}"), move || {
            let rt = paused(flavor);
            rt.block_on(async {
                let listener = filch::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = filch::spawn(async move {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    let mut buf = [0u8; 5];
                    stream.read_exact(&mut buf).await.unwrap();
                    stream.write_all(&buf).await.unwrap();
                });
                let mut client = filch::net::TcpStream::connect(addr).await.unwrap();
                client.write_all(b"hello").await.unwrap();
                let mut back = [0u8; 5];
                client.read_exact(&mut back).await.unwrap();
                assert_eq!(&back, b"hello");
                server.await.unwrap();
            });
        });
    }
}

#[test]
fn a_resumed_clock_runs_at_the_real_rate_again() {
    for flavor in FLAVORS {
        within(LIMIT, &format!("paused: resume, {flavor}"), move || {
            let rt = paused(flavor);
            rt.block_on(async {
                filch::sleep(Duration::from_secs(600)).await;
                filch::time::resume();
                let wall = Instant::now();
                let start = filch::time::now();
                filch::sleep(Duration::from_millis(30)).await;
                assert!(wall.elapsed() >= Duration::from_millis(30), "no real wait");
                assert!(filch::time::now() - start >= Duration::from_millis(30));
                // And it can be paused again.
                filch::time::pause();
                let frozen = filch::time::now();
                std::thread::sleep(Duration::from_millis(5));
                assert_eq!(filch::time::now(), frozen);
            });
        });
    }
}

#[test]
fn pausing_inside_a_running_runtime_stops_the_clock_there() {
    within(LIMIT, "paused: pause later", || {
        filch::run(async {
            filch::time::pause();
            let start = filch::time::now();
            let wall = Instant::now();
            filch::sleep(Duration::from_secs(86_400)).await;
            assert_eq!(filch::time::now() - start, Duration::from_secs(86_400));
            assert!(wall.elapsed() < Duration::from_secs(10));
        });
    });
}

#[test]
fn advance_without_a_paused_clock_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| {
        filch::run(async {
            filch::time::advance(Duration::from_secs(1)).await;
        })
    })
    .unwrap_err();
    let message = common::panic_message(&*err);
    assert!(message.contains("the clock is not paused"), "{message}");
}

#[test]
fn the_clock_outside_a_runtime_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(filch::time::pause).unwrap_err();
    let message = common::panic_message(&*err);
    assert!(message.contains("filch::time::pause"), "{message}");
    assert!(message.contains("no filch runtime"), "{message}");
}

// ---- attack: edges of the paused clock ----

/// A second thread's `block_on` on a current-thread runtime polls its own future (on its own
/// parker) while the first thread holds the worker: that future is as busy as a multi-thread
/// runtime's `block_on` future, and the clock must not jump while it runs.
#[test]
fn the_clock_waits_for_a_busy_block_on_future_waiting_for_the_current_thread_worker() {
    within(LIMIT, "paused: second block_on busy", || {
        let rt = Arc::new(paused("current_thread"));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = futures_channel::oneshot::channel::<()>();
        let first = {
            let rt = rt.clone();
            std::thread::spawn(move || {
                rt.block_on(async move {
                    started_tx.send(()).unwrap();
                    release_rx.await.unwrap();
                })
            })
        };
        started_rx.recv().unwrap();
        // The first thread holds the worker (it is parked in the driver, the runtime idle).
        std::thread::sleep(Duration::from_millis(20));
        rt.block_on(async move {
            let start = filch::time::now();
            let sleeper = filch::spawn(filch::sleep(Duration::from_secs(3600)));
            // This future is being polled: the runtime is not idle, no jump yet.
            std::thread::sleep(Duration::from_millis(100));
            let finished = sleeper.is_finished();
            let moved = filch::time::now() - start;
            release_tx.send(()).unwrap();
            assert!(
                !finished && moved == Duration::ZERO,
                "the clock jumped {moved:?} while a block_on future was busy"
            );
        });
        first.join().unwrap();
    });
}

/// Many tasks due at the same virtual instants, on many workers: each must run at exactly its
/// instant. The clock must not jump to the next round while a task woken for this one waits
/// to run (in a worker's LIFO slot, say, while that worker still counts as parked).
#[test]
fn tasks_woken_together_all_run_before_the_clock_moves_on() {
    for workers in [2, 8] {
        within(
            LIMIT,
            &format!("paused: rounds, {workers} workers"),
            move || {
                let rt = filch::Builder::new()
                    .worker_threads(workers)
                    .start_paused(true)
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let start = filch::time::now();
                    let tasks: Vec<_> = (0..32)
                        .map(|_| {
                            filch::spawn(async move {
                                for round in 1..=200u32 {
                                    let at = start + Duration::from_millis(u64::from(round));
                                    filch::sleep_until(at).await;
                                    let now = filch::time::now();
                                    assert_eq!(
                                        now,
                                        at,
                                        "round {round}: ran late by {:?}",
                                        now - at
                                    );
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
            },
        );
    }
}

/// A blocking job's completion wakes its awaiter before the job stops counting as in flight:
/// the clock must never be seen to move while a job's awaiter is about to run.
#[test]
fn the_clock_never_moves_between_a_blocking_job_and_its_awaiter() {
    for flavor in FLAVORS {
        within(
            LIMIT,
            &format!("paused: blocking loop, {flavor}"),
            move || {
                let rt = paused(flavor);
                rt.block_on(async {
                    let start = filch::time::now();
                    let sleeper = filch::spawn(filch::sleep(Duration::from_secs(3600)));
                    // In the root future and in a task.
                    for _ in 0..2000 {
                        filch::spawn_blocking(|| ()).await.unwrap();
                    }
                    filch::spawn(async {
                        for _ in 0..2000 {
                            filch::spawn_blocking(|| ()).await.unwrap();
                        }
                    })
                    .await
                    .unwrap();
                    assert_eq!(filch::time::now(), start, "{flavor}: the clock moved");
                    assert!(!sleeper.is_finished());
                });
            },
        );
    }
}

/// `advance` "waits until the driver has fired the timers that made due": on a multi-thread
/// runtime too, the waker of a timer that became due must have been woken when it returns.
#[test]
fn advance_returns_after_the_due_timers_fired_on_many_workers() {
    struct Flag(std::sync::atomic::AtomicBool);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    within(LIMIT, "paused: advance fires, multi-thread", || {
        let rt = paused("multi_thread");
        rt.block_on(async {
            // Turns the driver all the time (a yielded task waits for a turn), so that turns
            // race with each `advance`.
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let spinner = filch::spawn({
                let stop = stop.clone();
                async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        filch::yield_now().await;
                    }
                }
            });
            for round in 0..1000 {
                let flag = Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
                let waker = std::task::Waker::from(flag.clone());
                let mut sleep = Box::pin(filch::sleep(Duration::from_millis(10)));
                let mut cx = std::task::Context::from_waker(&waker);
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
                filch::time::advance(Duration::from_millis(10)).await;
                assert!(
                    flag.0.load(std::sync::atomic::Ordering::SeqCst),
                    "round {round}: advance returned before the timer's waker was woken"
                );
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            spinner.await.unwrap();
        });
    });
}

/// Tasks that mix sleeps, blocking jobs, yields and wake-ups across tasks, on every flavour:
/// each sleep must end exactly at its deadline (the clock never moves while anything is
/// runnable), and the whole run must finish (no lost unpark of the driver's holder).
#[test]
fn a_mixed_load_sees_exact_virtual_times_and_finishes() {
    for (flavor, workers) in [
        ("current_thread", 1),
        ("multi_thread", 2),
        ("multi_thread", 8),
    ] {
        within(
            LIMIT,
            &format!("paused: mixed, {flavor} {workers}"),
            move || {
                let rt = if flavor == "current_thread" {
                    filch::Builder::new_current_thread()
                        .start_paused(true)
                        .build()
                        .unwrap()
                } else {
                    filch::Builder::new()
                        .worker_threads(workers)
                        .start_paused(true)
                        .build()
                        .unwrap()
                };
                let body = |seed: u64| async move {
                    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for step in 0..150u32 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let before = filch::time::now();
                        match x % 5 {
                            0 => {
                                filch::spawn_blocking(|| ()).await.unwrap();
                                assert_eq!(filch::time::now(), before, "step {step}: job");
                            }
                            1 => {
                                filch::yield_now().await;
                                assert_eq!(filch::time::now(), before, "step {step}: yield");
                            }
                            2 => {
                                let (tx, rx) = futures_channel::oneshot::channel();
                                drop(filch::spawn(
                                    async move { tx.send(filch::time::now()).unwrap() },
                                ));
                                assert_eq!(rx.await.unwrap(), before, "step {step}: task");
                            }
                            _ => {
                                let d = Duration::from_micros(x % 3000 + 1);
                                filch::sleep(d).await;
                                assert_eq!(filch::time::now() - before, d, "step {step}: sleep");
                            }
                        }
                    }
                };
                rt.block_on(async move {
                    let tasks: Vec<_> = (1..=24).map(|s| filch::spawn(body(s))).collect();
                    body(99).await;
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
            },
        );
    }
}

/// `advance` from many tasks at once while others sleep, on 8 workers and on one thread: every
/// advance returns and the clock has moved by at least their sum.
#[test]
fn concurrent_advances_all_return() {
    for (flavor, workers) in [("current_thread", 1), ("multi_thread", 8)] {
        within(
            LIMIT,
            &format!("paused: concurrent advances, {flavor}"),
            move || {
                let rt = if flavor == "current_thread" {
                    filch::Builder::new_current_thread()
                        .start_paused(true)
                        .build()
                        .unwrap()
                } else {
                    filch::Builder::new()
                        .worker_threads(workers)
                        .start_paused(true)
                        .build()
                        .unwrap()
                };
                rt.block_on(async {
                    let start = filch::time::now();
                    let sleepers: Vec<_> = (0..8u64)
                        .map(|i| {
                            filch::spawn(async move {
                                for _ in 0..100 {
                                    filch::sleep(Duration::from_micros(300 + i * 37)).await;
                                }
                            })
                        })
                        .collect();
                    let advancers: Vec<_> = (0..8)
                        .map(|_| {
                            filch::spawn(async {
                                for _ in 0..100 {
                                    filch::time::advance(Duration::from_micros(100)).await;
                                }
                            })
                        })
                        .collect();
                    for t in advancers.into_iter().chain(sleepers) {
                        t.await.unwrap();
                    }
                    assert!(filch::time::now() - start >= Duration::from_millis(80));
                });
            },
        );
    }
}

/// Resuming the clock from a blocking job while a worker blocks in the driver with the clock
/// paused: timers then fire at the real rate (neither at once nor never).
#[test]
fn resuming_while_the_driver_blocks_lets_timers_fire_in_real_time() {
    for flavor in FLAVORS {
        within(LIMIT, &format!("paused: resume, {flavor}"), move || {
            let rt = paused(flavor);
            rt.block_on(async {
                let handle = filch::Handle::current();
                // Let the runtime go idle with the clock paused and nothing due.
                filch::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    let _enter = handle;
                    filch::time::resume();
                })
                .await
                .unwrap();
                let wall = Instant::now();
                filch::sleep(Duration::from_millis(30)).await;
                let took = wall.elapsed();
                assert!(
                    took >= Duration::from_millis(29),
                    "{flavor}: fired after {took:?}"
                );
                assert!(
                    took < Duration::from_secs(5),
                    "{flavor}: fired after {took:?}"
                );
            });
        });
    }
}

/// An `advance` whose timers are all cancelled before it is awaited returns, also in a task
/// that keeps its worker busy (no idle driver turn will come).
#[test]
fn advance_returns_when_its_timers_are_cancelled_meanwhile() {
    for flavor in FLAVORS {
        within(
            LIMIT,
            &format!("paused: advance, cancelled, {flavor}"),
            move || {
                let rt = paused(flavor);
                rt.block_on(async {
                    filch::spawn(async {
                        let mut sleep = Box::pin(filch::sleep(Duration::from_secs(10)));
                        assert!(filch::timeout(Duration::ZERO, &mut sleep).await.is_err());
                        let advance = filch::time::advance(Duration::from_secs(5));
                        drop(sleep);
                        advance.await;
                    })
                    .await
                    .unwrap();
                });
            },
        );
    }
}

/// Two tasks ping-pong over a socket pair while a sleeper waits for an hour: a byte written by
/// one task is I/O ready for the other as soon as the writer is done, so the clock must never
/// jump between the write and the read (the idle check's non-blocking driver turn must come
/// after the moment it starts watching for hand-offs).
#[cfg(unix)]
#[test]
fn the_clock_never_moves_while_a_socket_written_by_a_task_is_ready() {
    for (flavor, workers) in [
        ("current_thread", 1),
        ("multi_thread", 2),
        ("multi_thread", 4),
    ] {
        within(
            LIMIT,
            &format!("paused: socket ping-pong, {flavor} {workers}"),
            move || {
                let rt = if flavor == "current_thread" {
                    filch::Builder::new_current_thread()
                        .start_paused(true)
                        .build()
                        .unwrap()
                } else {
                    filch::Builder::new()
                        .worker_threads(workers)
                        .start_paused(true)
                        .build()
                        .unwrap()
                };
                rt.block_on(async move {
                    let start = filch::time::now();
                    let sleeper = filch::spawn(filch::sleep(Duration::from_secs(3600)));
                    let (mut a, mut b) = filch::net::UnixStream::pair().unwrap();
                    let echo = filch::spawn(async move {
                        let mut buf = [0u8; 1];
                        for _ in 0..3000 {
                            b.read_exact(&mut buf).await.unwrap();
                            b.write_all(&buf).await.unwrap();
                        }
                    });
                    let pinger = filch::spawn(async move {
                        let mut buf = [0u8; 1];
                        for i in 0..3000 {
                            a.write_all(&[1]).await.unwrap();
                            a.read_exact(&mut buf).await.unwrap();
                            let moved = filch::time::now() - start;
                            assert_eq!(moved, Duration::ZERO, "{flavor} {workers}: round {i}");
                        }
                    });
                    pinger.await.unwrap();
                    echo.await.unwrap();
                    assert!(!sleeper.is_finished());
                });
            },
        );
    }
}
