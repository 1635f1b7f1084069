//! The `sync` rows: each runtime's own channels, locks and signals between tasks.

use super::{timed, Params, NUM_SPAWN};
use crate::rt::{Received, Rt, TokioShaped};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

pub(super) fn sync_channel_ping_pong<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const ROUNDS: usize = 10_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let (ping_tx, mut ping_rx) = R::channel::<usize>(1);
            let (pong_tx, mut pong_rx) = R::channel::<usize>(1);
            let echo = inner.spawn(async move {
                while let Some(n) = R::recv(&mut ping_rx).await {
                    R::send(&pong_tx, n + 1).await;
                }
            });
            for i in 0..ROUNDS {
                R::send(&ping_tx, i).await;
                assert_eq!(R::recv(&mut pong_rx).await, Some(i + 1));
            }
            drop(ping_tx);
            echo.await;
        }))
    })
}

pub(super) fn sync_channel_4_to_1<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const PER_PRODUCER: u64 = 25_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        let sum = rt.block_on(rt.spawn(async move {
            let (tx, mut rx) = R::channel::<u64>(128);
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    inner.spawn(async move {
                        for i in 0..PER_PRODUCER {
                            R::send(&tx, i).await;
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut sum = 0;
            while let Some(n) = R::recv(&mut rx).await {
                sum += n;
            }
            R::join_all(producers).await;
            sum
        }));
        assert_eq!(sum, 4 * (0..PER_PRODUCER).sum::<u64>());
    })
}

pub(super) fn sync_mutex_contended<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let mutex = Arc::new(R::mutex());
            let tasks = (0..16)
                .map(|_| {
                    let mutex = mutex.clone();
                    inner.spawn(async move {
                        for _ in 0..1_000 {
                            R::increment(&mutex).await;
                        }
                    })
                })
                .collect();
            R::join_all(tasks).await;
        }))
    })
}

pub(super) fn sync_semaphore_fan_out<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let semaphore = Arc::new(R::semaphore(64));
            let tasks = (0..NUM_SPAWN)
                .map(|_| {
                    let semaphore = semaphore.clone();
                    inner.spawn(async move {
                        R::with_permit(&semaphore, R::yield_now()).await;
                    })
                })
                .collect();
            R::join_all(tasks).await;
        }))
    })
}

pub(super) fn sync_oneshot_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        let sum = rt.block_on(rt.spawn(async move {
            let receivers: Vec<_> = (0..NUM_SPAWN)
                .map(|i| {
                    let (tx, rx) = R::oneshot();
                    inner.spawn_detached(async move { R::oneshot_send(tx, i) });
                    rx
                })
                .collect();
            let mut sum = 0;
            for rx in receivers {
                sum += R::oneshot_recv(rx).await.expect("every task sends");
            }
            sum
        }));
        assert_eq!(sum, NUM_SPAWN * (NUM_SPAWN - 1) / 2);
    })
}

/// Receivers of the fan-out rows.
const RECEIVERS: usize = 16;

/// Returns the seconds and the mean count of values each receiver saw (the others were
/// overwritten before it looked).
pub(super) fn sync_watch_fan_out<R: TokioShaped>(rt: &R, _: &Params) -> Vec<f64> {
    const LAST: usize = 1_000;
    let inner = rt.clone();
    let start = Instant::now();
    let seen = rt.block_on(rt.spawn(async move {
        let (tx, _) = R::watch();
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let mut rx = R::watch_subscribe(&tx);
                inner.spawn(async move {
                    let mut seen = 0;
                    while let Some(value) = R::watch_changed(&mut rx).await {
                        seen += 1;
                        if value == LAST {
                            return seen;
                        }
                    }
                    panic!("the sender went before its last value was seen");
                })
            })
            .collect();
        for value in 1..=LAST {
            R::watch_send(&tx, value);
            R::yield_now().await;
        }
        let seen: usize = R::join_all(receivers).await.into_iter().sum();
        drop(tx);
        seen
    }));
    vec![
        start.elapsed().as_secs_f64(),
        seen as f64 / RECEIVERS as f64,
    ]
}

