//! A multi-producer, multi-consumer channel: `Sender`s and `Receiver`s are cloned freely, and each
//! message goes to exactly one receiver.
//!
//! filch's own channel (see `chan.rs` for the design and why async-channel was replaced): a queue
//! and two lists of waiting tasks behind one short lock. Every wait takes part in the cooperative
//! budget. It serves as tokio's `mpsc` too: a channel with one receiver.
//!
//! ```
//! filch::run(async {
//!     let (tx, rx) = filch::sync::mpmc::bounded(16);
//!     let producers: Vec<_> = (0..4)
//!         .map(|p| {
//!             let tx = tx.clone();
//!             filch::spawn(async move {
//!                 for i in 0..10 {
//!                     tx.send(p * 10 + i).await.unwrap();
//!                 }
//!             })
//!         })
//!         .collect();
//!     drop(tx); // the channel closes once every sender is gone
//!     let mut sum = 0;
//!     while let Ok(n) = rx.recv().await {
//!         sum += n;
//!     }
//!     filch::join_all(producers).await;
//!     assert_eq!(sum, (0..40).sum());
//! });
//! ```
//!
//! # Cancel safety
//!
//! [`Receiver::recv`] is cancel safe: a `recv` dropped before it completed (it lost a `select!`,
//! or a `timeout` fired) has taken no message. [`Sender::send`] is cancel safe in the same sense:
//! dropped before it completed, it has sent nothing (the message is dropped with the future).

use super::chan::{self, Chan, TryError};
use super::leaf::Leaf;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Creates a channel that holds at most `cap` messages; [`Sender::send`] waits while it is full.
///
/// # Panics
/// If `cap` is zero (a rendezvous channel is not offered; use a capacity of 1).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap > 0,
        "filch::sync::mpmc::bounded: the capacity must be at least 1"
    );
    with_capacity(cap)
}

/// Creates a channel with no limit: [`Sender::send`] never waits.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    with_capacity(usize::MAX)
}

fn with_capacity<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap, 1, 1));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending side of a channel. Cloning it adds a sender; the channel closes when the last
/// sender or the last receiver is dropped, or on [`close`](Sender::close).
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving side of a channel. Cloning it adds a receiver that competes for the same
/// messages.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting for room if the channel is bounded and full. Fails, handing `msg`
    /// back, if the channel is closed.
    pub fn send(&self, msg: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Leaf::new(chan::Send::new(&self.chan, msg), |r| r.map_err(SendError))
    }

    /// Sends `msg` if there is room now.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(msg).map_err(TrySendError::from_chan)
    }

    /// Closes the channel: receivers get the messages already in it, then [`RecvError`]; senders
    /// fail from now on. Returns false if it was already closed.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// The number of messages in the channel.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.chan.len() == 0
    }

    /// Whether a bounded channel is at its capacity (never true for an unbounded one).
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// The capacity, or `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting for one if the channel is empty. Fails once the channel
    /// is closed and empty. Cancel safe.
    pub fn recv(&self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Leaf::new(chan::Recv::new(&self.chan), |r| r.map_err(|()| RecvError))
    }

    /// Receives a message if one is there now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.chan.try_recv() {
            Ok(Some(msg)) => Ok(msg),
            Ok(None) => Err(TryRecvError::Empty),
            Err(()) => Err(TryRecvError::Closed),
        }
    }

    /// Closes the channel (see [`Sender::close`]).
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// The number of messages in the channel.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.chan.len() == 0
    }

    /// The capacity, or `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.chan.add_receiver();
        Receiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// [`Sender::send`] failed: the channel is closed. Holds the message that was not sent.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// [`Sender::try_send`] failed.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full; holds the message.
    Full(T),
    /// The channel is closed; holds the message.
    Closed(T),
}

impl<T> TrySendError<T> {
    pub(super) fn from_chan(e: TryError<T>) -> TrySendError<T> {
        match e {
            TryError::Full(m) => TrySendError::Full(m),
            TryError::Closed(m) => TrySendError::Closed(m),
        }
    }

    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(m) | TrySendError::Closed(m) => m,
        }
    }
}

/// [`Receiver::recv`] failed: the channel is closed and empty.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// [`Receiver::try_recv`] failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// No message now.
    Empty,
    /// The channel is closed and empty.
    Closed,
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending into a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending into a full channel"),
            TrySendError::Closed(_) => f.write_str("sending into a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving from a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving from an empty channel"),
            TryRecvError::Closed => f.write_str("receiving from a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}
