//! A channel for one value: one task sends it, one task waits for it (tokio's `oneshot`).
//!
//! Built on the oneshot channel of [futures-channel](https://docs.rs/futures-channel)
//! (futures-rs: a value slot, a flag and two waker slots, with no runtime of its own), wrapped so
//! that the wait takes part in filch's cooperative budget and the errors are filch's types.
//!
//! The [`Receiver`] is itself the future: `rx.await` gives the value, or [`RecvError`] if the
//! [`Sender`] was dropped without sending.
//!
//! ```
//! use filch::sync::oneshot;
//!
//! filch::run(async {
//!     let (tx, rx) = oneshot::channel();
//!     let worker = filch::spawn(async move {
//!         let answer = 6 * 7; // stand-in for real work
//!         tx.send(answer).unwrap();
//!     });
//!     assert_eq!(rx.await, Ok(42));
//!     worker.await.unwrap();
//!
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     drop(tx); // dropped without sending
//!     assert_eq!(rx.await, Err(oneshot::RecvError));
//! });
//! ```
//!
//! # Cancel safety
//!
//! Awaiting the [`Receiver`] is cancel safe in this sense: `&mut rx` can lose a `select!` and be
//! awaited again, and the value, if it came meanwhile, is still there. Dropping the `Receiver`
//! itself drops the value (if one was sent) and makes later sends fail.
//! [`Sender::closed`] is cancel safe: dropped before it completed, it changes nothing.

use super::leaf::Leaf;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Creates a channel for one value.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = futures_channel::oneshot::channel();
    (
        Sender { inner: tx },
        Receiver {
            inner: Leaf::new(rx, |r| r.map_err(|_| RecvError)),
        },
    )
}

/// The sending side: [`send`](Sender::send) consumes it. Dropping it without sending makes the
/// receiver fail with [`RecvError`].
pub struct Sender<T> {
    inner: futures_channel::oneshot::Sender<T>,
}

/// The receiving side, and the future of the value: `rx.await` returns it, or [`RecvError`] if
/// the sender was dropped without sending.
///
/// Each poll is a leaf of filch's cooperative budget. Awaited again after it completed, it
/// returns `Err(RecvError)` (tokio's panics).
pub struct Receiver<T> {
    inner: Leaf<futures_channel::oneshot::Receiver<T>, Result<T, RecvError>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver. Fails, handing `value` back, if the receiver was
    /// dropped or [closed](Receiver::close).
    pub fn send(self, value: T) -> Result<(), T> {
        self.inner.send(value)
    }

    /// Whether the receiver was dropped or [closed](Receiver::close): a
    /// [`send`](Sender::send) would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.is_canceled()
    }

    /// Waits until the receiver is dropped or [closed](Receiver::close): the value is no longer
    /// wanted, and the work that would compute it can stop. Cancel safe.
    ///
    /// ```
    /// use filch::sync::oneshot;
    ///
    /// filch::run(async {
    ///     let (mut tx, rx) = oneshot::channel::<u32>();
    ///     let worker = filch::spawn(async move {
    ///         filch::select! {
    ///             _ = tx.closed() => "abandoned",
    ///             _ = filch::sleep(std::time::Duration::from_secs(60)) => "finished",
    ///         }
    ///     });
    ///     drop(rx);
    ///     assert_eq!(worker.await.unwrap(), "abandoned");
    /// });
    /// ```
    pub fn closed(&mut self) -> impl Future<Output = ()> + '_ {
        Leaf::plain(self.inner.cancellation())
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent. [`TryRecvError::Empty`]: not yet sent, and the sender is
    /// still there; [`TryRecvError::Closed`]: the sender was dropped without sending, the
    /// receiver was [closed](Receiver::close) before a value came, or the value was already taken.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.get_mut().try_recv() {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(TryRecvError::Empty),
            Err(_) => Err(TryRecvError::Closed),
        }
    }

    /// Closes the channel without dropping the receiver: a later [`send`](Sender::send) fails,
    /// and [`Sender::closed`] returns. A value sent before is still there: take it with
    /// [`try_recv`](Receiver::try_recv) or by awaiting.
    pub fn close(&mut self) {
        self.inner.get_mut().close();
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // The wrapped receiver is `Unpin`, so the leaf is.
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Awaiting the [`Receiver`] failed: the sender was dropped without sending (or the value was
/// already taken).
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// [`Receiver::try_recv`] found no value.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Not sent yet; the sender is still there.
    Empty,
    /// No value will come: the sender was dropped without sending, the receiver was closed, or
    /// the value was already taken.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value sent on the oneshot channel yet"),
            TryRecvError::Closed => f.write_str("the oneshot channel is closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}
