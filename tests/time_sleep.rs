//! `sleep`: never early, all of them fire, cancellation, reset, and no stall behind long polls.

mod common;

use common::{busy_for, within};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tests that bound a latency take turns, so that they do not compete for this machine's
/// cores with each other's spinning tasks.
fn timing_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt(workers: usize) -> filch::Runtime {
    filch::Builder::new()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn hundred_thousand_random_sleeps_all_fire_and_none_early() {
    let _serial = timing_lock();
    within(Duration::from_secs(120), "100k sleeps", || {
        let rt = rt(2);
        let early = Arc::new(AtomicUsize::new(0));
        let done = rt.block_on(async {
            let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
            let mut handles = Vec::with_capacity(100_000);
            for _ in 0..100_000 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let d = Duration::from_micros(seed % 50_000);
                let early = early.clone();
                handles.push(filch::spawn(async move {
                    let deadline = Instant::now() + d;
                    filch::sleep_until(deadline).await;
                    if Instant::now() < deadline {
                        early.fetch_add(1, SeqCst);
                    }
                }));
            }
            let mut done = 0;
            for h in handles {
                h.await.unwrap();
                done += 1;
            }
            done
        });
        assert_eq!(done, 100_000);
        assert_eq!(
            early.load(SeqCst),
            0,
            "a sleep completed before its deadline"
        );
    });
}

#[test]
fn a_sleep_takes_at_least_its_duration() {
    filch::run(async {
        for ms in [0u64, 1, 5, 20] {
            let start = Instant::now();
            filch::sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms));
        }
    });
}

#[test]
fn reset_moves_the_deadline_earlier_and_later() {
    filch::run(async {
        let start = Instant::now();
        let mut sleep = filch::sleep(Duration::from_secs(3600));
        sleep.reset(start + Duration::from_millis(10));
        sleep.await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(10));
        assert!(
            took < Duration::from_secs(10),
            "the old deadline was kept: {took:?}"
        );

        // Reset after completion: waits again.
        let mut sleep = filch::sleep(Duration::from_millis(1));
        (&mut sleep).await;
        let again = Instant::now();
        sleep.reset(again + Duration::from_millis(15));
        assert!(!sleep.is_elapsed());
        sleep.await;
        assert!(again.elapsed() >= Duration::from_millis(15));
    });
}

