//! `sync::oneshot`: the value delivered, the sender dropped or the receiver gone, `try_recv` and
//! `close`, no lost wake-up across threads, a receiver that loses a `select!` keeps its value, and
//! the cooperative budget.

mod common;

use filch::sync::oneshot::{self, RecvError, TryRecvError};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn the_value_sent_is_the_value_received() {
    let got = filch::run(async {
        let (tx, rx) = oneshot::channel();
        let task = filch::spawn(rx);
        tx.send(String::from("hello")).unwrap();
        task.await.unwrap()
    });
    assert_eq!(got, Ok(String::from("hello")));
}

#[test]
fn a_sender_dropped_without_sending_fails_the_receiver() {
    filch::run(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let task = filch::spawn(rx);
        filch::sleep(Duration::from_millis(5)).await;
        drop(tx);
        assert_eq!(task.await.unwrap(), Err(RecvError));
    });
}

#[test]
fn sending_to_a_dropped_receiver_hands_the_value_back() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(7), Err(7));
}

#[test]
fn closed_returns_once_the_receiver_is_dropped() {
    filch::run(async {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let waiter = filch::spawn(async move {
            tx.closed().await;
            tx.is_closed()
        });
        filch::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished());
        drop(rx);
        assert!(waiter.await.unwrap());
    });
}

#[test]
fn try_recv_is_empty_then_the_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel::<u32>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_fails_later_sends_and_keeps_a_value_sent_before() {
    filch::run(async {
        let (mut tx, mut rx) = oneshot::channel::<u32>();
        rx.close();
        assert!(tx.is_closed());
        tx.closed().await; // returns at once
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.await, Err(RecvError));

        let (tx, mut rx) = oneshot::channel();
        tx.send(2).unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Ok(2));
    });
}

/// Many channels, each sent on from one worker and awaited on another: every value arrives, and
/// no receiver is left waiting for a wake-up that was lost.
#[test]
fn no_wake_up_is_lost_between_threads() {
    common::within(Duration::from_secs(30), "oneshot rounds", || {
        let rt = common::runtime(4, "oneshot");
        rt.block_on(async {
            for round in 0..200u64 {
                let mut receivers = Vec::new();
                let mut senders = Vec::new();
                for i in 0..50u64 {
                    let (tx, rx) = oneshot::channel();
                    receivers.push(filch::spawn(async move { rx.await.unwrap() }));
                    senders.push(filch::spawn(async move {
                        if i % 3 == 0 {
                            filch::yield_now().await;
                        }
                        tx.send(round * 100 + i).unwrap();
                    }));
                }
                filch::join_all(senders).await;
                let got: Vec<u64> = filch::join_all(receivers)
                    .await
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
                let want: Vec<u64> = (0..50).map(|i| round * 100 + i).collect();
                assert_eq!(got, want);
            }
        });
    });
}

/// `&mut rx` loses a `select!` to a timer over and over; the value sent meanwhile is still there
/// for the poll that finally wins.
#[test]
fn a_receiver_that_loses_a_select_keeps_the_value() {
    let (got, losses) = filch::run(async {
        let (tx, mut rx) = oneshot::channel();
        let sender = filch::spawn(async move {
            filch::sleep(Duration::from_millis(20)).await;
            tx.send("late").unwrap();
        });
        let mut losses = 0u32;
        let got = loop {
            filch::select! {
                v = &mut rx => break v,
                _ = filch::sleep(Duration::from_millis(1)) => losses += 1,
            }
        };
        sender.await.unwrap();
        (got, losses)
    });
    assert_eq!(got, Ok("late"));
    assert!(losses > 0, "the receive never lost the select");
}

/// A task awaiting 1,000 oneshots that were all sent already never waits on its own; the budget
/// must still make it yield to the task queued behind it.
#[test]
fn awaiting_sent_oneshots_in_a_loop_still_yields() {
    let midway = common::queued_task_runs_during(|b_ran| async move {
        let receivers: Vec<_> = (0..1_000u32)
            .map(|i| {
                let (tx, rx) = oneshot::channel();
                tx.send(i).unwrap();
                rx
            })
            .collect();
        let mut midway = false;
        for (i, rx) in receivers.into_iter().enumerate() {
            assert_eq!(rx.await, Ok(i as u32));
            if i < 999 && b_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: the oneshot wait spent no budget"
    );
}
