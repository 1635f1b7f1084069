//! Loom model of `join_all`'s per-child wake queue: children woken from other threads while the
//! parent polls them, in every interleaving, are all polled again: no wake-up is lost, and the
//! parent returns once every child is done (a lost wake-up shows as a loom deadlock).
//! Run with `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib loom_tests`.

use super::join_all::join_all;
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A one-shot signal: the child future is ready once `send` has run.
#[derive(Default)]
struct Signal {
    sent: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn send(&self) {
        self.sent.store(true, SeqCst);
        let waker = lock(&self.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Recv(Arc<Signal>);

impl Future for Recv {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.sent.load(SeqCst) {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        let old = lock(&self.0.waker).replace(waker);
        drop(old);
        if self.0.sent.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Two children, each woken from its own thread while the parent polls.
#[test]
fn children_woken_from_other_threads_are_all_polled_again() {
    check(|| {
        let signals: Vec<Arc<Signal>> = (0..2).map(|_| Arc::new(Signal::default())).collect();
        let senders: Vec<_> = signals
            .iter()
            .map(|s| {
                let s = s.clone();
                thread::spawn(move || s.send())
            })
            .collect();
        let all = join_all(signals.iter().map(|s| Recv(s.clone())));
        let outputs = loom::future::block_on(all);
        assert_eq!(outputs.len(), 2);
        for t in senders {
            t.join().unwrap();
        }
    });
}

/// One child woken twice (from two threads) while another finishes: the double wake queues the
/// child once, and nothing is lost.
#[test]
fn a_child_woken_twice_is_queued_once_and_polled_again() {
    check(|| {
        let first = Arc::new(Signal::default());
        let second = Arc::new(Signal::default());
        let a = {
            let first = first.clone();
            thread::spawn(move || first.send())
        };
        let b = {
            let first = first.clone();
            let second = second.clone();
            thread::spawn(move || {
                first.send();
                second.send();
            })
        };
        let all = join_all([Recv(first.clone()), Recv(second.clone())]);
        assert_eq!(loom::future::block_on(all).len(), 2);
        a.join().unwrap();
        b.join().unwrap();
    });
}