#[test]
fn dropped_sleeps_are_cancelled_and_never_wake_anyone() {
    filch::run(async {
        // Many long sleeps, each polled once (registered) and dropped by an elapsed timeout.
        for _ in 0..1_000 {
            let r = filch::timeout(Duration::ZERO, filch::sleep(Duration::from_secs(3600))).await;
            assert!(r.is_err());
        }
        // The runtime still sleeps precisely afterwards.
        let start = Instant::now();
        filch::sleep(Duration::from_millis(5)).await;
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

/// The runtime has 2 workers, both idle: one blocks in the driver, the other on its parker. Task A
/// wakes from a 10 ms timer — so the worker in the driver is the one that runs it — and then spins
/// for 1.5 s without yielding. Task B sleeps 50 ms. The worker leaving the driver must hand it to
/// the other one; otherwise nobody watches the timers until A's poll ends and B sleeps 1.5 s
/// (tokio's behaviour).
#[test]
fn a_sleep_completes_on_time_while_the_driver_worker_is_stuck_in_a_long_poll() {
    let _serial = timing_lock();
    within(Duration::from_secs(60), "sleep beside a long poll", || {
        let rt = rt(2);
        for round in 0..3 {
            // Let both workers go idle first.
            std::thread::sleep(Duration::from_millis(20));
            let spinner = rt.spawn(async {
                filch::sleep(Duration::from_millis(10)).await;
                busy_for(Duration::from_millis(1_500));
            });
            let sleeper = rt.spawn(async {
                let start = Instant::now();
                filch::sleep(Duration::from_millis(50)).await;
                start.elapsed()
            });
            let slept = rt.block_on(sleeper).unwrap();
            assert!(
                slept < Duration::from_millis(50 + 700),
                "round {round}: a 50 ms sleep took {slept:?} while another task spun"
            );
            rt.block_on(spinner).unwrap();
        }
    });
}

/// The worker in the driver leaves it with nothing left to watch (its only timer just fired), so
/// it hands nothing over; the other worker sleeps on its parker. The woken task then starts a new
/// sleeper, lets it register its timer, and spins for 1.5 s on that same worker. Nobody is in the
/// driver: registering the timer must bring the sleeping worker in, or the 50 ms sleep lasts until
/// the spin ends.
#[test]
fn a_timer_registered_while_nobody_watches_the_driver_still_fires_on_time() {
    let _serial = timing_lock();
    within(Duration::from_secs(60), "unwatched timer", || {
        let rt = rt(2);
        for round in 0..3 {
            std::thread::sleep(Duration::from_millis(20));
            let spinner = rt.spawn(async {
                filch::sleep(Duration::from_millis(10)).await;
                let sleeper = filch::spawn(async {
                    let start = Instant::now();
                    filch::sleep(Duration::from_millis(50)).await;
                    start.elapsed()
                });
                // Let the sleeper run (and register its timer) on this worker first.
                filch::yield_now().await;
                busy_for(Duration::from_millis(1_500));
                // Handed out in a Vec: a JoinHandle returned bare from an async block reads as
                // a forgotten `.await`.
                vec![sleeper]
            });
            let sleeper = rt.block_on(spinner).unwrap().pop().unwrap();
            let slept = rt.block_on(sleeper).unwrap();
            assert!(
                slept < Duration::from_millis(50 + 700),
                "round {round}: a 50 ms sleep took {slept:?} with nobody watching the driver"
            );
        }
    });
}

/// Every worker but one spins in a long poll; the remaining one keeps timers firing.
#[test]
fn timers_fire_while_all_other_workers_spin() {
    let _serial = timing_lock();
    within(Duration::from_secs(60), "timers beside spinners", || {
        let rt = rt(3);
        let spinners: Vec<_> = (0..2)
            .map(|_| rt.spawn(async { busy_for(Duration::from_millis(1_000)) }))
            .collect();
        let fired = rt.block_on(async {
            let start = Instant::now();
            let mut fired = 0;
            for _ in 0..20 {
                filch::sleep(Duration::from_millis(5)).await;
                fired += 1;
            }
            (fired, start.elapsed())
        });
        assert_eq!(fired.0, 20);
        assert!(
            fired.1 < Duration::from_millis(900),
            "20 × 5 ms sleeps took {:?}",
            fired.1
        );
        for s in spinners {
            rt.block_on(s).unwrap();
        }
    });
}

#[test]
fn sleep_outside_a_runtime_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| filch::sleep(Duration::from_millis(1))).unwrap_err();
    let msg = common::panic_message(&*err);
    assert!(msg.contains("filch::run"), "{msg}");
}

/// Regression: a worker that woke tasks in its maintenance turn of the driver, having found no
/// other work, went to sleep with those tasks in its local queue, and nothing ran them. Many short
/// rounds of timers make that interleaving likely; a hang fails the test instead of stalling it.
#[test]
fn rounds_of_short_timers_never_strand_woken_tasks() {
    within(Duration::from_secs(90), "rounds of short timers", || {
        let rt = rt(2);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3_000 {
            rt.block_on(async {
                let handles: Vec<_> = (0..64)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let d = Duration::from_micros(seed % 1_500);
                        filch::spawn(async move { filch::sleep(d).await })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            });
        }
    });
}

/// A waker that owns a `Sleep`: dropping the waker's last clone drops the sleep, which cancels
/// its timer. (The field is only ever dropped: that drop is the point.)
struct OwnsASleep(#[allow(dead_code)] std::sync::Mutex<Option<filch::Sleep>>);

impl std::task::Wake for OwnsASleep {
    fn wake(self: Arc<Self>) {}
}

/// A waker owning a sleep that is registered with the timers (polled once), so that dropping it
/// locks the wheel.
fn waker_owning_a_sleep() -> std::task::Waker {
    let mut sleep = filch::sleep(Duration::from_secs(3600));
    let noop = std::task::Waker::from(Arc::new(OwnsASleep(std::sync::Mutex::new(None))));
    let registered =
        std::pin::Pin::new(&mut sleep).poll(&mut std::task::Context::from_waker(&noop));
    assert!(registered.is_pending());
    std::task::Waker::from(Arc::new(OwnsASleep(std::sync::Mutex::new(Some(sleep)))))
}

/// Regression (tokio's `drop_from_waker_drop`): cancelling a sleep dropped its waker under the
/// wheel's lock; a waker whose drop cancels another sleep then deadlocked on that lock, and every
/// timer of the runtime froze with it.
#[test]
fn dropping_a_sleep_whose_waker_owns_another_sleep_does_not_deadlock() {
    within(Duration::from_secs(30), "drop from waker drop", || {
        let rt = rt(2);
        rt.block_on(async {
            let mut sleep = filch::sleep(Duration::from_secs(3600));
            let waker = waker_owning_a_sleep();
            // Register the sleep with the owning waker as its only other holder.
            let pending =
                std::pin::Pin::new(&mut sleep).poll(&mut std::task::Context::from_waker(&waker));
            assert!(pending.is_pending());
            drop(waker);
            drop(sleep);
            // The timers still work.
            filch::sleep(Duration::from_millis(1)).await;
        });
    });
}

/// The same when a later poll with another waker replaces the one that owns a sleep.
#[test]
fn replacing_a_sleeps_waker_that_owns_another_sleep_does_not_deadlock() {
    within(Duration::from_secs(30), "drop from waker replace", || {
        let rt = rt(2);
        rt.block_on(async {
            let mut sleep = filch::sleep(Duration::from_secs(3600));
            let waker = waker_owning_a_sleep();
            let mut first = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut sleep).poll(&mut first).is_pending());
            drop(waker);
            let other = std::task::Waker::from(Arc::new(OwnsASleep(std::sync::Mutex::new(None))));
            let mut second = std::task::Context::from_waker(&other);
            assert!(std::pin::Pin::new(&mut sleep)
                .poll(&mut second)
                .is_pending());
            drop(sleep);
            filch::sleep(Duration::from_millis(1)).await;
        });
    });
}
