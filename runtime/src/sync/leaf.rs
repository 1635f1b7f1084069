//! The cooperative budget for futures that filch wraps.

use crate::coop;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pin_project! {
    /// A wrapped crate's wait (a receive, a lock, a permit) made into a leaf of filch's cooperative
    /// budget: each poll spends a unit first, and the unit is kept only if the wait completes. So a
    /// task that loops over a resource that is always ready still gives its worker back once its
    /// budget is spent, as filch's sockets and timers make it do. `map` turns the wrapped crate's
    /// output into filch's own types.
    #[must_use = "futures do nothing unless awaited"]
    pub(crate) struct Leaf<F: Future, O> {
        #[pin]
        inner: F,
        map: fn(F::Output) -> O,
    }
}

impl<F: Future, O> Leaf<F, O> {
    pub(crate) fn new(inner: F, map: fn(F::Output) -> O) -> Leaf<F, O> {
        Leaf { inner, map }
    }
}

impl<F: Future, O> Leaf<F, O> {
    /// The wrapped future, for the methods that reach past the wait (a `try_recv`, a `close`).
    /// Only an unpinned (or `Unpin`) leaf gives it out, so no pinned future is moved.
    pub(crate) fn get_mut(&mut self) -> &mut F {
        &mut self.inner
    }
}

impl<F: Future> Leaf<F, F::Output> {
    pub(crate) fn plain(inner: F) -> Leaf<F, F::Output> {
        Leaf::new(inner, |out| out)
    }
}

impl<F: Future, O> Future for Leaf<F, O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.project();
        let progress = ready!(coop::poll_proceed(cx));
        let out = ready!(this.inner.poll(cx));
        progress.made_progress();
        Poll::Ready((this.map)(out))
    }
}

impl<F: Future, O> fmt::Debug for Leaf<F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf").finish_non_exhaustive()
    }
}
