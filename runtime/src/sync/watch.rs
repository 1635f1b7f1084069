//! A value that one task updates and many tasks watch (tokio's `watch`): receivers see the latest
//! value, not every one sent, and can wait for the next change.
//!
//! Written here, in the way of tokio's: the value sits under a std `RwLock`, next to a version
//! counter and an `event_listener::Event` that is notified after each change.
//!
//! - **The version word** holds the version in its upper bits and `CLOSED` in its lowest bit. A
//!   change adds 2 *while the write lock is held*, so a receiver that reads the version under the
//!   read lock knows exactly which version it is looking at. Dropping the [`Sender`] sets
//!   `CLOSED`, once; the version never changes after that.
//! - **Each receiver** keeps the version it has seen. [`Receiver::changed`] returns once the word
//!   holds a newer one (and marks it seen), or fails once `CLOSED` is set and nothing newer is
//!   left to see. It registers a listener before it checks the word a second time, and the sender
//!   notifies only after the change is visible, so no change is missed.
//! - **The receiver count** is kept for [`Sender::send`] (which fails with no receiver) and
//!   [`Sender::closed`], whose own event is notified when the count drops to zero.
//!
//! No user code runs while the lock is held but the closure of [`Sender::send_modify`] and what
//! the holder of a [`Ref`] does; a panic there leaves a value that is still whole, so the lock
//! ignores poisoning. As with tokio's, do not hold a [`Ref`] across an `.await`: the sender waits
//! for it to write.
//!
//! ```
//! use filch::sync::watch;
//!
//! filch::run(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let watcher = filch::spawn(async move {
//!         let mut seen = Vec::new();
//!         while rx.changed().await.is_ok() {
//!             let state = *rx.borrow_and_update();
//!             seen.push(state);
//!             if state == "stopped" {
//!                 break;
//!             }
//!         }
//!         seen
//!     });
//!     tx.send_replace("running");
//!     filch::sleep(std::time::Duration::from_millis(10)).await;
//!     tx.send_replace("stopped");
//!     let seen = watcher.await.unwrap();
//!     assert_eq!(seen.last(), Some(&"stopped")); // "running" may have been skipped
//! });
//! ```
//!
//! # Cancel safety
//!
//! [`Receiver::changed`] is cancel safe: dropped before it completed, it has marked nothing seen,
//! so the next `changed` still sees the change. [`Receiver::wait_for`] marks the versions it
//! looked at seen, as tokio's does; what it waits for is checked again by the next call, so
//! nothing is missed either. [`Sender::closed`] can be dropped at any time.

use super::leaf::{self, Condition, Leaf};
use event_listener::Event as Listeners;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

/// The lowest bit of the version word: the sender is gone. Set once, by `Sender::drop`; never
/// cleared.
const CLOSED: usize = 1;
/// What a change adds to the version word (the version lives above `CLOSED`).
const STEP: usize = 2;

/// Creates a channel holding `init`. The receiver counts `init` as seen: its first
/// [`changed`](Receiver::changed) waits for a change.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicUsize::new(0),
        receivers: AtomicUsize::new(1),
        changed: Listeners::new(),
        receivers_gone: Listeners::new(),
    });
    let rx = Receiver {
        shared: shared.clone(),
        seen: 0,
    };
    (Sender { shared }, rx)
}

struct Shared<T> {
    value: RwLock<T>,
    /// The version word: see the module doc. Changed by the sender only: `+STEP` under the write
    /// lock, `|CLOSED` on drop.
    version: AtomicUsize,
    /// Live receivers.
    receivers: AtomicUsize,
    /// Notified after each change of the version word.
    changed: Listeners,
    /// Notified when `receivers` drops to zero.
    receivers_gone: Listeners,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `modify` on the value under the write lock; if it returns true, a new version is
    /// published and the receivers are woken.
    fn modify<R>(&self, modify: impl FnOnce(&mut T) -> (bool, R)) -> R {
        let (changed, out) = {
            let mut value = self.value.write().unwrap_or_else(PoisonError::into_inner);
            let (changed, out) = modify(&mut value);
            if changed {
                // Under the lock: a reader that holds the read lock reads the version of the
                // value it sees. Release: pairs with the Acquire of `version()`, for the readers
                // that check the word without the lock.
                self.version.fetch_add(STEP, Ordering::Release);
            }
            (changed, out)
        };
        if changed {
            self.changed.notify(usize::MAX);
        }
        out
    }

    /// Acquire: pairs with the Release of `modify` and of `Sender::drop`.
    fn version(&self) -> usize {
        self.version.load(Ordering::Acquire)
    }
}

/// The sending side: it replaces or changes the value and wakes the receivers. Dropping it closes
/// the channel.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving side: it reads the latest value and waits for changes. Cloning it gives a receiver
/// that has seen what this one has seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version word when this receiver last marked the value seen (`CLOSED` masked off).
    seen: usize,
}

