//! `filch::sync::{Event, Notify, Condition}`: no lost wake-up under concurrency, `notify_one`
//! releases exactly one waiter, cancel safety.

mod common;

use filch::sync::{Condition, Event, Mutex, Notify};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// Many rounds of set/wait between two tasks on different workers, each round a new event: a
/// `set` racing the waiter's registration is never lost.
#[test]
fn an_event_set_while_the_waiter_registers_is_not_lost() {
    filch::run(async {
        for _ in 0..2_000 {
            let event = Arc::new(Event::new());
            let waiter = filch::spawn({
                let event = event.clone();
                async move { event.wait().await }
            });
            event.set();
            filch::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("lost wake-up: the waiter never saw set()")
                .unwrap();
        }
    });
}

#[test]
fn an_event_wakes_every_waiter_and_can_be_cleared() {
    filch::run(async {
        let event = Arc::new(Event::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let (event, woken) = (event.clone(), woken.clone());
                filch::spawn(async move {
                    event.wait().await;
                    woken.fetch_add(1, SeqCst);
                })
            })
            .collect();
        filch::sleep(Duration::from_millis(2)).await;
        assert_eq!(woken.load(SeqCst), 0);
        event.set();
        filch::join_all(waiters).await;
        assert_eq!(woken.load(SeqCst), 10);
        event.wait().await; // set: at once
        event.clear();
        assert!(!event.is_set());
        assert!(filch::timeout(Duration::from_millis(2), event.wait())
            .await
            .is_err());
    });
}

/// Ping-pong over two `Notify`s for many rounds across workers: `notify_one` before the other side
/// waits leaves a permit, so no round hangs.
#[test]
fn notify_one_ping_pong_loses_no_round() {
    filch::run(async {
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let other = filch::spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..5_000 {
                    ping.notified().await;
                    pong.notify_one();
                }
            }
        });
        for _ in 0..5_000 {
            ping.notify_one();
            filch::timeout(Duration::from_secs(5), pong.notified())
                .await
                .expect("lost notification");
        }
        other.await.unwrap();
    });
}

/// Each `notify_one` releases exactly one of several waiters, even when a newcomer takes the
/// permit before the woken waiter runs.
#[test]
fn notify_one_releases_exactly_one_waiter() {
    filch::run(async {
        let notify = Arc::new(Notify::new());
        let released = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let (notify, released) = (notify.clone(), released.clone());
                filch::spawn(async move {
                    notify.notified().await;
                    released.fetch_add(1, SeqCst);
                })
            })
            .collect();
        filch::sleep(Duration::from_millis(5)).await;
        for n in 1..=8 {
            notify.notify_one();
            filch::timeout(Duration::from_secs(5), async {
                while released.load(SeqCst) < n {
                    filch::sleep(Duration::from_micros(100)).await;
                }
            })
            .await
            .expect("notify_one released no waiter");
            // Give a wrongly released second waiter the time to show.
            filch::sleep(Duration::from_millis(2)).await;
            assert_eq!(released.load(SeqCst), n, "after {n} notify_one calls");
        }
        filch::join_all(waiters).await;
        // Two notifications with nobody waiting leave one permit, not two.
        notify.notify_one();
        notify.notify_one();
        notify.notified().await;
        assert!(
            filch::timeout(Duration::from_millis(5), notify.notified())
                .await
                .is_err(),
            "permits accumulated"
        );
    });
}

#[test]
fn notify_waiters_wakes_all_and_leaves_no_permit() {
    filch::run(async {
        let notify = Arc::new(Notify::new());
        let waiters: Vec<_> = (0..6)
            .map(|_| {
                let notify = notify.clone();
                filch::spawn(async move { notify.notified().await })
            })
            .collect();
        filch::sleep(Duration::from_millis(5)).await;
        notify.notify_waiters();
        filch::timeout(Duration::from_secs(5), filch::join_all(waiters))
            .await
            .expect("notify_waiters left a waiter asleep");
        assert!(filch::timeout(Duration::from_millis(5), notify.notified())
            .await
            .is_err());
    });
}

