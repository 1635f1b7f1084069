//! The `sync` rows: each runtime's own channels, locks and signals between tasks.

use super::{timed, Params, NUM_SPAWN};
use crate::rt::Rt;
use std::sync::Arc;

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
