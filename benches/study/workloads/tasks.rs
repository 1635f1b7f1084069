//! Spawning, scheduling and the runtime itself: spawns from inside and outside, wake-ups,
//! yields, stealing, the combinators (`join_all`, groups, `select!`, local tasks), the memory of
//! idle tasks, building and dropping a runtime.

use super::{stall, timed, Params, NUM_SPAWN};
use crate::rt::{heap_in_use, Rt};
use crate::work::yield_once;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::Duration;

pub(super) fn spawn_many_local<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    timed(|| {
        rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let (tx, rem) = (tx.clone(), rem.clone());
                rt.spawn_detached(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

fn spawn_and_join_remote<R: Rt>(rt: &R, n: usize) {
    let handles: Vec<_> = (0..n).map(|_| rt.spawn(async {})).collect();
    rt.block_on(async {
        for h in handles {
            h.await;
        }
    });
}

pub(super) fn spawn_many_remote_idle<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| spawn_and_join_remote(rt, NUM_SPAWN))
}

/// Runs `f` while background tasks keep the workers busy; they stop (and are joined) after.
pub(super) fn with_busy_workers<R: Rt>(
    rt: &R,
    busy: impl FnOnce(Arc<AtomicBool>) -> Vec<R::Join<()>>,
    f: impl FnOnce() -> Vec<f64>,
) -> Vec<f64> {
    let flag = Arc::new(AtomicBool::new(true));
    let busy = busy(flag.clone());
    let out = f();
    flag.store(false, Relaxed);
    rt.block_on(async {
        for b in busy {
            b.await;
        }
    });
    out
}

/// `tasks` tasks that each burn `poll` of CPU per poll and yield, until `flag` is cleared.
pub(super) fn spawn_busy<R: Rt>(
    rt: &R,
    flag: &Arc<AtomicBool>,
    tasks: usize,
    poll: Duration,
) -> Vec<R::Join<()>> {
    (0..tasks)
        .map(|_| {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    R::yield_now().await;
                    stall(poll);
                }
            })
        })
        .collect()
}

pub(super) fn spawn_many_remote_busy1<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    with_busy_workers(
        rt,
        |flag| spawn_busy(rt, &flag, 2 * p.workers, Duration::from_micros(10)),
        || timed(|| spawn_and_join_remote(rt, NUM_SPAWN)),
    )
}

pub(super) fn spawn_many_remote_busy2<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    fn chain<R: Rt>(rt: R, flag: Arc<AtomicBool>, done: mpsc::SyncSender<()>) {
        let next = rt.clone();
        rt.spawn_detached(async move {
            if flag.load(Relaxed) {
                stall(Duration::from_micros(10));
                chain(next, flag, done);
            } else {
                let _ = done.send(());
            }
        });
    }
    let flag = Arc::new(AtomicBool::new(true));
    let (done_tx, done_rx) = mpsc::sync_channel(p.workers);
    for _ in 0..p.workers {
        chain(rt.clone(), flag.clone(), done_tx.clone());
    }
    let out = timed(|| spawn_and_join_remote(rt, 1_000));
    flag.store(false, Relaxed);
    for _ in 0..p.workers {
        done_rx.recv().unwrap();
    }
    out
}

pub(super) fn ping_pong<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const PINGS: usize = 1_000;
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(PINGS));
    let inner = rt.clone();
    timed(|| {
        rt.spawn_detached(async move {
            for _ in 0..PINGS {
                let (rem, done_tx, rt) = (rem.clone(), done_tx.clone(), inner.clone());
                inner.spawn_detached(async move {
                    let (tx1, rx1) = futures_channel::oneshot::channel::<()>();
                    let (tx2, rx2) = futures_channel::oneshot::channel::<()>();
                    rt.spawn_detached(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    });
                    tx1.send(()).unwrap();
                    rx2.await.unwrap();
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                });
            }
        });
        done_rx.recv().unwrap();
    })
}

pub(super) fn yield_many<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const TASKS: usize = 200;
    let (tx, rx) = mpsc::sync_channel(TASKS);
    timed(|| {
        for _ in 0..TASKS {
            let tx = tx.clone();
            rt.spawn_detached(async move {
                for _ in 0..1_000 {
                    R::yield_now().await;
                }
                tx.send(()).unwrap();
            });
        }
        for _ in 0..TASKS {
            rx.recv().unwrap();
        }
    })
}

pub(super) fn chained_spawn<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    fn link<R: Rt>(rt: R, done: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            let next = rt.clone();
            rt.spawn_detached(async move { link(next, done, n - 1) });
        }
    }
    let (tx, rx) = mpsc::sync_channel(1);
    timed(|| {
        link(rt.clone(), tx, 1_000);
        rx.recv().unwrap();
    })
}

