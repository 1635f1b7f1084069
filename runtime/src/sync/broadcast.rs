//! A channel whose every receiver gets every message (tokio's `broadcast`): for events many tasks
//! must all see. Senders never wait; a receiver that falls too far behind loses the oldest
//! messages and is told how many.
//!
//! Built on [async-broadcast](https://docs.rs/async-broadcast) (smol-rs: a queue under a mutex,
//! where each message counts the receivers yet to read it, and `event-listener` wake-ups), wrapped
//! so that every wait takes part in filch's cooperative budget and the errors are filch's types.
//! It is set up to behave as tokio's:
//!
//! - **Overflow mode is on**: a send into a full channel drops the oldest message instead of
//!   waiting, and a receiver that had not read it gets [`RecvError::Lagged`] with the count it
//!   missed, then goes on from the oldest message kept.
//! - **Each sender keeps an inactive receiver** (async-broadcast's `InactiveReceiver`: it holds the
//!   channel open but receives nothing and holds no message back). Without it async-broadcast
//!   closes the channel for good when the last receiver is dropped; with it, as in tokio, a send
//!   with no receiver fails with [`SendError`] and the channel stays usable: a later
//!   [`subscribe`](Sender::subscribe) gets the messages sent after it.
//!
//! Differences from tokio's:
//!
//! - The channel keeps exactly `cap` messages; tokio's rounds `cap` up to a power of two, so its
//!   receivers lag a little later.
//! - [`Sender::send`] returns `Ok(())`, not the number of receivers (async-broadcast does not
//!   report it); [`Sender::receiver_count`] gives a snapshot.
//! - A message is dropped as soon as every receiver has read it (tokio's stay in their slot until
//!   overwritten).
//! - A panic in `T::clone` (each receiver gets a clone) happens under async-broadcast's lock and
//!   poisons it: every later use of the channel panics. Use a `T` whose clone cannot panic (an
//!   `Arc`, a small `Copy` value), as one would for any broadcast.
//!
//! ```
//! use filch::sync::broadcast;
//!
//! filch::run(async {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     let listeners: Vec<_> = [rx1.resubscribe(), rx2.resubscribe()]
//!         .into_iter()
//!         .map(|mut rx| filch::spawn(async move {
//!             let mut sum = 0;
//!             while let Ok(n) = rx.recv().await {
//!                 sum += n;
//!             }
//!             sum // the channel closed: every sender is gone and all was read
//!         }))
//!         .collect();
//!     for n in 1..=10 {
//!         tx.send(n).unwrap();
//!     }
//!     assert_eq!(rx1.recv().await, Ok(1));
//!     assert_eq!(rx2.recv().await, Ok(1));
//!     drop(tx);
//!     for sum in filch::join_all(listeners).await {
//!         assert_eq!(sum.unwrap(), 55);
//!     }
//! });
//! ```
//!
//! # Cancel safety
//!
//! [`Receiver::recv`] is cancel safe: dropped before it completed, it has taken nothing, and the
//! next `recv` gets the message it would have got. Sending never waits.

use super::leaf::Leaf;
use std::fmt;
use std::future::Future;

/// Creates a channel that keeps at most `cap` messages a receiver has not read yet.
///
/// # Panics
/// If `cap` is zero.
pub fn channel<T: Clone>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap > 0,
        "filch::sync::broadcast::channel: the capacity must be at least 1"
    );
    let (mut tx, rx) = async_broadcast::broadcast(cap);
    tx.set_overflow(true);
    let keep = rx.new_receiver().deactivate();
    (Sender { inner: tx, keep }, Receiver { inner: rx })
}

/// The sending side. Cloning it adds a sender; once every sender is dropped, receivers get what
/// is left, then [`RecvError::Closed`].
pub struct Sender<T> {
    inner: async_broadcast::Sender<T>,
    /// Holds the channel open while no receiver is there (see the module doc).
    keep: async_broadcast::InactiveReceiver<T>,
}

/// A receiving side: it gets every message sent after it was made, in order. Make more with
/// [`Sender::subscribe`] or [`Receiver::resubscribe`].
pub struct Receiver<T> {
    inner: async_broadcast::Receiver<T>,
}

impl<T: Clone> Sender<T> {
    /// Sends `msg` to every receiver there is now, without waiting: if the channel is full, the
    /// oldest message is dropped (receivers that had not read it will get
    /// [`RecvError::Lagged`]). Fails, handing `msg` back, if there is no receiver.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        match self.inner.try_broadcast(msg) {
            // `Some(oldest)` when the channel was full: dropped here, as tokio overwrites it.
            Ok(_) => Ok(()),
            Err(async_broadcast::TrySendError::Inactive(msg)) => Err(SendError(msg)),
            // No receiver closes it (none is given `close`); a sender keeps it open.
            Err(async_broadcast::TrySendError::Closed(msg)) => Err(SendError(msg)),
            Err(async_broadcast::TrySendError::Full(_)) => {
                unreachable!("a broadcast channel in overflow mode is never full")
            }
        }
    }
}

impl<T> Sender<T> {
    /// A new receiver, which gets the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.keep.activate_cloned(),
        }
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }

    /// The number of messages some receiver has not read yet.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every receiver has read every message.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next message, waiting for one if this receiver has read them all.
    /// [`RecvError::Lagged`]: messages were dropped before this receiver read them; the next
    /// `recv` gets the oldest one kept. [`RecvError::Closed`]: every sender is gone and this
    /// receiver has read everything. Cancel safe.
    pub fn recv(&mut self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Leaf::new(self.inner.recv_direct(), |r| {
            r.map_err(|e| match e {
                async_broadcast::RecvError::Overflowed(n) => RecvError::Lagged(n),
                async_broadcast::RecvError::Closed => RecvError::Closed,
            })
        })
    }

    /// Receives the next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|e| match e {
            async_broadcast::TryRecvError::Overflowed(n) => TryRecvError::Lagged(n),
            async_broadcast::TryRecvError::Empty => TryRecvError::Empty,
            async_broadcast::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    /// A new receiver of the same channel, which gets the messages sent from now on (not the ones
    /// this receiver has yet to read).
    pub fn resubscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.new_receiver(),
        }
    }
}

impl<T> Receiver<T> {
    /// Whether every sender is gone (messages may still be left to read).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender {
            inner: self.inner.clone(),
            keep: self.keep.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.inner.capacity())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// [`Sender::send`] failed: there is no receiver. Holds the message that was not sent.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// [`Receiver::recv`] failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvError {
    /// Every sender is gone and this receiver has read everything.
    Closed,
    /// This receiver fell more than the capacity behind: this many messages were dropped before
    /// it read them. The next `recv` gets the oldest message kept.
    Lagged(u64),
}

/// [`Receiver::try_recv`] failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// No message now.
    Empty,
    /// Every sender is gone and this receiver has read everything.
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcasting with no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("the broadcast channel is closed and all was read"),
            RecvError::Lagged(n) => write!(f, "the receiver lagged and missed {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no broadcast message now"),
            TryRecvError::Closed => f.write_str("the broadcast channel is closed and all was read"),
            TryRecvError::Lagged(n) => write!(f, "the receiver lagged and missed {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}
