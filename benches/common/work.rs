//! Runtime-neutral pieces of work that several benches share, so that every runtime runs the
//! very same code. Not every bench that includes this file uses every piece.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Pending once (after waking itself), then ready with its value: a future that needs exactly
/// one wake-up, the same on every runtime.
pub(crate) struct YieldOnce(Option<usize>, bool);

pub(crate) fn yield_once(value: usize) -> YieldOnce {
    YieldOnce(Some(value), false)
}

impl Future for YieldOnce {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if std::mem::replace(&mut self.1, true) {
            Poll::Ready(self.0.take().expect("polled after completion"))
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `n` deterministic pseudo-random durations below 10 ms (xorshift), the same on every run.
pub(crate) fn durations(n: usize) -> Vec<Duration> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(x % 10_000)
        })
        .collect()
}
