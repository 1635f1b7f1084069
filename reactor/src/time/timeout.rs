//! `timeout`: a deadline for any future — asyncio's `wait_for` / `asyncio.timeout`.

use super::sleep::{deadline_after, sleep_until, Sleep};
use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `future` for at most `duration`: `Ok(output)` if it completes in time, `Err(Elapsed)` if
/// not. On timeout the inner future is dropped right away (its destructors run before the error
/// is returned), which is how its work is cancelled.
///
/// Cancel-safe in `select!` exactly when the inner future is (the timer itself loses nothing).
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     let quick = filch::timeout(Duration::from_secs(1), async { 7 }).await;
///     assert_eq!(quick, Ok(7));
///     let slow = filch::timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
///     assert!(slow.is_err());
/// });
/// ```
///
/// Cancel-safe in `select!` exactly when the inner future is.
///
/// # Panics
/// Outside a filch runtime.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    timeout_at(
        deadline_after(super::now_for("filch::timeout"), duration),
        future,
    )
}

/// As [`timeout`], with a deadline instead of a duration.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: Some(future.into_future()),
        sleep: sleep_until(deadline),
    }
}

/// The future of [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    /// `None` once the deadline passed and the future was dropped.
    ///
    /// # Invariant
    /// Structurally pinned: never moved out of while `Some`, only dropped in place.
    future: Option<F>,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out, see the field), and `sleep` is
        // `Unpin`; nothing else of `self` is moved.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(Err(Elapsed(())));
        };
        // SAFETY: the future stays in place inside the pinned `Timeout` until dropped in place.
        let future = unsafe { Pin::new_unchecked(future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // The deadline is checked outside the cooperative budget: a future that stays ready
        // spends the whole budget every poll, and a budgeted check would then be refused every
        // time, so the timeout would never fire (regression; tokio's
        // `timeout_is_not_exhausted_by_future`).
        match crate::coop::unconstrained(|| Pin::new(&mut this.sleep).poll(cx)) {
            Poll::Ready(()) => {
                // Dropped in place (assigning `None` runs the destructor where it lies).
                this.future = None;
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .field("elapsed", &self.future.is_none())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
