//! `Event`, `Notify` and `Condition`: waiting for a signal from another task.
//!
//! All three are written here, on [event-listener](https://docs.rs/event-listener) (the wait
//! lists of smol and async-lock): each is a flag or a permit next to an `event_listener::Event`.
//! The rule that makes them lose no wake-up is always the same: register the listener, check the
//! condition again, and only then wait.

use super::leaf::{self, Leaf};
use super::mutex::{Mutex, MutexGuard};
use event_listener::{Event as Listeners, IntoNotification};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that tasks can wait for (asyncio's `Event`): [`set`](Event::set) wakes every waiter,
/// and until [`clear`](Event::clear) later `wait`s return at once.
///
/// Cancel safe: a dropped `wait` changes nothing.
///
/// ```
/// use filch::sync::Event;
/// use std::sync::Arc;
///
/// filch::run(async {
///     let ready = Arc::new(Event::new());
///     let waiter = filch::spawn({
///         let ready = ready.clone();
///         async move {
///             ready.wait().await;
///             "went on"
///         }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "went on");
///     assert!(ready.is_set());
/// });
/// ```
pub struct Event {
    set: AtomicBool,
    listeners: Listeners,
}

impl Event {
    /// A new event, not set.
    pub const fn new() -> Event {
        Event {
            set: AtomicBool::new(false),
            listeners: Listeners::new(),
        }
    }

    /// Sets the flag and wakes every waiting task.
    pub fn set(&self) {
        if !self.set.swap(true, Ordering::AcqRel) {
            self.listeners.notify(usize::MAX);
        }
    }

    /// Clears the flag: later [`wait`](Event::wait)s wait for the next [`set`](Event::set).
    pub fn clear(&self) {
        self.set.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Waits until the flag is set; returns at once if it is (after spending a unit of the
    /// cooperative budget, so a loop over a set event still yields).
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        struct IsSet<'a>(&'a Event);
        impl leaf::Condition for IsSet<'_> {
            type Output = ();
            fn listeners(&self) -> &Listeners {
                &self.0.listeners
            }
            fn check(&mut self) -> Option<()> {
                self.0.is_set().then_some(())
            }
        }
        leaf::until(IsSet(self))
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

/// Wakes one waiting task, or all of them (tokio's `Notify`).
///
/// - [`notify_one`](Notify::notify_one) wakes one task waiting in [`notified`](Notify::notified);
///   if none is waiting, it leaves a permit (at most one) that the next `notified()` takes at
///   once. So a notification sent just before the other task starts waiting is not lost.
/// - [`notify_waiters`](Notify::notify_waiters) wakes every task waiting now, and leaves no permit.
///   "Waiting" means a `notified()` polled at least once: unlike tokio's, a `notified()` future
///   created but not yet polled does not count.
///
/// Cancel safe: a `notified()` dropped before it completed takes no permit; a notification it had
/// been sent passes on to another waiter.
///
/// ```
/// use filch::sync::Notify;
/// use std::sync::Arc;
///
/// filch::run(async {
///     let notify = Arc::new(Notify::new());
///     notify.notify_one(); // nobody waits yet: it leaves a permit
///     notify.notified().await; // taken at once
///     let waiter = filch::spawn({
///         let notify = notify.clone();
///         async move { notify.notified().await }
///     });
///     filch::yield_now().await;
///     notify.notify_one();
///     waiter.await.unwrap();
/// });
/// ```
pub struct Notify {
    permit: AtomicBool,
    /// Each wake is tagged: `true` from `notify_waiters` (go on), `false` from `notify_one`
    /// (go on only with the permit).
    listeners: Listeners<bool>,
}

impl Notify {
    /// A new `Notify` without a permit.
    pub const fn new() -> Notify {
        Notify {
            permit: AtomicBool::new(false),
            listeners: Listeners::with_tag(),
        }
    }

    /// Wakes one waiting task, or leaves a permit for the next one to wait.
    pub fn notify_one(&self) {
        // The permit first, then the wake: a waiter that registered before the permit was set is
        // woken and tries to take it; one that registers after finds it. Only the one that takes
        // the permit goes on: a woken waiter that finds it gone waits again.
        self.permit.store(true, Ordering::Release);
        self.listeners.notify(1.tag(false));
    }

    /// Wakes every task waiting now; leaves no permit.
    pub fn notify_waiters(&self) {
        self.listeners.notify(usize::MAX.tag(true));
    }

    /// Waits for a notification.
    pub async fn notified(&self) {
        // A unit of the budget even when a permit is there, so a loop that always finds one
        // still yields.
        leaf::spend().await;
        loop {
            if self.take_permit() {
                return;
            }
            let listener = self.listeners.listen();
            if self.take_permit() {
                // A wake this listener got meanwhile is passed on to another when it is dropped.
                return;
            }
            if Leaf::plain(listener).await {
                return;
            }
        }
    }

    fn take_permit(&self) -> bool {
        self.permit.load(Ordering::Relaxed) && self.permit.swap(false, Ordering::AcqRel)
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.load(Ordering::Relaxed))
            .finish()
    }
}

/// A condition variable for a [`Mutex`] (asyncio's `Condition`): a task holding the lock waits
/// for another to change the guarded state and notify.
///
/// Unlike asyncio's, a `Condition` does not own its lock: [`wait`](Condition::wait) takes the
/// guard of any filch `Mutex` and gives it back, locked again, once notified. As with every
/// condition variable, wake-ups may be spurious: check the state again in a loop, or use
/// [`wait_while`](Condition::wait_while).
///
/// Cancel safe in this sense: a `wait` dropped before it completed has released the lock and does
/// not hold it.
///
/// ```
/// use filch::sync::{Condition, Mutex};
/// use std::sync::Arc;
///
/// filch::run(async {
///     let state = Arc::new((Mutex::new(Vec::new()), Condition::new()));
///     let consumer = filch::spawn({
///         let state = state.clone();
///         async move {
///             let (items, cond) = &*state;
///             let mut items = cond.wait_while(items.lock().await, |v| v.len() < 3).await;
///             items.drain(..).sum::<u32>()
///         }
///     });
///     for i in 1..=3 {
///         state.0.lock().await.push(i);
///         state.1.notify_all();
///     }
///     assert_eq!(consumer.await.unwrap(), 6);
/// });
/// ```
pub struct Condition {
    listeners: Listeners,
}

impl Condition {
    /// A new condition variable.
    pub const fn new() -> Condition {
        Condition {
            listeners: Listeners::new(),
        }
    }

    /// Releases `guard`'s lock, waits for a notification, and locks again.
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = Mutex::of(&guard);
        // Listen before unlocking: a notification sent once the lock is free is not lost.
        let listener = self.listeners.listen();
        drop(guard.into_inner());
        Leaf::plain(listener).await;
        mutex.lock().await
    }

    /// Waits, as [`wait`](Condition::wait) does, for as long as `condition` holds for the guarded
    /// value; returns the guard once it does not.
    pub async fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes one waiting task.
    pub fn notify_one(&self) {
        self.listeners.notify(1);
    }

    /// Wakes `n` waiting tasks.
    pub fn notify(&self, n: usize) {
        self.listeners.notify(n);
    }

    /// Wakes every waiting task.
    pub fn notify_all(&self) {
        self.listeners.notify(usize::MAX);
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Condition")
    }
}
