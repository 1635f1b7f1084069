//! The current-thread runtime (`Builder::new_current_thread`): the thread in `block_on` runs
//! every task, timer and socket; tasks from other threads wait for it; a second `block_on`
//! takes over when the first returns; shutdown cancels what is left.

mod common;

use common::{panic_message, within, DropGuard};
use filch::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

fn current_thread() -> filch::Runtime {
    filch::Builder::new_current_thread()
        .build()
        .expect("cannot build the runtime")
}

#[test]
fn every_task_runs_on_the_thread_in_block_on() {
    within(LIMIT, "current thread: where tasks run", || {
        let rt = current_thread();
        let caller = thread::current().id();
        let ran_on = rt.block_on(async {
            let joins: Vec<_> = (0..100)
                .map(|i| {
                    filch::spawn(async move {
                        filch::yield_now().await;
                        filch::sleep(Duration::from_micros(i * 10)).await;
                        thread::current().id()
                    })
                })
                .collect();
            let mut ids = Vec::new();
            for join in joins {
                ids.push(join.await.unwrap());
            }
            ids
        });
        assert!(ran_on.iter().all(|id| *id == caller));
    });
}

#[test]
fn sockets_and_timers_work_on_the_one_thread() {
    within(LIMIT, "current thread: echo", || {
        let rt = current_thread();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                for _ in 0..10 {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    drop(filch::spawn(async move {
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            filch::sleep(Duration::from_millis(1)).await;
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    }));
                }
            });
            let clients: Vec<_> = (0..10u8)
                .map(|c| {
                    filch::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        for round in 0..5u8 {
                            let msg = [c, round, c ^ round];
                            stream.write_all(&msg).await.unwrap();
                            let mut back = [0u8; 3];
                            stream.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg);
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        });
    });
}

#[test]
fn a_task_spawned_from_another_thread_wakes_the_waiting_block_on() {
    within(LIMIT, "current thread: remote spawn", || {
        let rt = current_thread();
        let handle = rt.handle();
        let caller = thread::current().id();
        let (tx, rx) = futures_channel::oneshot::channel();
        let spawner = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            // Spawned while the block_on thread sleeps in the driver (a timer keeps it there).
            drop(handle.spawn(async move {
                let _ = tx.send(thread::current().id());
            }));
        });
        let ran_on = rt.block_on(async {
            let _timer = filch::spawn(filch::sleep(Duration::from_secs(3600)));
            rx.await.unwrap()
        });
        spawner.join().unwrap();
        assert_eq!(ran_on, caller);
    });
}

#[test]
fn the_block_on_future_woken_from_a_plain_thread_completes() {
    within(LIMIT, "current thread: root woken remotely", || {
        let rt = current_thread();
        for round in 0..50 {
            let (tx, rx) = futures_channel::oneshot::channel();
            let sender = thread::spawn(move || {
                if round % 5 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
                tx.send(round).unwrap();
            });
            // With and without a timer: the thread parks in the driver either way, woken by
            // the driver's waker.
            let got = rt.block_on(async move {
                let _timer =
                    (round % 2 == 0).then(|| filch::spawn(filch::sleep(Duration::from_secs(3600))));
                rx.await.unwrap()
            });
            sender.join().unwrap();
            assert_eq!(got, round);
        }
    });
}

#[test]
fn tasks_spawned_outside_block_on_wait_for_the_next_one() {
    within(LIMIT, "current thread: tasks wait", || {
        let rt = current_thread();
        let ran = Arc::new(AtomicBool::new(false));
        let join = {
            let ran = ran.clone();
            rt.spawn(async move { ran.store(true, Ordering::SeqCst) })
        };
        thread::sleep(Duration::from_millis(20));
        assert!(
            !ran.load(Ordering::SeqCst),
            "ran without a thread in block_on"
        );
        rt.block_on(join).unwrap();
        assert!(ran.load(Ordering::SeqCst));
    });
}

#[test]
fn a_second_block_on_takes_over_the_tasks_when_the_first_returns() {
    within(LIMIT, "current thread: two block_on", || {
        let rt = Arc::new(current_thread());
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = futures_channel::oneshot::channel::<()>();
        let ticks = Arc::new(AtomicUsize::new(0));
        // A task that ticks every millisecond until told to stop; it must keep running while
        // either thread is inside block_on.
        let ticker = {
            let ticks = ticks.clone();
            rt.spawn(async move {
                let mut interval = filch::interval(Duration::from_millis(1));
                loop {
                    interval.tick().await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let first = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    started_tx.send(()).unwrap();
                    release_rx.await.unwrap();
                })
            })
        };
        started_rx.recv().unwrap();
        let second = {
            let rt = rt.clone();
            let ticks = ticks.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    let seen = ticks.load(Ordering::SeqCst);
                    // Let the first block_on return while this one waits for the ticker.
                    release_tx.send(()).unwrap();
                    let deadline = Instant::now() + LIMIT;
                    while ticks.load(Ordering::SeqCst) < seen + 20 {
                        assert!(Instant::now() < deadline, "the ticker stopped");
                        filch::sleep(Duration::from_millis(1)).await;
                    }
                })
            })
        };
        first.join().unwrap();
        second.join().unwrap();
        ticker.abort();
        assert!(rt.block_on(ticker).unwrap_err().is_cancelled());
    });
}

