//! Timers and wake-ups: sleeps that fire or are cancelled, timeouts, lateness, the paused clock
//! (in a child process), and the wake-to-run latency under load.

use super::tasks::{spawn_busy, with_busy_workers};
use super::{timed, Params};
use crate::rt::{Filch, Rt, Tokio};
use crate::work::durations;
use hdrhistogram::Histogram;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

pub(super) fn timers_fire<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let ds = durations(p.pick(100_000, 20_000));
    timed(|| {
        rt.block_on(async {
            let handles: Vec<_> = ds.iter().map(|&d| rt.spawn(R::sleep(d))).collect();
            for h in handles {
                h.await;
            }
        })
    })
}

pub(super) fn timer_lateness<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let ds = durations(1_000);
    let late = rt.block_on(async {
        let handles: Vec<_> = ds
            .iter()
            .map(|&d| {
                rt.spawn(async move {
                    let deadline = Instant::now() + d;
                    R::sleep(d).await;
                    Instant::now().saturating_duration_since(deadline)
                })
            })
            .collect();
        let mut total = Duration::ZERO;
        for h in handles {
            total += h.await;
        }
        total
    });
    vec![late.as_secs_f64() * 1e6 / ds.len() as f64]
}

pub(super) fn timers_cancel<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let n = p.pick(100_000, 20_000);
    timed(|| {
        rt.block_on(rt.spawn(async move {
            for _ in 0..n {
                let mut sleep = std::pin::pin!(R::sleep(Duration::from_secs(3600)));
                std::future::poll_fn(|cx| {
                    assert!(sleep.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
            }
        }))
    })
}

pub(super) fn timeout_pending<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        rt.block_on(async {
            let handles: Vec<_> = (0..10_000)
                .map(|_| {
                    rt.spawn(async {
                        let out = R::timeout(
                            Duration::from_millis(50),
                            R::sleep(Duration::from_millis(1)),
                        )
                        .await;
                        assert!(out.is_some());
                    })
                })
                .collect();
            for h in handles {
                h.await;
            }
        })
    })
}

/// The sleeps of task `task` in [`paused_sleeps`]: 10 durations of 1 s to 1 h from a seeded
/// generator, the same on both runtimes.
fn paused_durations(task: usize) -> impl Iterator<Item = Duration> {
    let mut state = (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..10).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(1_000 + state % 3_599_000)
    })
}

/// The child-process side of `paused_sleeps`: `study --paused-child <runtime> <tasks>` runs the
/// sleeps on a fresh paused runtime and prints the seconds they took (building the runtime
/// left out).
pub(crate) fn paused_child(runtime: &str, tasks: usize) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let seconds = match runtime {
        "filch" => {
            let rt = filch::Builder::new_current_thread()
                .start_paused(true)
                .build()
                .expect("filch runtime");
            timed(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|task| {
                            let done = done.clone();
                            filch::spawn(async move {
                                for d in paused_durations(task) {
                                    filch::sleep(d).await;
                                }
                                done.fetch_add(1, Relaxed);
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            })[0]
        }
        "tokio" => {
            // `enable_all`, as `#[tokio::test(start_paused = true)]` builds it: with its I/O
            // driver, as filch's runtime always has one.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("tokio runtime");
            timed(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|task| {
                            let done = done.clone();
                            tokio::spawn(async move {
                                for d in paused_durations(task) {
                                    tokio::time::sleep(d).await;
                                }
                                done.fetch_add(1, Relaxed);
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            })[0]
        }
        other => panic!("--paused-child: unknown runtime {other:?}"),
    };
    assert_eq!(done.load(Relaxed), tasks, "every paused task finished");
    seconds
}

/// Runs [`paused_child`] in a child process of the study (see the workload's description).
fn paused_sleeps_in_child(runtime: &str, p: &Params) -> Vec<f64> {
    let tasks = p.pick(1_000, 200);
    let exe = std::env::current_exe().expect("the study's own executable");
    let out = std::process::Command::new(exe)
        .args(["--paused-child", runtime, &tasks.to_string()])
        .output()
        .expect("run the study's paused-clock child");
    assert!(
        out.status.success(),
        "paused-clock child for {runtime} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    vec![text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("paused-clock child printed {text:?}"))]
}

pub(super) fn paused_sleeps_filch(_: &Filch, p: &Params) -> Vec<f64> {
    paused_sleeps_in_child("filch", p)
}

pub(super) fn paused_sleeps_tokio(_: &Tokio, p: &Params) -> Vec<f64> {
    paused_sleeps_in_child("tokio", p)
}

pub(super) fn wake_latency<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let probes = p.pick(1_000, 200);
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<Instant>();
    let probe = rt.spawn(async move {
        use futures_util::StreamExt;
        let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        while let Some(sent) = rx.next().await {
            hist.record(sent.elapsed().as_nanos().max(1) as u64)
                .unwrap();
        }
        hist
    });
    with_busy_workers(
        rt,
        |flag| spawn_busy(rt, &flag, 2 * p.workers, Duration::from_micros(200)),
        || {
            for _ in 0..probes {
                std::thread::sleep(Duration::from_micros(500));
                tx.unbounded_send(Instant::now()).unwrap();
            }
            Vec::new()
        },
    );
    drop(tx);
    let hist = rt.block_on(probe);
    [0.5, 0.99, 0.999]
        .iter()
        .map(|q| hist.value_at_quantile(*q) as f64 / 1_000.0)
        .collect()
}
