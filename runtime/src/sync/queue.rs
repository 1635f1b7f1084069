//! `Queue`: asyncio's `Queue`, as one cloneable handle.

use super::chan::{self, Chan};
use super::leaf::{self, Leaf};
use super::mpmc::{RecvError, SendError, TryRecvError, TrySendError};
use event_listener::Event;
use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A first-in, first-out queue shared by any number of producers and consumers: asyncio's
/// `Queue`, with its `task_done`/`join` bookkeeping. Clones are handles to the same queue.
///
/// | asyncio | filch |
/// |---|---|
/// | `Queue(maxsize=n)` / `Queue()` | [`Queue::bounded(n)`](Queue::bounded) / [`Queue::unbounded()`](Queue::unbounded) |
/// | `await q.put(x)` / `q.put_nowait(x)` | [`q.send(x).await`](Queue::send) / [`q.try_send(x)`](Queue::try_send) |
/// | `await q.get()` / `q.get_nowait()` | [`q.recv().await`](Queue::recv) / [`q.try_recv()`](Queue::try_recv) |
/// | `q.task_done()` / `await q.join()` | [`q.task_done()`](Queue::task_done) / [`q.join().await`](Queue::join) |
/// | `q.qsize()`, `q.empty()`, `q.full()`, `q.maxsize` | [`len`](Queue::len), [`is_empty`](Queue::is_empty), [`is_full`](Queue::is_full), [`capacity`](Queue::capacity) |
/// | `q.shutdown()` (3.13) | [`q.close()`](Queue::close) |
///
/// Unlike a [channel](super::mpmc), a queue does not close when some handle is dropped: like
/// asyncio's, it lives while any handle does, and closes only on [`close`](Queue::close).
///
/// ```
/// use filch::sync::Queue;
///
/// filch::run(async {
///     let queue = Queue::bounded(8);
///     let workers: Vec<_> = (0..3)
///         .map(|_| {
///             let queue = queue.clone();
///             filch::spawn(async move {
///                 let mut done = 0;
///                 while let Ok(job) = queue.recv().await {
///                     let _: u32 = job;
///                     done += 1;
///                     queue.task_done();
///                 }
///                 done
///             })
///         })
///         .collect();
///     for job in 0..100 {
///         queue.send(job).await.unwrap();
///     }
///     queue.join().await; // every job received and marked done
///     queue.close(); // the workers' `recv` fails now: they return
///     let total: u32 = filch::join_all(workers).await.into_iter().map(Result::unwrap).sum();
///     assert_eq!(total, 100);
/// });
/// ```
///
/// # Cancel safety
///
/// [`recv`](Queue::recv) and [`send`](Queue::send) are cancel safe: dropped before completing,
/// a `recv` has taken nothing and a `send` has put nothing in (its item is dropped with it).
/// [`join`](Queue::join) can be dropped at any time.
pub struct Queue<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    /// Counted as one sender and one receiver for good: a queue closes only on `close`.
    chan: Chan<T>,
    /// Notified when `unfinished` drops to zero.
    all_done: Event,
}

impl<T> Queue<T> {
    /// A queue that holds at most `cap` items; [`send`](Queue::send) waits while it is full.
    ///
    /// # Panics
    /// If `cap` is zero (asyncio's `maxsize=0` means unbounded: use [`Queue::unbounded`]).
    pub fn bounded(cap: usize) -> Queue<T> {
        assert!(
            cap > 0,
            "filch::sync::Queue::bounded: the capacity must be at least 1 (asyncio's maxsize=0 is \
             Queue::unbounded())"
        );
        Queue::with_capacity(cap)
    }

    /// A queue with no limit.
    pub fn unbounded() -> Queue<T> {
        Queue::with_capacity(usize::MAX)
    }

    fn with_capacity(cap: usize) -> Queue<T> {
        Queue {
            inner: Arc::new(Inner {
                chan: Chan::with_counting(cap, 1, 1, true),
                all_done: Event::new(),
            }),
        }
    }

    /// Puts `item` at the back, waiting for room if the queue is bounded and full (asyncio's
    /// `put`). Fails, handing the item back, once the queue is closed.
    pub fn send(&self, item: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Leaf::new(chan::Send::new(&self.inner.chan, item), |r| {
            r.map_err(SendError)
        })
    }

    /// Puts `item` at the back if there is room now (asyncio's `put_nowait`).
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.inner
            .chan
            .try_send(item)
            .map_err(TrySendError::from_chan)
    }

    /// Takes the item at the front, waiting for one if the queue is empty (asyncio's `get`).
    /// Fails once the queue is closed and empty.
    pub fn recv(&self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Leaf::new(chan::Recv::new(&self.inner.chan), |r| {
            r.map_err(|()| RecvError)
        })
    }

    /// Takes the item at the front if there is one (asyncio's `get_nowait`).
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.inner.chan.try_recv() {
            Ok(Some(item)) => Ok(item),
            Ok(None) => Err(TryRecvError::Empty),
            Err(()) => Err(TryRecvError::Closed),
        }
    }

    /// Marks one received item as processed (asyncio's `task_done`): once every item put in has
    /// been marked, [`join`](Queue::join) returns.
    ///
    /// # Panics
    /// If called more times than items were put in, as asyncio raises `ValueError`.
    pub fn task_done(&self) {
        let prev = self
            .inner
            .chan
            .unfinished
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .unwrap_or_else(|_| {
                panic!("Queue::task_done called more times than there were items put in")
            });
        if prev == 1 {
            self.inner.all_done.notify(usize::MAX);
        }
    }

    /// Waits until every item put in has been marked done with [`task_done`](Queue::task_done)
    /// (asyncio's `join`). Returns at once if there is none (after spending a unit of the
    /// cooperative budget).
    pub fn join(&self) -> impl Future<Output = ()> + '_ {
        struct AllDone<'a, T>(&'a Inner<T>);
        impl<T> leaf::Condition for AllDone<'_, T> {
            type Output = ();
            fn listeners(&self) -> &Event {
                &self.0.all_done
            }
            fn check(&mut self) -> Option<()> {
                (self.0.chan.unfinished.load(Ordering::Acquire) == 0).then_some(())
            }
        }
        leaf::until(AllDone(&self.inner))
    }

    /// Closes the queue: [`recv`](Queue::recv) hands out what is left, then fails;
    /// [`send`](Queue::send) fails at once. Returns false if it was already closed.
    pub fn close(&self) -> bool {
        self.inner.chan.close()
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.chan.is_closed()
    }

    /// The number of items in the queue (asyncio's `qsize`).
    pub fn len(&self) -> usize {
        self.inner.chan.len()
    }

    /// Whether the queue holds no item.
    pub fn is_empty(&self) -> bool {
        self.inner.chan.len() == 0
    }

    /// Whether a bounded queue is at its capacity.
    pub fn is_full(&self) -> bool {
        self.inner.chan.is_full()
    }

    /// The capacity, or `None` for an unbounded queue.
    pub fn capacity(&self) -> Option<usize> {
        self.inner.chan.capacity()
    }

    /// Items put in and not yet marked done (a send still waiting for room does not count).
    pub fn unfinished(&self) -> usize {
        self.inner.chan.unfinished.load(Ordering::Acquire)
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Queue<T> {
        Queue {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("unfinished", &self.unfinished())
            .field("closed", &self.is_closed())
            .finish()
    }
}