#[test]
fn spawn_blocking_jobs_report_back_to_the_thread() {
    within(LIMIT, "current thread: blocking", || {
        let rt = current_thread();
        let sum = rt.block_on(async {
            let jobs: Vec<_> = (0..16u64)
                .map(|i| {
                    filch::spawn_blocking(move || {
                        thread::sleep(Duration::from_millis(2));
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for job in jobs {
                sum += job.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..16).sum());
    });
}

#[test]
fn a_task_that_yields_forever_does_not_starve_the_block_on_future_or_the_timers() {
    within(LIMIT, "current thread: busy task", || {
        let rt = current_thread();
        let stop = Arc::new(AtomicBool::new(false));
        rt.block_on({
            let stop = stop.clone();
            async move {
                let spinner = filch::spawn({
                    let stop = stop.clone();
                    async move {
                        while !stop.load(Ordering::SeqCst) {
                            filch::yield_now().await;
                        }
                    }
                });
                filch::sleep(Duration::from_millis(20)).await;
                stop.store(true, Ordering::SeqCst);
                spinner.await.unwrap();
            }
        });
    });
}

#[test]
fn a_panicking_task_is_reported_and_the_thread_carries_on() {
    within(LIMIT, "current thread: panic", || {
        let rt = current_thread();
        let (err, after) = rt.block_on(async {
            let err = filch::spawn(async { panic!("boom in a task") })
                .await
                .unwrap_err();
            let after = filch::spawn(async { 5 }).await.unwrap();
            (err, after)
        });
        assert!(err.is_panic());
        assert_eq!(panic_message(&*err.into_panic()), "boom in a task");
        assert_eq!(after, 5);
    });
}

#[test]
fn a_panic_in_the_block_on_future_leaves_the_runtime_usable() {
    within(LIMIT, "current thread: root panic", || {
        let rt = current_thread();
        let pending = rt.spawn(async { filch::sleep(Duration::from_millis(5)).await });
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("boom in block_on") })
        }));
        assert!(caught.is_err());
        // The worker was given back: the next block_on runs the task.
        rt.block_on(pending).unwrap();
    });
}

#[test]
fn block_on_inside_a_task_panics_with_a_clear_message() {
    within(LIMIT, "current thread: nested block_on", || {
        let rt = Arc::new(current_thread());
        let inner = rt.clone();
        let err = rt
            .block_on(async move {
                filch::spawn(async move {
                    inner.block_on(async {});
                })
                .await
            })
            .unwrap_err();
        let message = panic_message(&*err.into_panic());
        assert!(
            message.contains("cannot block_on inside a filch runtime"),
            "{message}"
        );
    });
}

#[test]
fn dropping_the_runtime_cancels_the_tasks_left() {
    within(LIMIT, "current thread: drop", || {
        let rt = current_thread();
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        for _ in 0..10 {
            let guard = DropGuard(dropped.clone());
            joins.push(rt.spawn(async move {
                let _guard = guard;
                filch::sleep(Duration::from_secs(3600)).await;
            }));
        }
        // Half of them have run and wait on their timer; the rest never ran.
        rt.block_on(async { filch::sleep(Duration::from_millis(5)).await });
        for _ in 0..10 {
            let guard = DropGuard(dropped.clone());
            joins.push(rt.spawn(async move {
                let _guard = guard;
            }));
        }
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 20);
        for join in joins {
            assert!(join.is_finished());
        }
    });
}

// ---- attack: edges of the lent worker ----

