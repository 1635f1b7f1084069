//! `Event`, `Notify` and `Condition`: waiting for a signal from another task.
//!
//! All three are written here. `Event` and `Condition` are a word or nothing next to an
//! [event-listener](https://docs.rs/event-listener) wait list (the one smol and async-lock use),
//! with the rule that makes them lose no wake-up: register the listener, check the condition
//! again, and only then wait. `Notify` keeps its waiters in a list of its own behind a lock,
//! because whether a `notify_one` wakes a waiter or leaves the permit must be decided in one step
//! (on a shared wait list, two quick `notify_one`s woke one waiter: found by review).

use super::leaf::{self, Leaf};
use super::mutex::{Mutex as AsyncMutex, MutexGuard};
use crate::coop;
use crate::loom::lock;
use crate::loom::sync::{Mutex, MutexGuard as StateGuard};
use event_listener::{Event as Listeners, IntoNotification};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{ready, Context, Poll, Waker};

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
    /// Bit 0: set. Above: how many times it has been set, so that a waiter woken by a `set`
    /// that a `clear` followed at once still returns, as in asyncio.
    state: AtomicUsize,
    listeners: Listeners,
}

const SET: usize = 1;

impl Event {
    /// A new event, not set.
    pub const fn new() -> Event {
        Event {
            state: AtomicUsize::new(0),
            listeners: Listeners::new(),
        }
    }

    /// Sets the flag and wakes every waiting task.
    pub fn set(&self) {
        let mut curr = self.state.load(Ordering::Acquire);
        loop {
            if curr & SET != 0 {
                return;
            }
            // One more time set (the count moves by 2), and the flag.
            let next = curr.wrapping_add(2) | SET;
            match self
                .state
                .compare_exchange_weak(curr, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => curr = actual,
            }
        }
        self.listeners.notify(usize::MAX);
    }

    /// Clears the flag: later [`wait`](Event::wait)s wait for the next [`set`](Event::set).
    /// Tasks already waiting when the flag was set return even if it is cleared before they run.
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::AcqRel);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Waits until the flag is set; returns at once if it is (after spending a unit of the
    /// cooperative budget, so a loop over a set event still yields).
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        /// The event, and the count of sets seen at the first check.
        struct IsSet<'a>(&'a Event, Option<usize>);
        impl leaf::Condition for IsSet<'_> {
            type Output = ();
            fn listeners(&self) -> &Listeners {
                &self.0.listeners
            }
            fn check(&mut self) -> Option<()> {
                let state = self.0.state.load(Ordering::Acquire);
                let sets = state >> 1;
                let first = *self.1.get_or_insert(sets);
                (state & SET != 0 || sets != first).then_some(())
            }
        }
        // The count of sets is taken now, not at the first poll: a first poll that the budget
        // turned away would otherwise miss a set/clear pulse that came before the next one.
        let sets = self.state.load(Ordering::Acquire) >> 1;
        leaf::until(IsSet(self, Some(sets)))
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
/// Waiters are served in arrival order, and a turn handed to a waiter is its own: a newcomer
/// cannot take it. Two `notify_one` calls release two waiters (or one waiter and leave the permit).
///
/// Cancel safe: a `notified()` dropped before it completed takes no permit; a `notify_one` turn it
/// had been handed goes to the next waiter (or back as the permit). A `notify_waiters` wake it did
/// not use is not passed on: it was meant for the tasks waiting at the time.
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
    state: Mutex<NotifyState>,
}

/// Behind `Notify`'s lock: whether a `notify_one` hands a waiter its turn or leaves the permit is
/// decided in one critical section, so two calls release two waiters, and a newcomer never takes
/// the turn of a waiter already woken.
struct NotifyState {
    permit: bool,
    /// Waiters not yet notified, in arrival order (ids increase).
    waiting: VecDeque<(u64, Waker)>,
    /// Waiters handed a `notify_one` turn they have not taken yet.
    handed: Vec<u64>,
    /// Bumped by `notify_waiters`: a waiter registered under an older generation was woken by it.
    generation: u64,
    next_id: u64,
}

impl Notify {
    /// A new `Notify` without a permit.
    #[cfg(not(filch_loom))]
    pub const fn new() -> Notify {
        Notify {
            state: Mutex::new(NotifyState::new()),
        }
    }

    /// A new `Notify` without a permit (loom's mutex has no `const` constructor).
    #[cfg(filch_loom)]
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(NotifyState::new()),
        }
    }

    fn lock(&self) -> StateGuard<'_, NotifyState> {
        lock(&self.state)
    }

    /// Wakes the first task waiting, or leaves a permit (at most one) for the next to wait.
    pub fn notify_one(&self) {
        let mut state = self.lock();
        match state.waiting.pop_front() {
            Some((id, waker)) => {
                state.handed.push(id);
                drop(state);
                waker.wake();
            }
            None => state.permit = true,
        }
    }

    /// Wakes every task waiting now; leaves no permit.
    pub fn notify_waiters(&self) {
        let mut state = self.lock();
        state.generation += 1;
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    /// Waits for a notification.
    pub fn notified(&self) -> impl Future<Output = ()> + '_ {
        Notified {
            notify: self,
            waiter: None,
        }
    }
}