/// Returns the seconds and the mean count of messages each receiver lost by lagging.
pub(super) fn sync_broadcast_fan_out<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const MESSAGES: u64 = 10_000;
    let inner = rt.clone();
    let start = Instant::now();
    let lagged = rt.block_on(rt.spawn(async move {
        let (tx, rxs) = R::broadcast(128, RECEIVERS);
        let receivers: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                inner.spawn(async move {
                    let (mut got, mut lagged) = (0, 0);
                    loop {
                        match R::broadcast_recv(&mut rx).await {
                            Received::Message(_) => got += 1,
                            Received::Lagged(n) => lagged += n,
                            Received::Closed => break,
                        }
                    }
                    assert_eq!(got + lagged, MESSAGES, "every message read or lost");
                    lagged
                })
            })
            .collect();
        for value in 0..MESSAGES {
            R::broadcast_send(&tx, value);
            R::yield_now().await;
        }
        drop(tx);
        R::join_all(receivers).await.into_iter().sum::<u64>()
    }));
    vec![
        start.elapsed().as_secs_f64(),
        lagged as f64 / RECEIVERS as f64,
    ]
}

pub(super) fn sync_notify_ping_pong<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const ROUNDS: usize = 10_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let (ping, pong) = (Arc::new(R::notify()), Arc::new(R::notify()));
            let echo = {
                let (ping, pong) = (ping.clone(), pong.clone());
                inner.spawn(async move {
                    for _ in 0..ROUNDS {
                        R::notified(&ping).await;
                        R::notify_one(&pong);
                    }
                })
            };
            for _ in 0..ROUNDS {
                R::notify_one(&ping);
                R::notified(&pong).await;
            }
            echo.await;
        }))
    })
}

pub(super) fn sync_rwlock_read_mostly<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const OPS: u64 = 1_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        let total = rt.block_on(rt.spawn(async move {
            let lock = Arc::new(R::rwlock());
            let tasks = (0..RECEIVERS)
                .map(|_| {
                    let lock = lock.clone();
                    inner.spawn(async move {
                        for op in 0..OPS {
                            if op % 10 == 0 {
                                R::write_increment(&lock).await;
                            } else {
                                std::hint::black_box(R::read_value(&lock).await);
                            }
                        }
                    })
                })
                .collect();
            R::join_all(tasks).await;
            R::read_value(&lock).await
        }));
        assert_eq!(total, RECEIVERS as u64 * OPS / 10);
    })
}

pub(super) fn sync_barrier_rounds<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const ROUNDS: usize = 1_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let barrier = Arc::new(R::barrier(RECEIVERS));
            let tasks = (0..RECEIVERS)
                .map(|_| {
                    let barrier = barrier.clone();
                    inner.spawn(async move {
                        for _ in 0..ROUNDS {
                            R::barrier_wait(&barrier).await;
                        }
                    })
                })
                .collect();
            R::join_all(tasks).await;
        }))
    })
}

pub(super) fn sync_once_cell_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        let sum = rt.block_on(rt.spawn(async move {
            let cell = Arc::new(R::once_cell());
            let tasks = (0..NUM_SPAWN)
                .map(|_| {
                    let cell = cell.clone();
                    inner.spawn(async move { R::once_get(&cell).await })
                })
                .collect();
            R::join_all(tasks).await.into_iter().sum::<u64>()
        }));
        assert_eq!(sum, 42 * NUM_SPAWN as u64);
    })
}

pub(super) fn sync_cancel_token_10k<R: TokioShaped>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let parent = R::token();
            let waiting = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..NUM_SPAWN)
                .map(|_| {
                    let (child, waiting) = (R::child_token(&parent), waiting.clone());
                    inner.spawn(async move {
                        waiting.fetch_add(1, Relaxed);
                        R::cancelled(&child).await;
                    })
                })
                .collect();
            // Cancel once every task has started waiting (the last may be between its count
            // and its first poll of `cancelled`, which then returns at once).
            while waiting.load(Relaxed) < NUM_SPAWN {
                R::yield_now().await;
            }
            R::cancel(&parent);
            R::join_all(tasks).await;
        }))
    })
}