/// Cancel safety: a `notified()` that loses a race takes no permit, and a wake it was sent is
/// passed on to the other waiter.
#[test]
fn a_cancelled_notified_passes_its_wake_on() {
    filch::run(async {
        let notify = Arc::new(Notify::new());
        let other = filch::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        filch::sleep(Duration::from_millis(2)).await;
        for _ in 0..50 {
            assert!(
                filch::timeout(Duration::from_micros(100), notify.notified())
                    .await
                    .is_err()
            );
        }
        notify.notify_one();
        filch::timeout(Duration::from_secs(5), other)
            .await
            .expect("the notification went to a dropped waiter")
            .unwrap();
    });
}

/// asyncio's condition pattern: consumers wait for items under the lock; producers push and
/// notify. Every item is consumed once; nobody sleeps through a notification.
#[test]
fn a_condition_hands_items_to_waiting_consumers() {
    let total = filch::run(async {
        let state = Arc::new((Mutex::new((Vec::<u32>::new(), false)), Condition::new()));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let state = state.clone();
                filch::spawn(async move {
                    let (lock, cond) = &*state;
                    let mut sum = 0u64;
                    loop {
                        let mut guard = cond
                            .wait_while(lock.lock().await, |(items, done)| {
                                items.is_empty() && !*done
                            })
                            .await;
                        match guard.0.pop() {
                            Some(n) => sum += u64::from(n),
                            None => return sum,
                        }
                    }
                })
            })
            .collect();
        for i in 0..1_000 {
            state.0.lock().await.0.push(i);
            state.1.notify_one();
            if i % 50 == 0 {
                filch::yield_now().await;
            }
        }
        state.0.lock().await.1 = true;
        state.1.notify_all();
        let mut total = 0;
        for c in filch::join_all(consumers).await {
            total += c.unwrap();
        }
        total
    });
    assert_eq!(total, (0..1_000u64).sum());
}

/// The budget: waits that are already satisfied (a set event, a notify with its permit back each
/// time, an asyncio-queue `join` with nothing unfinished) still spend it, so a loop over them
/// lets a queued task run on a single worker.
#[test]
fn satisfied_waits_in_a_loop_still_yield_the_worker() {
    assert!(
        common::queued_task_runs_during(|other_ran| async move {
            let event = Event::new();
            event.set();
            let mut midway = false;
            for i in 0..5_000 {
                event.wait().await;
                midway |= i < 4_000 && other_ran.load(SeqCst);
            }
            midway
        }),
        "Event::wait did not spend the budget"
    );
    assert!(
        common::queued_task_runs_during(|other_ran| async move {
            let notify = Notify::new();
            let mut midway = false;
            for i in 0..5_000 {
                notify.notify_one();
                notify.notified().await;
                midway |= i < 4_000 && other_ran.load(SeqCst);
            }
            midway
        }),
        "Notify::notified did not spend the budget"
    );
    assert!(
        common::queued_task_runs_during(|other_ran| async move {
            let queue = filch::sync::Queue::<u8>::unbounded();
            let mut midway = false;
            for i in 0..5_000 {
                queue.join().await;
                midway |= i < 4_000 && other_ran.load(SeqCst);
            }
            midway
        }),
        "Queue::join did not spend the budget"
    );
}

