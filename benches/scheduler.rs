//! tokio's `rt_multi_threaded` scheduler benchmarks, run on filch and on tokio side by side.
//!
//! Every workload is written once, in the `suite!` macro, and instantiated for each runtime with
//! that runtime's builder, `spawn` and `yield_now`, so both run the very same work with the same
//! parameters (tokio's), the same number of workers ([`WORKERS`]), the same allocator (the system
//! one, in one process) and the same channels (std's `mpsc` and futures-channel's `oneshot`,
//! neither runtime's own).
//!
//! `cargo bench --bench scheduler` reports `<workload>/filch` and `<workload>/tokio` as time per
//! iteration; each workload's doc says how many operations one iteration is.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use std::time::{Duration, Instant};

mod common;

/// Worker threads for both runtimes.
const WORKERS: usize = 2;
/// Tasks per iteration of the spawn workloads (tokio's figure).
const NUM_SPAWN: usize = 10_000;
/// CPU time a "busy" task burns per poll (tokio's figure).
const STALL_DUR: Duration = Duration::from_micros(10);

fn stall() {
    let now = Instant::now();
    while now.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

macro_rules! suite {
    ($name:ident, $Rt:ty, $build:expr, $spawn:path, $yield_now:path) => {
        mod $name {
            use super::{stall, NUM_SPAWN, WORKERS};
            use criterion::measurement::WallTime;
            use criterion::BenchmarkGroup;
            use std::sync::atomic::Ordering::Relaxed;
            use std::sync::atomic::{AtomicBool, AtomicUsize};
            use std::sync::{mpsc, Arc};

            const ID: &str = stringify!($name);

            fn rt() -> $Rt {
                let _ = WORKERS;
                $build
            }

            /// `NUM_SPAWN` tasks spawned from `block_on` (which is not a worker: remote spawns).
            pub(crate) fn spawn_many_local(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let (tx, rx) = mpsc::sync_channel(1000);
                let rem = Arc::new(AtomicUsize::new(0));
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        rem.store(NUM_SPAWN, Relaxed);
                        rt.block_on(async {
                            for _ in 0..NUM_SPAWN {
                                let tx = tx.clone();
                                let rem = rem.clone();
                                drop($spawn(async move {
                                    if 1 == rem.fetch_sub(1, Relaxed) {
                                        tx.send(()).unwrap();
                                    }
                                }));
                            }
                            rx.recv().unwrap();
                        });
                    })
                });
            }

            /// `NUM_SPAWN` tasks spawned from outside the runtime onto idle workers, then joined.
            pub(crate) fn spawn_many_remote_idle(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        for _ in 0..NUM_SPAWN {
                            handles.push(rt.spawn(async {}));
                        }
                        rt.block_on(async {
                            for handle in handles.drain(..) {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
            }

            /// As `spawn_many_remote_idle`, while `2 * WORKERS` tasks burn CPU and yield.
            pub(crate) fn spawn_many_remote_busy1(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                let flag = Arc::new(AtomicBool::new(true));
                for _ in 0..(2 * WORKERS) {
                    let flag = flag.clone();
                    drop(rt.spawn(async move {
                        while flag.load(Relaxed) {
                            $yield_now().await;
                            stall();
                        }
                    }));
                }
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        for _ in 0..NUM_SPAWN {
                            handles.push(rt.handle().spawn(async {}));
                        }
                        rt.block_on(async {
                            for handle in handles.drain(..) {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
                flag.store(false, Relaxed);
            }

            /// 1,000 remote spawns while `WORKERS` chains of CPU-burning tasks keep spawning their
            /// successor locally.
            pub(crate) fn spawn_many_remote_busy2(g: &mut BenchmarkGroup<'_, WallTime>) {
                const NUM_SPAWN: usize = 1_000;
                let rt = rt();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                let flag = Arc::new(AtomicBool::new(true));
                fn iter(flag: Arc<AtomicBool>) {
                    drop($spawn(async {
                        if flag.load(Relaxed) {
                            stall();
                            iter(flag);
                        }
                    }));
                }
                for _ in 0..WORKERS {
                    let flag = flag.clone();
                    drop(rt.spawn(async {
                        iter(flag);
                    }));
                }
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        for _ in 0..NUM_SPAWN {
                            handles.push(rt.handle().spawn(async {}));
                        }
                        rt.block_on(async {
                            for handle in handles.drain(..) {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
                flag.store(false, Relaxed);
            }

            /// 200 tasks that each yield 1,000 times: 200,000 yields per iteration.
            pub(crate) fn yield_many(g: &mut BenchmarkGroup<'_, WallTime>) {
                const NUM_YIELD: usize = 1_000;
                const TASKS: usize = 200;
                let rt = rt();
                let (tx, rx) = mpsc::sync_channel(TASKS);
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        for _ in 0..TASKS {
                            let tx = tx.clone();
                            drop(rt.spawn(async move {
                                for _ in 0..NUM_YIELD {
                                    $yield_now().await;
                                }
                                tx.send(()).unwrap();
                            }));
                        }
                        for _ in 0..TASKS {
                            rx.recv().unwrap();
                        }
                    })
                });
            }

            /// 1,000 pairs of tasks that exchange one oneshot message each way.
            pub(crate) fn ping_pong(g: &mut BenchmarkGroup<'_, WallTime>) {
                const NUM_PINGS: usize = 1_000;
                let rt = rt();
                let (done_tx, done_rx) = mpsc::sync_channel(1000);
                let rem = Arc::new(AtomicUsize::new(0));
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        let done_tx = done_tx.clone();
                        let rem = rem.clone();
                        rem.store(NUM_PINGS, Relaxed);
                        rt.block_on(async {
                            drop($spawn(async move {
                                for _ in 0..NUM_PINGS {
                                    let rem = rem.clone();
                                    let done_tx = done_tx.clone();
                                    drop($spawn(async move {
                                        let (tx1, rx1) = futures_channel::oneshot::channel();
                                        let (tx2, rx2) = futures_channel::oneshot::channel();
                                        drop($spawn(async move {
                                            rx1.await.unwrap();
                                            tx2.send(()).unwrap();
                                        }));
                                        tx1.send(()).unwrap();
                                        rx2.await.unwrap();
                                        if 1 == rem.fetch_sub(1, Relaxed) {
                                            done_tx.send(()).unwrap();
                                        }
                                    }));
                                }
                            }));
                            done_rx.recv().unwrap();
                        });
                    })
                });
            }

            /// 1,000 tasks, each spawned by the previous one.
            pub(crate) fn chained_spawn(g: &mut BenchmarkGroup<'_, WallTime>) {
                const ITER: usize = 1_000;
                fn iter(done_tx: mpsc::SyncSender<()>, n: usize) {
                    if n == 0 {
                        done_tx.send(()).unwrap();
                    } else {
                        drop($spawn(async move {
                            iter(done_tx, n - 1);
                        }));
                    }
                }
                let rt = rt();
                let (done_tx, done_rx) = mpsc::sync_channel(1000);
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        let done_tx = done_tx.clone();
                        rt.block_on(async {
                            drop($spawn(async move {
                                iter(done_tx, ITER);
                            }));
                            done_rx.recv().unwrap();
                        });
                    })
                });
            }
        }
    };
}

