//! The channel under [`mpmc`](super::mpmc) and [`Queue`](super::Queue): a `VecDeque` and two
//! lists of waiting tasks behind one lock.
//!
//! # Why not async-channel
//!
//! The first version wrapped async-channel. Measured in the study (callgrind, 10,000 round trips
//! between two tasks over two bounded(1) channels), it cost 1.45× tokio's `mpsc` in instructions,
//! and as much in time: every wait allocates an `event_listener` entry and every send takes the
//! listener list's lock to notify. A channel is the primitive tasks use most, so filch has its own.
//!
//! # Design
//!
//! Everything lives in [`State`] behind one short lock, taken once per operation and never held
//! across user code or a wake: the queue, the capacity, the closed flag, the counts of senders
//! and receivers, and two FIFO lists of waiting tasks' wakers (receivers waiting for an item,
//! senders waiting for room). A waiting future remembers the id of its entry.
//!
//! - An operation that can complete does so; if it freed room or added an item, it pops one
//!   waiter of the other side and wakes it after unlocking.
//! - An operation that must wait pushes (or refreshes) its entry and returns `Pending`.
//! - A woken waiter's entry is gone from its list: that is how it knows it was woken. If it is
//!   dropped before it used its turn (a `select!` chose another branch), it passes the wake on to
//!   the next waiter of its side, so the item or the room it was woken for is not stranded with
//!   nobody to take it.
//! - Closing (explicitly, or when the last sender or the last receiver goes) wakes everyone.
//!
//! Waiters are woken one per item or per free slot, so a burst wakes no more tasks than can
//! proceed. A newcomer may take an item before a woken waiter gets to it; the waiter then waits
//! again, at the back. The lock is `std`'s (a futex); no `unsafe` here.

use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
    /// Items ever put in, minus those marked done: asyncio's `task_done`/`join` count, for
    /// `Queue`. Incremented under the lock, in the step that puts the item in, so it counts
    /// exactly the items that went in (a send that waits, fails or is dropped counts nothing).
    pub(super) unfinished: AtomicUsize,
    /// Whether `unfinished` is kept (a `Queue`'s channel); an `mpmc` channel skips the add.
    counting: bool,
}

struct State<T> {
    items: VecDeque<T>,
    /// `usize::MAX` when unbounded.
    cap: usize,
    closed: bool,
    senders: usize,
    receivers: usize,
    recv_waiters: Waiters,
    send_waiters: Waiters,
}

/// Waiting tasks in arrival order; ids tell entries apart.
struct Waiters {
    list: VecDeque<(u64, Waker)>,
    next_id: u64,
}

impl Waiters {
    fn new() -> Waiters {
        Waiters {
            list: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Where entry `id` is, if it is still there. Ids are handed out in increasing order and
    /// only pushed at the back, so the list stays sorted by id: a binary search, and nothing at
    /// all for an entry already popped (older than the front), the common case of a woken waiter.
    fn find(&self, id: u64) -> Option<usize> {
        match self.list.front() {
            Some(&(front, _)) if id >= front => {
                self.list.binary_search_by_key(&id, |&(i, _)| i).ok()
            }
            _ => None,
        }
    }

    /// Registers `waker` under `slot`'s id, or refreshes the waker of the entry that is still
    /// there.
    fn register(&mut self, slot: &mut Option<u64>, waker: &Waker) {
        if let Some(id) = *slot {
            if let Some(at) = self.find(id) {
                let w = &mut self.list[at].1;
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                return;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.list.push_back((id, waker.clone()));
        *slot = Some(id);
    }

    /// Removes the entry `id`; false if it was not there (it was woken).
    fn remove(&mut self, id: u64) -> bool {
        match self.find(id) {
            Some(at) => {
                self.list.remove(at);
                true
            }
            None => false,
        }
    }

    fn pop(&mut self) -> Option<Waker> {
        self.list.pop_front().map(|(_, w)| w)
    }

    fn take_all(&mut self) -> VecDeque<(u64, Waker)> {
        std::mem::take(&mut self.list)
    }
}

/// What an operation that found the channel closed, full or empty reports.
pub(super) enum TryError<T> {
    Full(T),
    Closed(T),
}

impl<T> Chan<T> {
    /// A channel holding at most `cap` items (`usize::MAX`: unbounded), with the given numbers of
    /// sender and receiver handles.
    pub(super) fn new(cap: usize, senders: usize, receivers: usize) -> Chan<T> {
        Chan::with_counting(cap, senders, receivers, false)
    }

    /// As [`new`](Chan::new); `counting` keeps [`unfinished`](Chan::unfinished) (for `Queue`).
    pub(super) fn with_counting(
        cap: usize,
        senders: usize,
        receivers: usize,
        counting: bool,
    ) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                items: VecDeque::new(),
                cap,
                closed: false,
                senders,
                receivers,
                recv_waiters: Waiters::new(),
                send_waiters: Waiters::new(),
            }),
            unfinished: AtomicUsize::new(0),
            counting,
        }
    }