/// A read guard of the value, from [`Receiver::borrow`], [`Receiver::borrow_and_update`],
/// [`Receiver::wait_for`] or [`Sender::borrow`]. The sender cannot change the value while it is
/// held: do not hold it across an `.await`.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value had not been marked seen by the receiver when it was borrowed (always
    /// false from [`Sender::borrow`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> Sender<T> {
    /// Replaces the value and wakes the receivers. Fails, handing `value` back and changing
    /// nothing, if there is no receiver; use [`send_replace`](Sender::send_replace) to store it
    /// anyway.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value, whether or not a receiver is there, wakes the receivers, and returns
    /// the old value.
    pub fn send_replace(&self, value: T) -> T {
        self.shared
            .modify(|slot| (true, std::mem::replace(slot, value)))
    }

    /// Changes the value in place with `modify` and wakes the receivers, whether or not one is
    /// there. If `modify` panics, the change so far stays, no receiver is woken and the panic
    /// goes on.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.shared.modify(|value| {
            modify(value);
            (true, ())
        });
    }

    /// Changes the value in place with `modify`, and wakes the receivers only if it returns true
    /// (it says it changed the value). Returns what `modify` returned.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.modify(|value| {
            let changed = modify(value);
            (changed, changed)
        })
    }

    /// Borrows the latest value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver, which counts the latest value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            seen: self.shared.version() & !CLOSED,
            shared: self.shared.clone(),
        }
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::Acquire)
    }

    /// Waits until every receiver is dropped; returns at once if none is left. Cancel safe.
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        leaf::until(NoReceiver(&self.shared))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire of `Shared::version`.
        self.shared.version.fetch_or(CLOSED, Ordering::Release);
        self.shared.changed.notify(usize::MAX);
    }
}

impl<T> Receiver<T> {
    /// Borrows the latest value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        // Read under the read lock: the version of the value in `guard`.
        let version = self.shared.version() & !CLOSED;
        Ref {
            guard,
            has_changed: version != self.seen,
        }
    }

    /// Borrows the latest value and marks it seen: [`changed`](Receiver::changed) then waits for
    /// the next change.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.version() & !CLOSED;
        let has_changed = version != self.seen;
        self.seen = version;
        Ref { guard, has_changed }
    }

    /// Whether the value changed since this receiver last marked it seen. Fails once the sender
    /// is dropped, whether or not the last value was seen (as tokio's does; `changed` still
    /// returns that value's change first).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let version = self.shared.version();
        if version & CLOSED != 0 {
            return Err(RecvError);
        }
        Ok(version != self.seen)
    }

    /// Marks the latest value seen without borrowing it.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version() & !CLOSED;
    }

    /// Waits for a value this receiver has not seen, and marks it seen (borrow it with
    /// [`borrow`](Receiver::borrow) or [`borrow_and_update`](Receiver::borrow_and_update)).
    /// Returns at once if there is one already. Fails once the sender is dropped and the latest
    /// value was seen. Cancel safe.
    pub fn changed(&mut self) -> impl Future<Output = Result<(), RecvError>> + '_ {
        leaf::until(Changed {
            shared: &self.shared,
            seen: &mut self.seen,
        })
    }

    /// Waits until `ready` holds for the value, checking the latest value first, then each new
    /// one; returns the value (marked seen) under a read guard. Fails if the sender is dropped
    /// before a value that `ready` accepts came (the last value is checked first).
    ///
    /// Cancel safe in the sense of the [module doc](self#cancel-safety).
    ///
    /// ```
    /// use filch::sync::watch;
    ///
    /// filch::run(async {
    ///     let (tx, mut rx) = watch::channel(0u32);
    ///     let counter = filch::spawn(async move {
    ///         for n in 1..=10 {
    ///             tx.send_replace(n);
    ///             filch::yield_now().await;
    ///         }
    ///     });
    ///     let at_least_5 = *rx.wait_for(|n| *n >= 5).await.unwrap();
    ///     assert!(at_least_5 >= 5);
    ///     counter.await.unwrap();
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut ready: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // A unit of the budget even when the first check succeeds: a loop of `wait_for`s on a
        // value that is always ready still yields.
        Leaf::plain(std::future::ready(())).await;
        // Disjoint borrows: the returned guard borrows `shared` while the loop updates `seen`.
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.seen;
        let mut closed = false;
        loop {
            {
                let guard = shared.read();
                let version = shared.version() & !CLOSED;
                let has_changed = version != *seen;
                *seen = version;
                // Once closed, only a version not looked at yet is worth checking.
                if (!closed || has_changed) && ready(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
            }
            if closed {
                return Err(RecvError);
            }
            let changed = Changed {
                shared,
                seen: &mut *seen,
            };
            closed = leaf::until(changed).await.is_err();
        }
    }

    /// Whether the sender is dropped.
    pub fn is_closed(&self) -> bool {
        self.shared.version() & CLOSED != 0
    }

    /// Whether `self` and `other` watch the same value.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // AcqRel: the last receiver's drop is seen by `receiver_count`'s Acquire before
        // `receivers_gone` wakes anyone.
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.receivers_gone.notify(usize::MAX);
        }
    }
}

/// The condition of [`Receiver::changed`].
struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut usize,
}

impl<T> Condition for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn listeners(&self) -> &Listeners {
        &self.shared.changed
    }

    fn check(&mut self) -> Option<Result<(), RecvError>> {
        let word = self.shared.version();
        let version = word & !CLOSED;
        if version != *self.seen {
            *self.seen = version;
            Some(Ok(()))
        } else if word & CLOSED != 0 {
            Some(Err(RecvError))
        } else {
            None
        }
    }
}

/// The condition of [`Sender::closed`].
struct NoReceiver<'a, T>(&'a Shared<T>);

impl<T> Condition for NoReceiver<'_, T> {
    type Output = ();

    fn listeners(&self) -> &Listeners {
        &self.0.receivers_gone
    }

    fn check(&mut self) -> Option<()> {
        (self.0.receivers.load(Ordering::Acquire) == 0).then_some(())
    }
}

// Without the value: formatting must not take the lock, which the formatting task may hold.
impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("receivers", &self.receiver_count())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("has_changed", &self.has_changed().ok())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// [`Sender::send`] failed: there is no receiver. Holds the value that was not stored.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// [`Receiver::changed`], [`Receiver::has_changed`] or [`Receiver::wait_for`] failed: the sender
/// is dropped.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a watch channel with no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the watch sender was dropped")
    }
}

impl std::error::Error for RecvError {}
