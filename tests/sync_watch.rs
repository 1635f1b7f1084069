//! `sync::watch`: the latest value seen, `changed` and `has_changed` around the sender's drop,
//! `send` with no receiver, `closed`, `wait_for`, no lost change across threads, a `changed` that
//! loses a `select!` misses nothing, and the cooperative budget.

mod common;

use filch::sync::watch::{self, RecvError, SendError};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn the_initial_value_counts_as_seen() {
    let (tx, mut rx) = watch::channel(1);
    assert_eq!(*rx.borrow(), 1);
    assert!(!rx.borrow().has_changed());
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(2).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    assert!(rx.borrow().has_changed());
    assert!(
        rx.borrow().has_changed(),
        "borrow does not mark the value seen"
    );
    let value = rx.borrow_and_update();
    assert_eq!((*value, value.has_changed()), (2, true));
    drop(value);
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(*tx.borrow(), 2);
}

#[test]
fn changed_waits_for_a_change_and_marks_it_seen() {
    filch::run(async {
        let (tx, mut rx) = watch::channel(0u32);
        let waiter = filch::spawn(async move {
            rx.changed().await.unwrap();
            let v = *rx.borrow();
            (v, rx.has_changed())
        });
        filch::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished(), "changed returned without a change");
        tx.send(5).unwrap();
        assert_eq!(waiter.await.unwrap(), (5, Ok(false)));
    });
}

/// Several changes before the receiver looks: it sees the latest, once.
#[test]
fn changes_made_while_nobody_looks_collapse_into_the_latest() {
    filch::run(async {
        let (tx, mut rx) = watch::channel(0);
        for n in 1..=5 {
            tx.send(n).unwrap();
        }
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), 5);
        assert_eq!(rx.has_changed(), Ok(false));
    });
}

/// After the sender is dropped, `changed` still returns the change not yet seen, then fails;
/// `has_changed` fails at once (as tokio's does).
#[test]
fn changed_fails_once_the_sender_is_gone_and_the_last_value_was_seen() {
    filch::run(async {
        let (tx, mut rx) = watch::channel("a");
        tx.send("b").unwrap();
        drop(tx);
        assert!(rx.is_closed());
        assert_eq!(rx.has_changed(), Err(RecvError));
        assert_eq!(rx.changed().await, Ok(()));
        assert_eq!(*rx.borrow(), "b");
        assert_eq!(rx.changed().await, Err(RecvError));
        assert_eq!(rx.changed().await, Err(RecvError));
    });
}

#[test]
fn a_waiting_changed_fails_when_the_sender_is_dropped() {
    filch::run(async {
        let (tx, mut rx) = watch::channel(());
        let waiter = filch::spawn(async move { rx.changed().await });
        filch::sleep(Duration::from_millis(5)).await;
        drop(tx);
        assert_eq!(waiter.await.unwrap(), Err(RecvError));
    });
}

#[test]
fn send_fails_without_receivers_and_send_replace_stores_anyway() {
    let (tx, rx) = watch::channel(1);
    assert_eq!(tx.receiver_count(), 1);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(*tx.borrow(), 1, "a failed send stores nothing");
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.borrow(), 3);

    let mut rx = tx.subscribe();
    assert_eq!(tx.receiver_count(), 1);
    assert_eq!(
        rx.has_changed(),
        Ok(false),
        "a new receiver has seen the value"
    );
    tx.send_modify(|v| *v += 1);
    assert_eq!(*rx.borrow_and_update(), 4);
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(tx.send_if_modified(|v| {
        *v = 10;
        true
    }));
    assert_eq!(rx.has_changed(), Ok(true));
}

#[test]
fn a_cloned_receiver_has_seen_what_the_original_had_seen() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    let unseen = rx.clone();
    rx.borrow_and_update();
    let seen = rx.clone();
    assert_eq!(tx.receiver_count(), 3);
    assert_eq!(unseen.has_changed(), Ok(true));
    assert_eq!(seen.has_changed(), Ok(false));
    assert!(seen.same_channel(&unseen));
}

#[test]
fn closed_returns_once_every_receiver_is_dropped() {
    filch::run(async {
        let (tx, rx) = watch::channel(0);
        let rx2 = rx.clone();
        let tx = std::sync::Arc::new(tx);
        let waiter = filch::spawn({
            let tx = tx.clone();
            async move { tx.closed().await }
        });
        drop(rx);
        filch::sleep(Duration::from_millis(5)).await;
        assert!(
            !waiter.is_finished(),
            "closed returned with a receiver left"
        );
        drop(rx2);
        waiter.await.unwrap();
        tx.closed().await; // at once now
    });
}

#[test]
fn wait_for_checks_the_current_value_then_each_change() {
    filch::run(async {
        let (tx, mut rx) = watch::channel(3);
        // Already true: no change needed.
        let v = rx.wait_for(|v| *v == 3).await.unwrap();
        assert_eq!((*v, v.has_changed()), (3, false));
        drop(v);

        let counter = filch::spawn(async move {
            for n in 4..=20 {
                tx.send(n).unwrap();
                filch::yield_now().await;
            }
            tx // kept alive until the test is done with it
        });
        let v = *rx.wait_for(|v| *v >= 10).await.unwrap();
        assert!(v >= 10);
        let tx = counter.await.unwrap();

        // The sender is dropped; the last value is checked before failing.
        drop(tx);
        assert_eq!(*rx.wait_for(|v| *v == 20).await.unwrap(), 20);
        assert!(rx.wait_for(|v| *v == 99).await.is_err());
    });
}

