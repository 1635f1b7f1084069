//! `sync::broadcast`: every receiver gets every message sent after it subscribed, a receiver that
//! falls behind lags and goes on from the oldest kept, sending with no receiver fails and the
//! channel stays usable, the close once every sender is gone, no lost message across threads, a
//! `recv` that loses a `select!` loses nothing, and the cooperative budget.

mod common;

use filch::sync::broadcast::{self, RecvError, SendError, TryRecvError};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn every_receiver_gets_every_message_sent_after_it_subscribed() {
    filch::run(async {
        let (tx, mut early) = broadcast::channel(8);
        tx.send(1).unwrap();
        let mut late = tx.subscribe();
        let mut resubscribed = early.resubscribe();
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!(tx.receiver_count(), 3);
        for (rx, want) in [
            (&mut early, vec![1, 2, 3]),
            (&mut late, vec![2, 3]),
            (&mut resubscribed, vec![2, 3]),
        ] {
            let mut got = Vec::new();
            for _ in 0..want.len() {
                got.push(rx.recv().await.unwrap());
            }
            assert_eq!(got, want);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
        assert!(tx.is_empty(), "every message was read by every receiver");
    });
}

#[test]
fn a_receiver_more_than_cap_behind_lags_then_goes_on_from_the_oldest_kept() {
    filch::run(async {
        let (tx, mut slow) = broadcast::channel(4);
        let mut fast = tx.subscribe();
        for n in 0..10 {
            tx.send(n).unwrap();
            assert_eq!(
                fast.recv().await,
                Ok(n),
                "a receiver that keeps up never lags"
            );
        }
        assert_eq!(tx.len(), 4);
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(6)));
        for n in 6..10 {
            assert_eq!(slow.recv().await, Ok(n));
        }
        assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));

        // The same through `try_recv`.
        for n in 10..15 {
            tx.send(n).unwrap();
        }
        assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(1)));
        assert_eq!(slow.try_recv(), Ok(11));
    });
}

/// With no receiver, a send fails and hands the message back (as tokio's); the channel stays
/// open, and a receiver subscribed later gets what is sent after.
#[test]
fn sending_with_no_receiver_fails_and_the_channel_stays_usable() {
    filch::run(async {
        let (tx, rx) = broadcast::channel(2);
        drop(rx);
        assert_eq!(tx.receiver_count(), 0);
        assert_eq!(tx.send("lost"), Err(SendError("lost")));
        let mut rx = tx.subscribe();
        tx.send("kept").unwrap();
        assert_eq!(rx.recv().await, Ok("kept"));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn receivers_read_what_is_left_then_see_the_close_once_every_sender_is_gone() {
    filch::run(async {
        let (tx, mut rx) = broadcast::channel(8);
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        drop(tx);
        assert!(!rx.is_closed(), "a clone of the sender is left");
        tx2.send(2).unwrap();
        drop(tx2);
        assert!(rx.is_closed());
        assert_eq!(rx.recv().await, Ok(1));
        assert_eq!(rx.recv().await, Ok(2));
        assert_eq!(rx.recv().await, Err(RecvError::Closed));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn a_waiting_recv_fails_when_the_last_sender_is_dropped() {
    filch::run(async {
        let (tx, mut rx) = broadcast::channel::<u32>(1);
        let waiter = filch::spawn(async move { rx.recv().await });
        filch::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished());
        drop(tx);
        assert_eq!(waiter.await.unwrap(), Err(RecvError::Closed));
    });
}

/// Senders on several workers, receivers on others, a capacity no receiver can fall behind:
/// every receiver gets every message, each sender's in order.
#[test]
fn no_message_is_lost_between_threads() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 500;
    common::within(Duration::from_secs(30), "broadcast fan-out", || {
        let rt = common::runtime(4, "broadcast");
        rt.block_on(async {
            let (tx, rx) = broadcast::channel((SENDERS * EACH) as usize);
            let receivers: Vec<_> = (0..6)
                .map(|_| {
                    let mut rx = rx.resubscribe();
                    filch::spawn(async move {
                        let mut next = [0u64; SENDERS as usize];
                        let mut count = 0;
                        while let Ok((s, n)) = rx.recv().await {
                            assert_eq!(n, next[s as usize], "sender {s} out of order");
                            next[s as usize] += 1;
                            count += 1;
                        }
                        count
                    })
                })
                .collect();
            drop(rx);
            let senders: Vec<_> = (0..SENDERS)
                .map(|s| {
                    let tx = tx.clone();
                    filch::spawn(async move {
                        for n in 0..EACH {
                            tx.send((s, n)).unwrap();
                            if n % 5 == 0 {
                                filch::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            filch::join_all(senders).await;
            for count in filch::join_all(receivers).await {
                assert_eq!(count.unwrap(), SENDERS * EACH);
            }
        });
    });
}

/// Ping-pong over two channels on 4 workers: a single lost wake-up hangs the test.
#[test]
fn no_wake_up_is_lost_in_a_ping_pong_between_threads() {
    common::within(Duration::from_secs(30), "broadcast ping-pong", || {
        let rt = common::runtime(4, "broadcast");
        rt.block_on(async {
            let (ping_tx, mut ping_rx) = broadcast::channel(1);
            let (pong_tx, mut pong_rx) = broadcast::channel(1);
            let echo = filch::spawn(async move {
                while let Ok(n) = ping_rx.recv().await {
                    pong_tx.send(n).unwrap();
                }
            });
            for n in 0..5_000u32 {
                ping_tx.send(n).unwrap();
                assert_eq!(pong_rx.recv().await, Ok(n));
            }
            drop(ping_tx);
            echo.await.unwrap();
        });
    });
}

/// `recv` loses a `select!` to a yield again and again while another task sends: no message is
/// lost or repeated.
#[test]
fn a_recv_that_loses_a_select_loses_no_message() {
    common::within(Duration::from_secs(30), "broadcast select", || {
        let rt = common::runtime(2, "broadcast");
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(1_000);
            let sender = filch::spawn(async move {
                for n in 0..500u32 {
                    tx.send(n).unwrap();
                    filch::yield_now().await;
                }
            });
            let mut got = Vec::new();
            let mut losses = 0u32;
            loop {
                filch::select! {
                    r = rx.recv() => match r {
                        Ok(n) => got.push(n),
                        Err(RecvError::Closed) => break,
                        Err(RecvError::Lagged(n)) => panic!("lagged by {n}"),
                    },
                    _ = filch::yield_now() => losses += 1,
                }
            }
            sender.await.unwrap();
            assert_eq!(got, (0..500).collect::<Vec<_>>());
            assert!(losses > 0, "recv never lost the select");
        });
    });
}

/// A task that sends and receives 1,000 times never waits on its own; the budget must still make
/// it yield to the task queued behind it.
#[test]
fn a_recv_loop_on_a_ready_channel_still_yields() {
    let midway = common::queued_task_runs_during(|b_ran| async move {
        let (tx, mut rx) = broadcast::channel(4);
        let mut midway = false;
        for i in 0..1_000u32 {
            tx.send(i).unwrap();
            assert_eq!(rx.recv().await, Ok(i));
            if i < 999 && b_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: recv spent no budget"
    );
}