/// Three threads in `block_on` at once, each waiting (with timers registered from its own
/// thread while another holds the worker) for a ticker task that must keep running whoever
/// holds the worker; repeated so that the hand-overs interleave differently.
#[test]
fn three_block_ons_at_once_keep_the_tasks_and_timers_running() {
    within(LIMIT, "current thread: three block_on", || {
        for _ in 0..20 {
            let rt = Arc::new(current_thread());
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                rt.spawn(async move {
                    loop {
                        filch::sleep(Duration::from_micros(200)).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            let threads: Vec<_> = (0..3)
                .map(|i| {
                    let rt = rt.clone();
                    let ticks = ticks.clone();
                    thread::spawn(move || {
                        rt.block_on(async move {
                            let seen = ticks.load(Ordering::SeqCst);
                            let deadline = Instant::now() + LIMIT;
                            while ticks.load(Ordering::SeqCst) < seen + 5 + i {
                                assert!(Instant::now() < deadline, "the ticker stopped");
                                filch::sleep(Duration::from_micros(100)).await;
                            }
                        })
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            ticker.abort();
        }
    });
}

/// The `block_on` future woken many times from a plain thread, while the worker sleeps in the
/// driver or runs tasks: no wake-up is lost.
#[test]
fn a_stream_of_wake_ups_from_a_plain_thread_reaches_the_block_on_future() {
    within(LIMIT, "current thread: wake stream", || {
        let rt = current_thread();
        let (tx, mut rx) = futures_channel::mpsc::unbounded::<u32>();
        let sender = thread::spawn(move || {
            for i in 0..20_000 {
                tx.unbounded_send(i).unwrap();
                if i % 64 == 0 {
                    thread::yield_now();
                }
            }
        });
        rt.block_on(async move {
            use futures_util::StreamExt;
            // A busy task and a timer, so that the worker is in every state.
            let busy = filch::spawn(async {
                for _ in 0..2000 {
                    filch::yield_now().await;
                    filch::sleep(Duration::from_micros(10)).await;
                }
            });
            let mut next = 0;
            while let Some(i) = rx.next().await {
                assert_eq!(i, next);
                next += 1;
            }
            assert_eq!(next, 20_000);
            busy.await.unwrap();
        });
        sender.join().unwrap();
    });
}

/// A multi-thread runtime's `block_on`, or `filch::run`, inside a current-thread task or its
/// `block_on` future panics with the nesting message, and the runtime stays usable.
#[test]
fn nested_runtimes_inside_the_current_thread_one_panic_clearly() {
    within(LIMIT, "current thread: nested runtimes", || {
        let rt = current_thread();
        let in_task = rt
            .block_on(async {
                filch::spawn(async {
                    let other = filch::Builder::new().worker_threads(1).build().unwrap();
                    other.block_on(async { 1 })
                })
                .await
            })
            .unwrap_err();
        let message = panic_message(&*in_task.into_panic());
        assert!(message.contains("cannot block_on inside"), "{message}");
        let run_in_task = rt
            .block_on(async { filch::spawn(async { filch::run(async { 1 }) }).await })
            .unwrap_err();
        let message = panic_message(&*run_in_task.into_panic());
        assert!(message.contains("cannot block_on inside"), "{message}");
        let in_root = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { filch::run(async { 1 }) })
        }))
        .unwrap_err();
        let message = panic_message(&*in_root);
        assert!(message.contains("cannot block_on inside"), "{message}");
        assert_eq!(
            rt.block_on(async { filch::spawn(async { 5 }).await.unwrap() }),
            5
        );
    });
}

/// Tasks spawned from several threads while no `block_on` runs, and while one starts: every
/// one runs, once.
#[test]
fn spawns_from_many_threads_around_a_block_on_all_run() {
    within(LIMIT, "current thread: remote spawns", || {
        let rt = Arc::new(current_thread());
        let ran = Arc::new(AtomicUsize::new(0));
        let spawners: Vec<_> = (0..4)
            .map(|_| {
                let handle = rt.handle();
                let ran = ran.clone();
                thread::spawn(move || {
                    (0..500)
                        .map(|_| {
                            let ran = ran.clone();
                            handle.spawn(async move {
                                filch::yield_now().await;
                                ran.fetch_add(1, Ordering::SeqCst);
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let joins: Vec<_> = spawners
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        rt.block_on(async move {
            for j in joins {
                j.await.unwrap();
            }
        });
        assert_eq!(ran.load(Ordering::SeqCst), 2000);
    });
}

/// A panic in the `block_on` future of the thread holding the worker hands the worker to the
/// thread waiting for it, whose tasks then run.
#[test]
fn a_panicking_block_on_hands_the_worker_to_the_waiting_one() {
    within(LIMIT, "current thread: panic hand-over", || {
        let rt = Arc::new(current_thread());
        let (started_tx, started_rx) = mpsc::channel();
        let (go_tx, go_rx) = futures_channel::oneshot::channel::<()>();
        let first = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    started_tx.send(()).unwrap();
                    go_rx.await.unwrap();
                    panic!("boom");
                })
            })
        };
        started_rx.recv().unwrap();
        let got = rt.block_on(async move {
            let task = filch::spawn(async {
                filch::sleep(Duration::from_millis(2)).await;
                9
            });
            go_tx.send(()).unwrap();
            task.await.unwrap()
        });
        assert_eq!(got, 9);
        assert!(first.join().is_err());
    });
}

/// Dropping the runtime while other threads spawn onto it through handles: no hang, and every
/// join handle resolves (run or cancelled).
#[test]
fn dropping_the_runtime_while_other_threads_spawn_resolves_every_handle() {
    within(LIMIT, "current thread: drop vs spawns", || {
        for _ in 0..20 {
            let rt = current_thread();
            let handle = rt.handle();
            let stop = Arc::new(AtomicBool::new(false));
            let spawner = {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut joins = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        joins.push(
                            handle.spawn(async { filch::sleep(Duration::from_millis(1)).await }),
                        );
                    }
                    joins
                })
            };
            rt.block_on(async { filch::sleep(Duration::from_millis(2)).await });
            drop(rt);
            stop.store(true, Ordering::SeqCst);
            let joins = spawner.join().unwrap();
            let check = current_thread();
            check.block_on(async move {
                for j in joins {
                    // Ok (ran) or cancelled; never pending for ever.
                    if let Err(e) = j.await {
                        assert!(e.is_cancelled());
                    }
                }
            });
        }
    });
}
