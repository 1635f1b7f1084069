//! The cooperative budget for futures that filch wraps, and the wait loop of the primitives
//! written here.
//!
//! - [`Leaf`] makes any wait a leaf of the budget.
//! - [`Until`] is the listen-then-recheck loop that every primitive written on event-listener
//!   needs, as a future: check the condition; if it does not hold, register a listener, check
//!   again, and only then wait. A notification sent between the two checks wakes the listener, so
//!   none is lost. [`until`] wraps it in a [`Leaf`], so the check costs a unit of the budget even
//!   when the condition already holds: a task looping over a watch that always changed, or a
//!   token already cancelled, still gives its worker back.

use crate::coop;
use event_listener::{Event as Listeners, EventListener};
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

/// What a primitive written here waits for: a condition, and the wait list that is notified
/// whenever the condition may have come to hold.
pub(crate) trait Condition {
    /// What the wait returns once the condition holds.
    type Output;

    /// The wait list notified after every change that can make [`check`](Condition::check)
    /// succeed. The change must be visible before the notification is sent.
    fn listeners(&self) -> &Listeners;

    /// `Some` once the condition holds. It may take something (mark a version seen) only when it
    /// returns `Some`, so a wait dropped before it completed has taken nothing.
    fn check(&mut self) -> Option<Self::Output>;
}

/// Waits until `cond` holds; see the module doc. A leaf of the budget.
pub(crate) fn until<C: Condition + Unpin>(cond: C) -> Leaf<Until<C>, C::Output> {
    Leaf::plain(Until {
        cond,
        listener: None,
    })
}

/// The future of [`until`], before the budget.
pub(crate) struct Until<C> {
    cond: C,
    /// Registered after a failed check; polled only after a second check failed too.
    listener: Option<EventListener>,
}

impl<C: Condition + Unpin> Future for Until<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let this = self.get_mut();
        loop {
            if let Some(out) = this.cond.check() {
                // A notification this listener took is passed on to another when it is dropped.
                this.listener = None;
                return Poll::Ready(out);
            }
            match &mut this.listener {
                None => this.listener = Some(this.cond.listeners().listen()),
                Some(listener) => {
                    ready!(Pin::new(listener).poll(cx));
                    this.listener = None;
                }
            }
        }
    }
}

impl<C> fmt::Debug for Until<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Until")
            .field("listening", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}