suite!(
    filch,
    filch::Runtime,
    filch::Builder::new()
        .worker_threads(WORKERS)
        .build()
        .unwrap(),
    filch::spawn,
    filch::yield_now
);
suite!(
    tokio,
    tokio::runtime::Runtime,
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap(),
    tokio::spawn,
    tokio::task::yield_now
);

/// Criterion's defaults, except for the one workload where tokio takes tens of milliseconds per
/// iteration: keep that run bounded.
fn configure(name: &str) -> impl FnOnce(&mut BenchmarkGroup<'_, WallTime>) + '_ {
    move |group| {
        if name == "spawn_many_remote_busy2" {
            group.sample_size(20);
        }
    }
}

fn run_pair(c: &mut Criterion, name: &str, filch: common::Workload, tokio: common::Workload) {
    common::run_pair(c, name, configure(name), filch, tokio);
}

fn scheduler(c: &mut Criterion) {
    run_pair(
        c,
        "spawn_many_local",
        filch::spawn_many_local,
        tokio::spawn_many_local,
    );
    run_pair(
        c,
        "spawn_many_remote_idle",
        filch::spawn_many_remote_idle,
        tokio::spawn_many_remote_idle,
    );
    run_pair(
        c,
        "spawn_many_remote_busy1",
        filch::spawn_many_remote_busy1,
        tokio::spawn_many_remote_busy1,
    );
    run_pair(
        c,
        "spawn_many_remote_busy2",
        filch::spawn_many_remote_busy2,
        tokio::spawn_many_remote_busy2,
    );
    run_pair(c, "ping_pong", filch::ping_pong, tokio::ping_pong);
    run_pair(c, "yield_many", filch::yield_many, tokio::yield_many);
    run_pair(
        c,
        "chained_spawn",
        filch::chained_spawn,
        tokio::chained_spawn,
    );
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
