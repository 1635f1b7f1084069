//! `filch::sync::Queue` and the `mpmc` channel: delivery, closing, asyncio's `task_done`/`join`,
//! cancel safety, and the cooperative budget.

mod common;

use filch::sync::mpmc::{self, RecvError, TryRecvError, TrySendError};
use filch::sync::Queue;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// Four producers and three consumers on a bounded channel smaller than the traffic: every
/// message arrives exactly once, and the consumers end when the last sender is dropped.
#[test]
fn many_producers_and_consumers_deliver_each_message_once() {
    let got = filch::run(async {
        let (tx, rx) = mpmc::bounded(4);
        let producers: Vec<_> = (0..4u32)
            .map(|p| {
                let tx = tx.clone();
                filch::spawn(async move {
                    for i in 0..500 {
                        tx.send(p * 1000 + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                filch::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(n) = rx.recv().await {
                        got.push(n);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        filch::join_all(producers).await;
        let mut all = Vec::new();
        for c in filch::join_all(consumers).await {
            all.extend(c.unwrap());
        }
        all
    });
    assert_eq!(got.len(), 2000);
    let unique: HashSet<_> = got.iter().copied().collect();
    assert_eq!(unique.len(), 2000, "a message was delivered twice");
    for p in 0..4 {
        for i in 0..500 {
            assert!(unique.contains(&(p * 1000 + i)));
        }
    }
}

#[test]
fn a_closed_channel_drains_then_fails() {
    filch::run(async {
        let (tx, rx) = mpmc::bounded(2);
        tx.send(1).await.unwrap();
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert!(tx.is_full());
        assert!(rx.close());
        assert_eq!(tx.send(4).await.unwrap_err().0, 4);
        assert_eq!(rx.recv().await, Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.recv().await, Err(RecvError));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        let (tx, rx) = mpmc::unbounded::<u8>();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(rx);
        assert!(matches!(tx.try_send(1), Err(TrySendError::Closed(1))));
        assert_eq!(tx.capacity(), None);
    });
}

#[test]
#[should_panic(expected = "the capacity must be at least 1")]
fn a_zero_capacity_is_refused_with_a_clear_message() {
    let _ = mpmc::bounded::<()>(0);
}

/// asyncio's producer/consumer pattern: workers mark each item done; `join` returns only once
/// every item put in was marked, not merely received.
#[test]
fn join_waits_for_every_item_to_be_marked_done() {
    filch::run(async {
        let queue = Queue::bounded(3);
        let processed = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (queue, processed) = (queue.clone(), processed.clone());
                filch::spawn(async move {
                    while let Ok(ms) = queue.recv().await {
                        filch::sleep(Duration::from_millis(ms)).await;
                        processed.fetch_add(1, SeqCst);
                        queue.task_done();
                    }
                })
            })
            .collect();
        for i in 0..30 {
            queue.send(i % 3).await.unwrap();
        }
        queue.join().await;
        assert_eq!(processed.load(SeqCst), 30);
        assert_eq!(queue.unfinished(), 0);
        // `join` on a queue with nothing unfinished returns at once.
        queue.join().await;
        queue.close();
        filch::join_all(workers).await;
        assert!(queue.is_closed());
    });
}

#[test]
#[should_panic(expected = "task_done called more times than there were items")]
fn task_done_without_an_item_panics_like_asyncio() {
    let queue = Queue::<u8>::unbounded();
    queue.task_done();
}

/// A `send` that fails (closed queue) or is dropped before it completed does not leave a count
/// behind for `join` to wait on forever.
#[test]
fn failed_and_cancelled_sends_are_not_counted() {
    filch::run(async {
        let queue = Queue::bounded(1);
        queue.send(1).await.unwrap();
        // Full: this send waits, then loses the race against a short sleep.
        let lost = filch::timeout(Duration::from_millis(10), queue.send(2)).await;
        assert!(lost.is_err());
        assert!(matches!(queue.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(queue.unfinished(), 1);
        assert_eq!(queue.recv().await, Ok(1));
        queue.task_done();
        queue.close();
        assert!(queue.send(4).await.is_err());
        assert_eq!(queue.unfinished(), 0);
        filch::timeout(Duration::from_secs(5), queue.join())
            .await
            .expect("join waited for items that never went in");
    });
}

/// Cancel safety: a `recv` that loses a `select!` takes no message. Many rounds, with a sender on
/// another task, so the loss happens at every point of the receive.
#[test]
fn a_recv_that_loses_a_select_loses_no_message() {
    const N: u32 = 2_000;
    let received = filch::run(async {
        let (tx, rx) = mpmc::bounded(8);
        let producer = filch::spawn(async move {
            for i in 0..N {
                tx.send(i).await.unwrap();
                if i % 7 == 0 {
                    filch::yield_now().await;
                }
            }
        });
        let mut received = Vec::new();
        loop {
            filch::select! {
                got = rx.recv() => match got {
                    Ok(n) => received.push(n),
                    Err(RecvError) => break,
                },
                _ = filch::yield_now() => {}
            }
        }
        producer.await.unwrap();
        received
    });
    assert_eq!(received, (0..N).collect::<Vec<_>>());
}

/// The same for the queue's `recv`, raced against a timeout.
#[test]
fn a_queue_recv_cut_by_a_timeout_loses_no_item() {
    let received = filch::run(async {
        let queue = Queue::unbounded();
        let producer = filch::spawn({
            let queue = queue.clone();
            async move {
                for i in 0..200u32 {
                    queue.send(i).await.unwrap();
                    filch::sleep(Duration::from_micros(200)).await;
                }
                queue.close();
            }
        });
        let mut received = Vec::new();
        loop {
            match filch::timeout(Duration::from_micros(150), queue.recv()).await {
                Ok(Ok(n)) => received.push(n),
                Ok(Err(_)) => break,
                Err(_) => {}
            }
        }
        producer.await.unwrap();
        received
    });
    assert_eq!(received, (0..200).collect::<Vec<_>>());
}

/// The budget: on one worker, a consumer drains a channel that always has a message (its
/// producer filled it beforehand). A task queued behind the consumer must run before the drain
/// ends, because each `recv` spends the consumer's budget.
#[test]
fn draining_an_always_full_channel_still_yields_the_worker() {
    let drained = Arc::new(AtomicUsize::new(0));
    let midway = common::queued_task_runs_during({
        let drained = drained.clone();
        |other_ran| async move {
            let (tx, rx) = mpmc::unbounded();
            for i in 0..10_000u32 {
                tx.try_send(i).unwrap();
            }
            drop(tx);
            let mut midway = false;
            let mut count = 0;
            while let Ok(n) = rx.recv().await {
                assert_eq!(n, count);
                count += 1;
                midway |= count < 9_000 && other_ran.load(SeqCst);
            }
            drained.store(count as usize, SeqCst);
            midway
        }
    });
    assert_eq!(drained.load(SeqCst), 10_000);
    assert!(
        midway,
        "the queued task ran only after the drain: recv did not spend the budget"
    );
}

/// The same rule for the queue.
#[test]
fn draining_an_always_full_queue_still_yields_the_worker() {
    let midway = common::queued_task_runs_during(|other_ran| async move {
        let queue = Queue::unbounded();
        for i in 0..5_000u32 {
            queue.try_send(i).unwrap();
        }
        let mut midway = false;
        for n in 0..5_000u32 {
            assert_eq!(queue.recv().await, Ok(n));
            queue.task_done();
            midway |= n < 4_000 && other_ran.load(SeqCst);
        }
        queue.join().await;
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the drain: Queue::recv did not spend the budget"
    );
}

/// Found by review: a send still waiting for room is not an item: `task_done` beyond the items
/// that went in panics even then, and a waiting send that is cancelled leaves the count alone.
#[test]
fn a_waiting_send_is_not_counted_as_unfinished() {
    filch::run(async {
        let queue = Queue::bounded(1);
        queue.send(1).await.unwrap();
        let blocked = filch::spawn({
            let queue = queue.clone();
            async move { queue.send(2).await }
        });
        filch::sleep(Duration::from_millis(2)).await;
        assert_eq!(queue.unfinished(), 1, "the waiting send was counted");
        blocked.abort();
        assert!(blocked.await.unwrap_err().is_cancelled());
        assert_eq!(queue.unfinished(), 1);
        assert_eq!(queue.recv().await, Ok(1));
        queue.task_done();
        let extra = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| queue.task_done()));
        assert!(
            extra.is_err(),
            "a second task_done for one item did not panic"
        );
        assert_eq!(queue.unfinished(), 0);
        filch::timeout(Duration::from_secs(5), queue.join())
            .await
            .expect("join hung: the count went wrong");
    });
}
