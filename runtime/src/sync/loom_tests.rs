//! Loom models of the channel under `mpmc` and `Queue` (`chan.rs`): a wake-up is never lost
//! between a send and a receiver registering, between a receive and a sender waiting for room,
//! when a woken receiver is dropped before it takes its item, or on close. And of `Notify`
//! (`notify.rs`): a `notify_one` racing a waiter's registration, two of them releasing two
//! waiters, a turn handed to a waiter that is then dropped, and `notify_waiters` racing a
//! registered waiter's next poll. A lost wake-up shows as a loom deadlock (`block_on` never
//! returns).
//! Run with `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib loom_tests`.

use super::chan::{Chan, Recv, Send};
use super::Notify;
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

/// A `notify_one` on another thread races the waiter's first poll: it either wakes the waiter or
/// leaves the permit that the poll takes.
#[test]
fn notify_one_wakes_a_waiter_or_leaves_the_permit() {
    crate::task::loom_tests::model(|| {
        let notify = Arc::new(Notify::new());
        let notifier = thread::spawn({
            let notify = notify.clone();
            move || notify.notify_one()
        });
        block_on(notify.notified());
        notifier.join().unwrap();
    });
}

/// Two `notify_one` calls from two threads release two waiting tasks, whatever the order of the
/// calls and of the waiters' next polls (each call hands one waiter its own turn). Both register
/// first: with nobody waiting, two calls leave a single permit, by design.
#[test]
fn two_notify_one_release_two_waiters() {
    crate::task::loom_tests::model(|| {
        let notify = Arc::new(Notify::new());
        let waker = Waker::from(std::sync::Arc::new(Count::default()));
        let mut cx = Context::from_waker(&waker);
        let mut first = Box::pin(notify.notified());
        let mut second = Box::pin(notify.notified());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        let notifiers: Vec<_> = (0..2)
            .map(|_| {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
            })
            .collect();
        // `block_on` polls again with its own waker: a turn already handed is taken at once.
        block_on(first);
        block_on(second);
        for notifier in notifiers {
            notifier.join().unwrap();
        }
    });
}

/// A waiter that may have been handed the turn is dropped unused (it lost a `select!`): the turn
/// goes to the other waiter, or back as the permit it then takes.
#[test]
fn a_turn_handed_to_a_dropped_waiter_is_passed_on() {
    crate::task::loom_tests::model(|| {
        let notify = Arc::new(Notify::new());
        let first_waker = std::sync::Arc::new(Count::default());
        let waker = Waker::from(first_waker.clone());
        let mut first = Box::pin(notify.notified());
        assert!(first
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let second = thread::spawn({
            let notify = notify.clone();
            move || block_on(notify.notified())
        });
        let notifier = thread::spawn({
            let notify = notify.clone();
            move || notify.notify_one()
        });
        notifier.join().unwrap();
        drop(first);
        second.join().unwrap();
    });
}

/// `notify_waiters` on another thread races the next poll of a waiter that registered on its
/// first: the waiter completes (it was waiting when the call was made).
#[test]
fn notify_waiters_wakes_a_registered_waiter() {
    crate::task::loom_tests::model(|| {
        let notify = Arc::new(Notify::new());
        let waker = Waker::from(std::sync::Arc::new(Count::default()));
        let mut waiter = Box::pin(notify.notified());
        assert!(waiter
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let notifier = thread::spawn({
            let notify = notify.clone();
            move || notify.notify_waiters()
        });
        block_on(waiter);
        notifier.join().unwrap();
    });
}
