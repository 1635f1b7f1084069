//! Loom models of the channel under `mpmc` and `Queue` (`chan.rs`): a wake-up is never lost
//! between a send and a receiver registering, between a receive and a sender waiting for room,
//! when a woken receiver is dropped before it takes its item, or on close. A lost wake-up shows as
//! a loom deadlock (`block_on` never returns).
//! Run with `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib loom_tests`.

use super::chan::{Chan, Recv, Send};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::future::block_on;
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Wake, Waker};

/// A receiver on one thread waits while a sender on another sends: the item arrives.
#[test]
fn a_send_wakes_the_waiting_receiver() {
    crate::task::loom_tests::model(|| {
        let chan = Arc::new(Chan::<u8>::new(1, 1, 1));
        let sender = thread::spawn({
            let chan = chan.clone();
            move || assert!(chan.try_send(7).is_ok())
        });
        assert_eq!(block_on(Recv::new(&chan)), Ok(7));
        sender.join().unwrap();
    });
}

/// A sender waits on a full bounded channel while a receiver takes the item on another thread:
/// the sender gets the room, and both items arrive in order.
#[test]
fn a_receive_wakes_the_sender_waiting_for_room() {
    crate::task::loom_tests::model(|| {
        let chan = Arc::new(Chan::<u8>::new(1, 1, 1));
        assert!(chan.try_send(1).is_ok());
        let receiver = thread::spawn({
            let chan = chan.clone();
            move || {
                let first = block_on(Recv::new(&chan));
                let second = block_on(Recv::new(&chan));
                (first, second)
            }
        });
        assert_eq!(block_on(Send::new(&chan, 2)), Ok(()));
        assert_eq!(receiver.join().unwrap(), (Ok(1), Ok(2)));
    });
}

/// Counts the wakes it gets.
#[derive(Default)]
struct Count(std::sync::atomic::AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Two receivers wait; a send on another thread wakes the first, which is then dropped (it lost
/// a `select!`) without taking the item: the second must be woken and get the item.
#[test]
fn a_woken_receiver_dropped_unused_passes_the_wake_on() {
    crate::task::loom_tests::model(|| {
        let chan = Arc::new(Chan::<u8>::new(4, 1, 2));
        let first_waker = std::sync::Arc::new(Count::default());
        let mut first = Recv::new(&chan);
        let waker = Waker::from(first_waker.clone());
        assert!(Pin::new(&mut first)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let taken = Arc::new(AtomicUsize::new(0));
        let second = thread::spawn({
            let (chan, taken) = (chan.clone(), taken.clone());
            move || {
                assert_eq!(block_on(Recv::new(&chan)), Ok(9));
                taken.fetch_add(1, SeqCst);
            }
        });
        let sender = thread::spawn({
            let chan = chan.clone();
            move || assert!(chan.try_send(9).is_ok())
        });
        sender.join().unwrap();
        // Dropped whether or not it was the one woken.
        drop(first);
        second.join().unwrap();
        assert_eq!(taken.load(SeqCst), 1);
    });
}

/// Closing from another thread wakes a waiting receiver, which then sees the channel closed.
#[test]
fn close_wakes_every_waiter() {
    crate::task::loom_tests::model(|| {
        let chan = Arc::new(Chan::<u8>::new(1, 1, 1));
        let closer = thread::spawn({
            let chan = chan.clone();
            move || chan.drop_sender()
        });
        assert_eq!(block_on(Recv::new(&chan)), Err(()));
        closer.join().unwrap();
    });
}