    /// Puts `item` in, counting it; the caller checked the room and the closed flag.
    fn push(&self, state: &mut State<T>, item: T) {
        if self.counting {
            self.unfinished.fetch_add(1, Ordering::Relaxed);
        }
        state.items.push_back(item);
    }

    /// Sends `item` if there is room; on success wakes one waiting receiver.
    pub(super) fn try_send(&self, item: T) -> Result<(), TryError<T>> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(TryError::Closed(item));
        }
        if state.items.len() >= state.cap {
            return Err(TryError::Full(item));
        }
        self.push(&mut state, item);
        let wake = state.recv_waiters.pop();
        drop(state);
        if let Some(w) = wake {
            w.wake();
        }
        Ok(())
    }

    /// Receives an item if there is one (`Ok(None)`: empty; `Err(())`: closed and empty); on
    /// success wakes one waiting sender.
    pub(super) fn try_recv(&self) -> Result<Option<T>, ()> {
        let mut state = lock(&self.state);
        match state.items.pop_front() {
            Some(item) => {
                let wake = state.send_waiters.pop();
                drop(state);
                if let Some(w) = wake {
                    w.wake();
                }
                Ok(Some(item))
            }
            None if state.closed => Err(()),
            None => Ok(None),
        }
    }

    /// One poll of a send of `*item` (taken on completion), waiting under `waiter`.
    pub(super) fn poll_send(
        &self,
        item: &mut Option<T>,
        waiter: &mut Option<u64>,
        cx: &Context<'_>,
    ) -> Poll<Result<(), T>> {
        let mut state = lock(&self.state);
        if state.closed {
            if let Some(id) = waiter.take() {
                state.send_waiters.remove(id);
            }
            return Poll::Ready(Err(item.take().expect("send polled after it completed")));
        }
        if state.items.len() < state.cap {
            let item = item.take().expect("send polled after it completed");
            self.push(&mut state, item);
            if let Some(id) = waiter.take() {
                state.send_waiters.remove(id);
            }
            let wake = state.recv_waiters.pop();
            drop(state);
            if let Some(w) = wake {
                w.wake();
            }
            return Poll::Ready(Ok(()));
        }
        state.send_waiters.register(waiter, cx.waker());
        Poll::Pending
    }

    /// One poll of a receive waiting under `waiter`; `Err(())` once closed and empty.
    pub(super) fn poll_recv(
        &self,
        waiter: &mut Option<u64>,
        cx: &Context<'_>,
    ) -> Poll<Result<T, ()>> {
        let mut state = lock(&self.state);
        if let Some(item) = state.items.pop_front() {
            if let Some(id) = waiter.take() {
                state.recv_waiters.remove(id);
            }
            let wake = state.send_waiters.pop();
            drop(state);
            if let Some(w) = wake {
                w.wake();
            }
            return Poll::Ready(Ok(item));
        }
        if state.closed {
            if let Some(id) = waiter.take() {
                state.recv_waiters.remove(id);
            }
            return Poll::Ready(Err(()));
        }
        state.recv_waiters.register(waiter, cx.waker());
        Poll::Pending
    }

    /// A send dropped while waiting: leaves the list, or, if it had been woken for room it did not
    /// use, passes the wake to the next waiting sender.
    pub(super) fn cancel_send(&self, waiter: u64) {
        let mut state = lock(&self.state);
        if state.send_waiters.remove(waiter) {
            return;
        }
        let wake = if state.items.len() < state.cap {
            state.send_waiters.pop()
        } else {
            None
        };
        drop(state);
        if let Some(w) = wake {
            w.wake();
        }
    }

    /// A receive dropped while waiting: leaves the list, or, if it had been woken for an item it
    /// did not take, passes the wake to the next waiting receiver.
    pub(super) fn cancel_recv(&self, waiter: u64) {
        let mut state = lock(&self.state);
        if state.recv_waiters.remove(waiter) {
            return;
        }
        let wake = if state.items.is_empty() {
            None
        } else {
            state.recv_waiters.pop()
        };
        drop(state);
        if let Some(w) = wake {
            w.wake();
        }
    }

    /// Closes the channel and wakes every waiter; false if it was already closed.
    pub(super) fn close(&self) -> bool {
        let mut state = lock(&self.state);
        if state.closed {
            return false;
        }
        state.closed = true;
        let receivers = state.recv_waiters.take_all();
        let senders = state.send_waiters.take_all();
        drop(state);
        for (_, w) in receivers.into_iter().chain(senders) {
            w.wake();
        }
        true
    }

    pub(super) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.state).items.len()
    }

    pub(super) fn is_full(&self) -> bool {
        let state = lock(&self.state);
        state.items.len() >= state.cap
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        let cap = lock(&self.state).cap;
        (cap != usize::MAX).then_some(cap)
    }

    pub(super) fn add_sender(&self) {
        lock(&self.state).senders += 1;
    }

    pub(super) fn add_receiver(&self) {
        lock(&self.state).receivers += 1;
    }

    /// Drops a sender handle; the last one closes the channel.
    pub(super) fn drop_sender(&self) {
        let last = {
            let mut state = lock(&self.state);
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.close();
        }
    }

    /// Drops a receiver handle; the last one closes the channel.
    pub(super) fn drop_receiver(&self) {
        let last = {
            let mut state = lock(&self.state);
            state.receivers -= 1;
            state.receivers == 0
        };
        if last {
            self.close();
        }
    }
}

/// A send waiting for room.
pub(super) struct Send<'a, T> {
    chan: &'a Chan<T>,
    item: Option<T>,
    waiter: Option<u64>,
}

// The item is never pinned: it is moved into the queue.
impl<T> Unpin for Send<'_, T> {}

impl<'a, T> Send<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>, item: T) -> Send<'a, T> {
        Send {
            chan,
            item: Some(item),
            waiter: None,
        }
    }
}

impl<T> std::future::Future for Send<'_, T> {
    type Output = Result<(), T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), T>> {
        let this = self.get_mut();
        this.chan.poll_send(&mut this.item, &mut this.waiter, cx)
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            self.chan.cancel_send(id);
        }
    }
}

/// A receive waiting for an item.
pub(super) struct Recv<'a, T> {
    chan: &'a Chan<T>,
    waiter: Option<u64>,
}

impl<'a, T> Recv<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Recv<'a, T> {
        Recv { chan, waiter: None }
    }
}

impl<T> std::future::Future for Recv<'_, T> {
    type Output = Result<T, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, ()>> {
        let this = self.get_mut();
        this.chan.poll_recv(&mut this.waiter, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            self.chan.cancel_recv(id);
        }
    }
}
