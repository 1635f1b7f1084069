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