pub(super) fn fan_out_in_task<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        rt.block_on(rt.spawn(async move {
            let children: Vec<_> = (0..NUM_SPAWN)
                .map(|i| inner.spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for child in children {
                sum += child.await;
            }
            assert_eq!(sum, NUM_SPAWN * (NUM_SPAWN - 1) / 2);
        }));
    })
}

pub(super) fn steal_balance<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const TASKS: usize = 10_000;
    let inner = rt.clone();
    timed(|| {
        rt.block_on(rt.spawn(async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| inner.spawn(async { stall(Duration::from_micros(1)) }))
                .collect();
            for task in tasks {
                task.await;
            }
        }));
    })
}

fn remote_spawn_threads<R: Rt>(rt: &R, threads: usize) -> Vec<f64> {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    timed(|| {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (rt, tx, rem) = (rt.clone(), tx.clone(), rem.clone());
                scope.spawn(move || {
                    for _ in 0..NUM_SPAWN / threads {
                        let (tx, rem) = (tx.clone(), rem.clone());
                        rt.spawn_detached(async move {
                            if rem.fetch_sub(1, Relaxed) == 1 {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

pub(super) fn remote_spawn_1_thread<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 1)
}

pub(super) fn remote_spawn_2_threads<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 2)
}

pub(super) fn remote_spawn_4_threads<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 4)
}

pub(super) fn join_all_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        let out = rt.block_on(rt.spawn(R::join_all((0..NUM_SPAWN).map(yield_once).collect())));
        assert_eq!(out.len(), NUM_SPAWN);
    })
}

pub(super) fn group_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let n = rt.block_on(rt.spawn(async move { inner.group(NUM_SPAWN, yield_once).await }));
        assert_eq!(n, NUM_SPAWN);
    })
}

pub(super) fn select_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        let sum = rt.block_on(rt.spawn(R::select_loop(NUM_SPAWN, yield_once)));
        assert_eq!(sum, NUM_SPAWN * (NUM_SPAWN - 1) / 2);
    })
}

pub(super) fn spawn_local_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| assert_eq!(rt.local_tasks(NUM_SPAWN), NUM_SPAWN))
}

/// Polls `a` and `b` until either is ready.
async fn race(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Heap bytes per task of 10,000 idle tasks (see `idle_task_memory`), each running
/// `idle(stop)`: it must wait until `stop` resolves. NaN without glibc.
fn idle_bytes<R: Rt, F>(key: usize, idle: fn(futures_channel::oneshot::Receiver<()>) -> F) -> f64
where
    F: Future<Output = ()> + Send + 'static,
{
    const TASKS: usize = 10_000;
    // A fresh runtime: one that ran the other rows keeps what its structures grew to (filch's
    // timer wheel keeps its entries' vector), which would hide what a task costs.
    let rt = &R::new(key);
    let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..TASKS)
        .map(|_| futures_channel::oneshot::channel::<()>())
        .unzip();
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(TASKS);
    let Some(before) = heap_in_use() else {
        return f64::NAN;
    };
    // `drain` keeps the receivers' vector allocated until after the second reading.
    for stop in receivers.drain(..) {
        let waiting = waiting.clone();
        handles.push(rt.spawn(async move {
            waiting.fetch_add(1, Relaxed);
            idle(stop).await;
        }));
    }
    while waiting.load(Relaxed) < TASKS {
        std::thread::sleep(Duration::from_micros(200));
    }
    // The last task counted itself just before its first await.
    std::thread::sleep(Duration::from_millis(2));
    let after = heap_in_use().unwrap_or(f64::NAN);
    drop(senders);
    rt.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
    drop(receivers);
    (after - before) / TASKS as f64
}

pub(super) fn idle_task_memory<R: Rt>(_: &R, p: &Params) -> Vec<f64> {
    async fn wait(stop: futures_channel::oneshot::Receiver<()>) {
        let _ = stop.await;
    }
    async fn sleep_or_wait<R: Rt>(stop: futures_channel::oneshot::Receiver<()>) {
        race(R::sleep(Duration::from_secs(3600)), wait(stop)).await;
    }
    vec![
        idle_bytes::<R, _>(p.key, wait),
        idle_bytes::<R, _>(p.key, sleep_or_wait::<R>),
    ]
}

pub(super) fn runtime_build_drop<R: Rt>(_: &R, p: &Params) -> Vec<f64> {
    timed(|| drop(R::new(p.key)))
}