/// The future of [`Notify::notified`]: a leaf of the cooperative budget, as [`Leaf`] makes the
/// other waits, but one that registers even when the budget is spent (see `poll`).
struct Notified<'a> {
    notify: &'a Notify,
    /// Our id and the generation we registered under, once registered.
    waiter: Option<(u64, u64)>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Poll::Ready(progress) = coop::poll_proceed(cx) else {
            // The budget is spent (and the task woken): take nothing now, but the documented
            // promise stands: a `notified()` polled once is waiting, and `notify_waiters` wakes
            // it (regression test `notify_waiters_wakes_a_notified_first_polled_with_a_spent_budget`).
            // With a permit there is nothing to register: the next poll takes it.
            if self.waiter.is_none() {
                let mut state = self.notify.lock();
                if !state.permit {
                    let waiter = state.register(cx.waker());
                    drop(state);
                    self.waiter = Some(waiter);
                }
            }
            return Poll::Pending;
        };
        ready!(self.poll_wait(cx));
        progress.made_progress();
        Poll::Ready(())
    }
}

impl NotifyState {
    const fn new() -> NotifyState {
        NotifyState {
            permit: false,
            waiting: VecDeque::new(),
            handed: Vec::new(),
            generation: 0,
            next_id: 0,
        }
    }

    /// Puts a waiter at the back; its id and the generation it waits in.
    fn register(&mut self, waker: &Waker) -> (u64, u64) {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push_back((id, waker.clone()));
        (id, self.generation)
    }
}

impl Notified<'_> {
    /// One poll of the wait itself, the budget aside.
    fn poll_wait(&mut self, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.notify.lock();
        match self.waiter {
            None => {
                if std::mem::take(&mut state.permit) {
                    return Poll::Ready(());
                }
                let waiter = state.register(cx.waker());
                drop(state);
                self.waiter = Some(waiter);
                Poll::Pending
            }
            Some((id, generation)) => {
                if let Some(at) = state.handed.iter().position(|&h| h == id) {
                    state.handed.swap_remove(at);
                } else if state.generation == generation {
                    // Still waiting: refresh the waker.
                    if let Some(entry) = state.waiting.iter_mut().find(|(i, _)| *i == id) {
                        if !entry.1.will_wake(cx.waker()) {
                            entry.1.clone_from(cx.waker());
                        }
                    }
                    return Poll::Pending;
                }
                // Handed a turn, or woken by `notify_waiters` (which emptied the list).
                drop(state);
                self.waiter = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some((id, _)) = self.waiter else { return };
        let mut state = self.notify.lock();
        if let Some(at) = state.waiting.iter().position(|(i, _)| *i == id) {
            state.waiting.remove(at);
        } else if let Some(at) = state.handed.iter().position(|&h| h == id) {
            // Handed a turn it will not take: it goes to the next waiter, or back as the permit.
            state.handed.swap_remove(at);
            match state.waiting.pop_front() {
                Some((next, waker)) => {
                    state.handed.push(next);
                    drop(state);
                    waker.wake();
                }
                None => state.permit = true,
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiting", &state.waiting.len())
            .finish()
    }
}

/// A condition variable for a [`Mutex`](super::Mutex) (asyncio's `Condition`): a task holding the lock waits
/// for another to change the guarded state and notify.
///
/// Unlike asyncio's, a `Condition` does not own its lock: [`wait`](Condition::wait) takes the
/// guard of any filch [`Mutex`](super::Mutex) and gives it back, locked again, once notified. As with every
/// condition variable, wake-ups may be spurious: check the state again in a loop, or use
/// [`wait_while`](Condition::wait_while).
///
/// Cancel safe in this sense: a `wait` dropped before it completed has released the lock and does
/// not hold it, and a notification it had taken goes to another waiter.
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
        /// Passes a notification on if the wait is dropped after it took one but before it had
        /// the lock again.
        struct PassOn<'a>(&'a Listeners);
        impl Drop for PassOn<'_> {
            fn drop(&mut self) {
                self.0.notify(1.additional());
            }
        }
        let mutex = AsyncMutex::of(&guard);
        // Listen before unlocking: a notification sent once the lock is free is not lost.
        let listener = self.listeners.listen();
        drop(guard.into_inner());
        Leaf::plain(listener).await;
        let pass_on = PassOn(&self.listeners);
        let guard = mutex.lock().await;
        std::mem::forget(pass_on);
        guard
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

    /// Wakes one waiting task (one more than those already woken: two calls wake two).
    pub fn notify_one(&self) {
        self.listeners.notify(1.additional());
    }

    /// Wakes `n` waiting tasks, besides those already woken (asyncio's `notify(n)`).
    pub fn notify(&self, n: usize) {
        self.listeners.notify(n.additional());
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
