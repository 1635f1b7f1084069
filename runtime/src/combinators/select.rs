//! `select` (two futures, the loser handed back) and `race` (many like futures, losers dropped).

use super::join_all::Gather;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// One of two values: which side of a [`select`] finished first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<L, R> {
    /// The first future finished first.
    Left(L),
    /// The second future finished first.
    Right(R),
}

/// Waits for the first of two futures and hands back the other one, still usable: `Left((output
/// of a, b))` or `Right((output of b, a))`. `a` is polled first on every poll (for a random start
/// and more than two branches, see [`select!`](crate::select!)).
///
/// Cancel-safe exactly when both futures are: dropping the `Select` drops both.
///
/// ```
/// use filch::Either;
/// use std::time::Duration;
///
/// filch::run(async {
///     let slow = Box::pin(filch::sleep(Duration::from_secs(60)));
///     let quick = Box::pin(async { 5 });
///     match filch::select(slow, quick).await {
///         Either::Right((five, _slow_still_pending)) => assert_eq!(five, 5),
///         Either::Left(_) => unreachable!(),
///     }
/// });
/// ```
pub fn select<A, B>(a: A, b: B) -> Select<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Select {
        inner: Some((a, b)),
    }
}

/// The future of [`select`].
#[must_use = "futures do nothing unless awaited"]
pub struct Select<A, B> {
    inner: Option<(A, B)>,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Select<A, B> {
    type Output = Either<(A::Output, B), (B::Output, A)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (a, b) = self
            .inner
            .as_mut()
            .expect("Select polled after it completed");
        if let Poll::Ready(out) = Pin::new(a).poll(cx) {
            let (_, b) = self.inner.take().expect("checked above");
            return Poll::Ready(Either::Left((out, b)));
        }
        if let Poll::Ready(out) = Pin::new(b).poll(cx) {
            let (a, _) = self.inner.take().expect("checked above");
            return Poll::Ready(Either::Right((out, a)));
        }
        Poll::Pending
    }
}

impl<A, B> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("done", &self.inner.is_none())
            .finish()
    }
}

/// The output of whichever future of `iter` finishes first; the others are dropped at once —
/// asyncio's `wait(..., return_when=FIRST_COMPLETED)` when only the winner matters. Children are
/// polled only when woken, as in [`join_all`](crate::join_all).
///
/// Cancel-safe exactly when every child is: dropping a `Race` drops every child.
///
/// # Panics
/// When awaited with no futures at all (there would be no winner).
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     let winner = filch::race((1..=3u64).map(|i| async move {
///         filch::sleep(Duration::from_millis(10 * i)).await;
///         i
///     }))
///     .await;
///     assert_eq!(winner, 1);
/// });
/// ```
pub fn race<I>(iter: I) -> Race<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    Race {
        inner: Gather::new(iter.into_iter().map(IntoFuture::into_future).collect()),
    }
}

/// The future of [`race`].
#[must_use = "futures do nothing unless awaited"]
pub struct Race<F: Future> {
    inner: Gather<F>,
}

impl<F: Future> Future for Race<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.inner.poll_children(cx, |_| true) {
            Poll::Ready(()) => Poll::Ready(
                self.inner
                    .take_outputs()
                    .pop()
                    .expect("filch::race needs at least one future"),
            ),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> fmt::Debug for Race<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt("Race", f)
    }
}