#[test]
fn wait_for_can_run_in_a_spawned_task() {
    filch::run(async {
        let (tx, mut rx) = watch::channel(false);
        let waiter = filch::spawn(async move { *rx.wait_for(|ready| *ready).await.unwrap() });
        tx.send(true).unwrap();
        assert!(waiter.await.unwrap());
    });
}

/// Ping-pong over two watches, on 4 workers: each side waits for the other's change before
/// making its own, so a single lost wake-up hangs the test.
#[test]
fn no_change_is_lost_in_a_ping_pong_between_threads() {
    common::within(Duration::from_secs(30), "watch ping-pong", || {
        let rt = common::runtime(4, "watch");
        rt.block_on(async {
            let (ping_tx, mut ping_rx) = watch::channel(0u32);
            let (pong_tx, mut pong_rx) = watch::channel(0u32);
            let echo = filch::spawn(async move {
                while ping_rx.changed().await.is_ok() {
                    let n = *ping_rx.borrow_and_update();
                    pong_tx.send(n).unwrap();
                }
            });
            for n in 1..=5_000 {
                ping_tx.send(n).unwrap();
                pong_rx.wait_for(|v| *v == n).await.unwrap();
            }
            drop(ping_tx);
            echo.await.unwrap();
        });
    });
}

/// Many receivers on other workers, a sender changing the value 2,000 times: every receiver ends
/// on the last value, sees the values in order (possibly skipping some), and then sees the close.
#[test]
fn every_receiver_ends_on_the_last_value() {
    common::within(Duration::from_secs(30), "watch fan-out", || {
        let rt = common::runtime(4, "watch");
        rt.block_on(async {
            let (tx, rx) = watch::channel(0u32);
            let watchers: Vec<_> = (0..8)
                .map(|_| {
                    let mut rx = rx.clone();
                    filch::spawn(async move {
                        let mut last = 0;
                        let mut changes = 0u32;
                        while rx.changed().await.is_ok() {
                            let n = *rx.borrow_and_update();
                            assert!(n > last, "went back from {last} to {n}");
                            last = n;
                            changes += 1;
                        }
                        (last, changes)
                    })
                })
                .collect();
            drop(rx);
            for n in 1..=2_000 {
                tx.send(n).unwrap();
                if n % 7 == 0 {
                    filch::yield_now().await;
                }
            }
            drop(tx);
            for watcher in filch::join_all(watchers).await {
                let (last, changes) = watcher.unwrap();
                assert_eq!(last, 2_000);
                assert!(changes >= 1);
            }
        });
    });
}

/// `changed` loses a `select!` to a yield again and again while another task changes the value:
/// the receiver still sees every change through to the last, and then the close.
#[test]
fn a_changed_that_loses_a_select_misses_no_change() {
    common::within(Duration::from_secs(30), "watch select", || {
        let rt = common::runtime(2, "watch");
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            let sender = filch::spawn(async move {
                for n in 1..=500 {
                    tx.send(n).unwrap();
                    filch::yield_now().await;
                }
            });
            let mut last = 0;
            let mut losses = 0u32;
            loop {
                filch::select! {
                    r = rx.changed() => match r {
                        Ok(()) => last = *rx.borrow_and_update(),
                        Err(RecvError) => break,
                    },
                    _ = filch::yield_now() => losses += 1,
                }
            }
            sender.await.unwrap();
            assert_eq!(last, 500);
            assert!(losses > 0, "changed never lost the select");
        });
    });

    // A `changed` that registered and was then dropped marks nothing seen.
    filch::run(async {
        let (tx, mut rx) = watch::channel(0);
        filch::select! {
            _ = rx.changed() => panic!("nothing was sent"),
            _ = filch::sleep(Duration::from_millis(2)) => {}
        }
        tx.send(1).unwrap();
        assert_eq!(rx.has_changed(), Ok(true));
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow(), 1);
    });
}

/// A task that changes the value and awaits `changed` 1,000 times never waits on its own; the
/// budget must still make it yield to the task queued behind it.
#[test]
fn a_changed_loop_on_an_always_changed_watch_still_yields() {
    let midway = common::queued_task_runs_during(|b_ran| async move {
        let (tx, mut rx) = watch::channel(0u32);
        let mut midway = false;
        for i in 0..1_000u32 {
            tx.send(i + 1).unwrap();
            rx.changed().await.unwrap();
            assert_eq!(*rx.borrow_and_update(), i + 1);
            if i < 999 && b_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: changed spent no budget"
    );
}

/// The same for `wait_for` on a value that always satisfies it.
#[test]
fn a_wait_for_loop_on_a_ready_value_still_yields() {
    let midway = common::queued_task_runs_during(|b_ran| async move {
        let (_tx, mut rx) = watch::channel(true);
        let mut midway = false;
        for i in 0..1_000u32 {
            assert!(*rx.wait_for(|v| *v).await.unwrap());
            if i < 999 && b_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: wait_for spent no budget"
    );
}
