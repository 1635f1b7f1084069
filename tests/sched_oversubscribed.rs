//! More workers than cores (containers often give a program fewer cores than it starts threads):
//! with 8 and 16 workers on this machine's 2, every kind of work still completes — spawning,
//! yielding, wake chains across workers, timers, sockets, blocking jobs — and a runtime whose
//! many workers are all parked wakes for each new task from outside. A lost wake-up among many
//! parked workers shows up here as a hang, which `within` turns into a failure. How fast they
//! run is measured by the study (`cargo bench --bench study -- --workers 8,16`), not here.

mod common;

use common::{runtime, within};
use filch::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);
const WORKERS: [usize; 2] = [8, 16];

#[test]
fn many_yielding_tasks_all_finish() {
    for workers in WORKERS {
        let sum = within(LIMIT, "oversubscribed: yielding tasks", move || {
            let rt = runtime(workers, "over-yield");
            rt.block_on(async {
                let joins: Vec<_> = (0..10_000u64)
                    .map(|i| {
                        filch::spawn(async move {
                            for _ in 0..(i % 5) {
                                filch::yield_now().await;
                            }
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for join in joins {
                    sum += join.await.unwrap();
                }
                sum
            })
        });
        assert_eq!(sum, (0..10_000).sum::<u64>(), "{workers} workers");
    }
}

#[test]
fn a_chain_of_wakes_hops_between_workers_to_the_end() {
    // Each task waits for its predecessor's signal, then signals its successor: 2,000 wake-ups
    // in sequence, each likely to land on a parked or a different worker.
    for workers in WORKERS {
        let last = within(LIMIT, "oversubscribed: wake chain", move || {
            let rt = runtime(workers, "over-chain");
            rt.block_on(async {
                let (first_tx, mut rx) = futures_channel::oneshot::channel::<u32>();
                for _ in 0..2_000 {
                    let (tx, next_rx) = futures_channel::oneshot::channel::<u32>();
                    drop(filch::spawn(async move {
                        let n = rx.await.expect("the predecessor dropped its sender");
                        tx.send(n + 1).expect("the successor is gone");
                    }));
                    rx = next_rx;
                }
                first_tx.send(0).unwrap();
                rx.await.unwrap()
            })
        });
        assert_eq!(last, 2_000, "{workers} workers");
    }
}

#[test]
fn every_timer_fires_and_none_early() {
    for workers in WORKERS {
        within(LIMIT, "oversubscribed: timers", move || {
            let rt = runtime(workers, "over-timers");
            rt.block_on(async {
                let joins: Vec<_> = (0..2_000u64)
                    .map(|i| {
                        filch::spawn(async move {
                            let d = Duration::from_micros((i * 7_919) % 20_000);
                            let start = Instant::now();
                            filch::sleep(d).await;
                            assert!(start.elapsed() >= d, "a sleep of {d:?} ended early");
                        })
                    })
                    .collect();
                for join in joins {
                    join.await.unwrap();
                }
            });
        });
    }
}

#[test]
fn echo_connections_complete_byte_for_byte() {
    for workers in WORKERS {
        within(LIMIT, "oversubscribed: echo", move || {
            let rt = runtime(workers, "over-echo");
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                drop(filch::spawn(async move {
                    loop {
                        let (mut stream, _) = listener.accept().await.unwrap();
                        drop(filch::spawn(async move {
                            let mut buf = [0u8; 4096];
                            loop {
                                let n = stream.read(&mut buf).await.unwrap();
                                if n == 0 {
                                    return;
                                }
                                stream.write_all(&buf[..n]).await.unwrap();
                            }
                        }));
                    }
                }));
                let clients: Vec<_> = (0..64u8)
                    .map(|c| {
                        filch::spawn(async move {
                            let mut stream = TcpStream::connect(addr).await.unwrap();
                            for round in 0..20u8 {
                                let msg = vec![c ^ round; 100 + usize::from(round) * 50];
                                stream.write_all(&msg).await.unwrap();
                                let mut back = vec![0; msg.len()];
                                stream.read_exact(&mut back).await.unwrap();
                                assert_eq!(back, msg, "client {c} round {round}");
                            }
                        })
                    })
                    .collect();
                for client in clients {
                    client.await.unwrap();
                }
            });
        });
    }
}

#[test]
fn blocking_jobs_and_tasks_share_the_cores() {
    for workers in WORKERS {
        within(LIMIT, "oversubscribed: blocking", move || {
            let rt = runtime(workers, "over-blocking");
            let ran = Arc::new(AtomicUsize::new(0));
            let total = rt.block_on({
                let ran = ran.clone();
                async move {
                    let blocking: Vec<_> = (0..32)
                        .map(|_| {
                            let ran = ran.clone();
                            filch::spawn_blocking(move || {
                                std::thread::sleep(Duration::from_millis(5));
                                ran.fetch_add(1, Ordering::Relaxed);
                            })
                        })
                        .collect();
                    let tasks: Vec<_> = (0..1_000u64)
                        .map(|i| filch::spawn(async move { i * 2 }))
                        .collect();
                    let mut total = 0;
                    for task in tasks {
                        total += task.await.unwrap();
                    }
                    for job in blocking {
                        job.await.unwrap();
                    }
                    total
                }
            });
            assert_eq!(total, (0..1_000u64).map(|i| i * 2).sum::<u64>());
            assert_eq!(ran.load(Ordering::Relaxed), 32, "{workers} workers");
        });
    }
}

#[test]
fn a_runtime_whose_workers_all_park_wakes_for_each_task_from_outside() {
    for workers in WORKERS {
        within(LIMIT, "oversubscribed: wake from idle", move || {
            let rt = runtime(workers, "over-idle");
            for round in 0..200u32 {
                // Let every worker park (a little longer now and then), then hand the runtime
                // one task from this plain thread and wait for it.
                if round % 20 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let (tx, rx) = std::sync::mpsc::channel();
                drop(rt.spawn(async move { tx.send(round).unwrap() }));
                let got = rx
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or_else(|_| {
                        panic!("{workers} workers: task {round} never ran (a lost wake-up?)")
                    });
                assert_eq!(got, round);
            }
        });
    }
}
