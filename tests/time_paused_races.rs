//! Attacks on the paused clock's auto-advance (`Driver::advance_and_fire`, `Shared::paused_turn`):
//! jumps made while work is pending, wrong virtual times, lost wake-ups, `advance` racing the
//! auto-advance.

mod common;

use common::{busy_for, paused_runtime as paused, within};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// Rounds of `TIMERS` sleeps in the outside-work tests. Each sleep has its own deadline, so
/// each is a jump of the clock, and the clock can jump only between two outside jobs (2 ms
/// each): these sizes keep a test to seconds. The attack that found the bug ran 20 rounds of
/// 20,000 (about 60 jobs in 25,000 saw the clock move before the fence of
/// `Shared::wait_for_clock_jump`); `FILCH_STRESS_SCALE=10` multiplies both sizes by 10 for a
/// long run.
const ROUNDS: u64 = 2;
const TIMERS: usize = 1_000;

/// The multiplier of `ROUNDS` and `TIMERS`.
fn scale() -> usize {
    std::env::var("FILCH_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Many timers an hour away, all in one slot of a high level of the wheel: the auto-advance's
/// first jump lands on that slot's boundary, where they only move down a level (a long cascade,
/// nothing fires), and it jumps again (it once did so without checking that the runtime was
/// still idle, and work that began meanwhile saw the clock move: `Shared::wait_for_clock_jump`).
/// Meanwhile a plain thread (outside the runtime) keeps starting `spawn_blocking` jobs, one at
/// a time, each of which reads the paused clock twice: a job in flight holds the clock back
/// (`time::pause` docs), so both readings must be equal.
fn clock_stands_still_while_an_outside_job_runs(
    flavor: &str,
    workers: usize,
    timers: usize,
) -> usize {
    let rt = paused(flavor, workers);
    let handle = rt.handle();
    let stop = Arc::new(AtomicBool::new(false));
    let moved = Arc::new(AtomicUsize::new(0));
    let jobs = Arc::new(AtomicUsize::new(0));
    let hammer = {
        let stop = stop.clone();
        let moved = moved.clone();
        let jobs = jobs.clone();
        std::thread::spawn(move || {
            while !stop.load(SeqCst) {
                let (tx, rx) = mpsc::channel();
                let moved = moved.clone();
                // Detached: the channel says when it ended.
                drop(handle.spawn_blocking(move || {
                    let t0 = filch::time::now();
                    busy_for(Duration::from_millis(2));
                    let t1 = filch::time::now();
                    if t0 != t1 {
                        moved.fetch_add(1, SeqCst);
                    }
                    let _ = tx.send(());
                }));
                let _ = rx.recv_timeout(Duration::from_secs(10));
                jobs.fetch_add(1, SeqCst);
            }
        })
    };
    rt.block_on(async {
        for round in 0..ROUNDS * scale() as u64 {
            let start = filch::time::now();
            let tasks: Vec<_> = (0..timers as u64)
                .map(|i| {
                    filch::spawn(async move {
                        // All within one millisecond-slot group an hour away.
                        let d = Duration::from_secs(3600) + Duration::from_nanos(i * 10);
                        let t = filch::time::now();
                        filch::sleep(d).await;
                        filch::time::now() - t
                    })
                })
                .collect();
            for t in tasks {
                let slept = t.await.unwrap();
                assert!(
                    slept >= Duration::from_secs(3600),
                    "round {round}: woke early: {slept:?}"
                );
            }
            let _ = start;
        }
    });
    stop.store(true, SeqCst);
    hammer.join().unwrap();
    eprintln!(
        "{flavor}/{workers} timers={timers}: {} of {} outside jobs saw the clock move while running",
        moved.load(SeqCst),
        jobs.load(SeqCst)
    );
    moved.load(SeqCst)
}

#[test]
fn the_clock_never_moves_while_an_outside_blocking_job_runs_current_thread() {
    let moved = within(
        LIMIT * 2 * scale() as u32,
        "attack: outside jobs, current_thread",
        || clock_stands_still_while_an_outside_job_runs("current_thread", 1, TIMERS * scale()),
    );
    assert_eq!(moved, 0, "the clock moved while a blocking job was running");
}

#[test]
fn the_clock_never_moves_while_an_outside_blocking_job_runs_multi_thread() {
    let moved = within(
        LIMIT * 2 * scale() as u32,
        "attack: outside jobs, multi_thread",
        || clock_stands_still_while_an_outside_job_runs("multi_thread", 2, TIMERS * scale()),
    );
    assert_eq!(moved, 0, "the clock moved while a blocking job was running");
}

/// A task spawned from outside the runtime (multi-thread: a parked worker runs it while the
/// driver's holder is in the jump loop) reads the clock twice around a busy poll: the runtime
/// is not idle while it runs, so the clock must stand still.
#[test]
fn the_clock_never_moves_while_an_outside_spawned_task_runs() {
    let moved = within(LIMIT * 2 * scale() as u32, "attack: outside spawns", || {
        let rt = paused("multi_thread", 3);
        let handle = rt.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let moved = Arc::new(AtomicUsize::new(0));
        let hammer = {
            let stop = stop.clone();
            let moved = moved.clone();
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let moved = moved.clone();
                    let (tx, rx) = mpsc::channel();
                    // Detached: the channel says when it ended.
                    drop(handle.spawn(async move {
                        let t0 = filch::time::now();
                        busy_for(Duration::from_millis(2));
                        if filch::time::now() != t0 {
                            moved.fetch_add(1, SeqCst);
                        }
                        let _ = tx.send(());
                    }));
                    let _ = rx.recv_timeout(Duration::from_secs(10));
                }
            })
        };
        rt.block_on(async {
            for _ in 0..ROUNDS * scale() as u64 {
                let tasks: Vec<_> = (0..(TIMERS * scale()) as u64)
                    .map(|i| {
                        filch::spawn(filch::sleep(
                            Duration::from_secs(3600) + Duration::from_nanos(i * 10),
                        ))
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        });
        stop.store(true, SeqCst);
        hammer.join().unwrap();
        moved.load(SeqCst)
    });
    assert_eq!(
        moved, 0,
        "the clock moved while an outside-spawned task was running"
    );
}

/// Sleeps of many lengths (crossing every level of the wheel), some cancelled by a shorter
/// timeout, some reset: each wakes exactly at its deadline, on both flavours.
#[test]
fn long_and_cancelled_sleeps_wake_exactly_at_their_deadlines() {
    for (flavor, workers) in [
        ("current_thread", 1),
        ("multi_thread", 1),
        ("multi_thread", 4),
    ] {
        within(
            LIMIT,
            &format!("attack: exact, {flavor}/{workers}"),
            move || {
                let rt = paused(flavor, workers);
                let wall = Instant::now();
                rt.block_on(async move {
                    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
                    let mut next = move || {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed
                    };
                    let mut tasks = Vec::new();
                    for i in 0..2000u64 {
                        // From 1 ns to ~ 3 days, log-uniform.
                        let shift = next() % 48;
                        let d = Duration::from_nanos(1 + (next() % (1u64 << shift)));
                        let cancel = Duration::from_nanos(1 + (next() % (1u64 << (next() % 48))));
                        let reset = next() % 3 == 0;
                        let reset_to = Duration::from_nanos(1 + (next() % (1u64 << (next() % 48))));
                        tasks.push(filch::spawn(async move {
                            let start = filch::time::now();
                            if reset {
                                let mut s = Box::pin(filch::sleep(d));
                                // Register, then move the deadline.
                                let _ = filch::timeout(Duration::ZERO, &mut s).await;
                                s.as_mut().reset(start + reset_to);
                                s.await;
                                let took = filch::time::now() - start;
                                assert_eq!(took, reset_to.max(Duration::ZERO), "task {i}: reset");
                            } else {
                                let r = filch::timeout(cancel, filch::sleep(d)).await;
                                let took = filch::time::now() - start;
                                match r {
                                    Ok(()) => {
                                        assert!(d <= cancel, "task {i}");
                                        assert_eq!(took, d, "task {i}: sleep {d:?}");
                                    }
                                    Err(_) => {
                                        assert!(cancel <= d, "task {i}");
                                        assert_eq!(took, cancel, "task {i}: timeout {cancel:?}");
                                    }
                                }
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                assert!(wall.elapsed() < Duration::from_secs(30));
            },
        );
    }
}

/// `advance` from a task while other tasks keep the auto-advance busy with long sleeps: every
/// `advance` returns, and a sleep due within it has elapsed once it has.
#[test]
fn advance_racing_auto_advance_returns_and_fires_its_timers() {
    for (flavor, workers) in [
        ("current_thread", 1),
        ("multi_thread", 2),
        ("multi_thread", 4),
    ] {
        within(
            LIMIT,
            &format!("attack: advance vs auto, {flavor}/{workers}"),
            move || {
                let rt = paused(flavor, workers);
                rt.block_on(async move {
                    let stop = Arc::new(AtomicBool::new(false));
                    let sleepers: Vec<_> = (0..8u64)
                        .map(|k| {
                            let stop = stop.clone();
                            filch::spawn(async move {
                                let mut n = 0u64;
                                while !stop.load(SeqCst) {
                                    let d = Duration::from_millis(
                                        1 + (n * 7919 + k * 104_729) % 5_000_000,
                                    );
                                    let t = filch::time::now();
                                    filch::sleep(d).await;
                                    assert!(filch::time::now() - t >= d);
                                    n += 1;
                                }
                            })
                        })
                        .collect();
                    let advancers: Vec<_> = (0..3u64)
                        .map(|k| {
                            filch::spawn(async move {
                                for i in 0..300u64 {
                                    let by =
                                        Duration::from_micros(1 + (i * 31 + k * 17) % 3_000_000);
                                    let mut s = Box::pin(filch::sleep(by));
                                    let _ = filch::timeout(Duration::ZERO, &mut s).await;
                                    let t = filch::time::now();
                                    filch::time::advance(by).await;
                                    assert!(filch::time::now() - t >= by);
                                    assert!(s.is_elapsed(), "advancer {k} round {i}: not fired");
                                }
                            })
                        })
                        .collect();
                    for a in advancers {
                        a.await.unwrap();
                    }
                    stop.store(true, SeqCst);
                    for s in sleepers {
                        s.await.unwrap();
                    }
                });
            },
        );
    }
}

/// pause/resume/pause from a task while others sleep for long: no hang, and sleeps never wake
/// before their deadline.
#[test]
fn pause_resume_churn_while_sleeping_does_not_hang() {
    for (flavor, workers) in [("current_thread", 1), ("multi_thread", 3)] {
        within(
            LIMIT,
            &format!("attack: pause/resume, {flavor}"),
            move || {
                let rt = paused(flavor, workers);
                rt.block_on(async move {
                    let sleepers: Vec<_> = (0..50u64)
                        .map(|k| {
                            filch::spawn(async move {
                                for i in 0..20u64 {
                                    let d = Duration::from_secs(1 + (k * 13 + i * 7) % 7200);
                                    let t = filch::time::now();
                                    filch::sleep(d).await;
                                    assert!(filch::time::now() - t >= d);
                                }
                            })
                        })
                        .collect();
                    for _ in 0..50 {
                        filch::time::resume();
                        filch::yield_now().await;
                        filch::time::pause();
                        filch::sleep(Duration::from_secs(600)).await;
                    }
                    for s in sleepers {
                        s.await.unwrap();
                    }
                });
            },
        );
    }
}