/// Waits (with a deadline) until `n` reaches `want`.
async fn until_count(n: &AtomicUsize, want: usize, what: &str) {
    filch::timeout(Duration::from_secs(5), async {
        while n.load(SeqCst) < want {
            filch::sleep(Duration::from_micros(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: {} of {want}", n.load(SeqCst)));
}

/// Found by review: with two waiters, two `notify_one` calls in a row (no yield between) must
/// release both. On a shared wait list the second call saw a waiter already notified and did
/// nothing, and the one permit went to the first waiter.
#[test]
fn two_quick_notify_ones_release_two_waiters() {
    filch::run(async {
        for _ in 0..200 {
            let notify = Arc::new(Notify::new());
            let released = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let (notify, released) = (notify.clone(), released.clone());
                    filch::spawn(async move {
                        notify.notified().await;
                        released.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            filch::sleep(Duration::from_millis(1)).await;
            notify.notify_one();
            notify.notify_one();
            until_count(&released, 2, "waiters released by two notify_one").await;
            filch::join_all(waiters).await;
        }
    });
}

/// A turn handed to a waiter is the waiter's: a task that calls `notify_one` and then waits
/// itself does not take it back.
#[test]
fn a_newcomer_does_not_take_a_woken_waiters_turn() {
    filch::run(async {
        let notify = Arc::new(Notify::new());
        let released = Arc::new(AtomicUsize::new(0));
        let waiter = filch::spawn({
            let (notify, released) = (notify.clone(), released.clone());
            async move {
                notify.notified().await;
                released.fetch_add(1, SeqCst);
            }
        });
        filch::sleep(Duration::from_millis(2)).await;
        notify.notify_one();
        assert!(
            filch::timeout(Duration::from_millis(5), notify.notified())
                .await
                .is_err(),
            "the newcomer took the turn handed to the waiter"
        );
        until_count(&released, 1, "the woken waiter").await;
        waiter.await.unwrap();
    });
}

/// A `notify_waiters` wake that its waiter did not use (the waiter was dropped) does not go to a
/// task that started waiting after the call.
#[test]
fn an_unused_notify_waiters_wake_is_not_passed_on() {
    filch::run(async {
        let notify = Arc::new(Notify::new());
        let first = filch::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        filch::sleep(Duration::from_millis(2)).await;
        notify.notify_waiters();
        first.abort();
        let _ = first.await;
        assert!(
            filch::timeout(Duration::from_millis(5), notify.notified())
                .await
                .is_err(),
            "a later waiter returned without a notification"
        );
    });
}

/// Found by review: two consumers wait on a condition; the producer pushes and notifies twice
/// without yielding. Both must wake (a second `notify_one` used to find the first notification
/// still pending and do nothing).
#[test]
fn two_quick_condition_notifies_wake_two_consumers() {
    filch::run(async {
        for _ in 0..200 {
            let state = Arc::new((Mutex::new(Vec::<u32>::new()), Condition::new()));
            let got = Arc::new(AtomicUsize::new(0));
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (state, got) = (state.clone(), got.clone());
                    filch::spawn(async move {
                        let (lock, cond) = &*state;
                        let mut items = cond.wait_while(lock.lock().await, |v| v.is_empty()).await;
                        items.pop().unwrap();
                        got.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            filch::sleep(Duration::from_millis(1)).await;
            for i in 0..2 {
                state.0.lock().await.push(i);
                state.1.notify_one();
            }
            until_count(&got, 2, "consumers woken by two notify_one").await;
            filch::join_all(consumers).await;
        }
    });
}

/// asyncio's `set(); clear()` pulse: tasks waiting when the event was set return, even though it
/// was cleared before they ran.
#[test]
fn a_set_then_clear_pulse_releases_the_waiters() {
    filch::run(async {
        let event = Arc::new(Event::new());
        let released = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let (event, released) = (event.clone(), released.clone());
                filch::spawn(async move {
                    event.wait().await;
                    released.fetch_add(1, SeqCst);
                })
            })
            .collect();
        filch::sleep(Duration::from_millis(2)).await;
        event.set();
        event.clear();
        until_count(&released, 4, "waiters released by a set/clear pulse").await;
        filch::join_all(waiters).await;
        assert!(!event.is_set());
    });
}

/// `notify_waiters` wakes every `notified()` polled at least once, as documented, even one whose
/// first poll found the task's cooperative budget spent. Regression: the budget answered that
/// poll without letting the wait register, so a `notify_waiters` sent after it (the usual
/// poll-once-then-check-the-state pattern) was lost and the wait slept for ever.
#[test]
fn notify_waiters_wakes_a_notified_first_polled_with_a_spent_budget() {
    use std::future::Future;
    use std::task::Poll;
    filch::run(async {
        let notify = Notify::new();
        let mut notified = std::pin::pin!(notify.notified());
        std::future::poll_fn(|cx| {
            // Spend the budget down to nothing; the last `consume_budget` wakes the task.
            loop {
                let mut spend = std::pin::pin!(filch::task::consume_budget());
                if spend.as_mut().poll(cx).is_pending() {
                    break;
                }
            }
            // The first poll: from here on, this wait counts as waiting.
            assert!(notified.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        notify.notify_waiters();
        filch::timeout(Duration::from_secs(2), notified)
            .await
            .expect("notify_waiters missed a notified() already polled once");
        // The notification was for the waiters of the time: no permit is left.
        assert!(filch::timeout(Duration::from_millis(5), notify.notified())
            .await
            .is_err());
    });
}
