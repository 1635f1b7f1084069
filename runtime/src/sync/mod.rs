//! Queues, locks and signals between tasks: what asyncio users reach for (`Queue`, `Lock`,
//! `Event`, `Semaphore`, `Condition`, `Barrier`) and what tokio users reach for (`mpsc`,
//! `oneshot`, `watch`, `broadcast`, `Notify`, `OnceCell`, a cancellation token).
//!
//! | asyncio | filch |
//! |---|---|
//! | `asyncio.Queue` (`put`/`get`, `task_done`/`join`) | [`Queue`] (`send`/`recv`, `task_done`/`join`) |
//! | `asyncio.Lock` | [`Mutex`] (holds a value; `lock().await` gives a guard) |
//! | `asyncio.Event` | [`Event`] |
//! | `asyncio.Semaphore` / `BoundedSemaphore` | [`Semaphore`] |
//! | `asyncio.Condition` | [`Condition`] with a [`Mutex`] guard |
//! | `asyncio.Barrier` | [`Barrier`] |
//!
//! | tokio | filch |
//! |---|---|
//! | `mpsc` | [`mpmc`] (a channel with one receiver) |
//! | `oneshot` | [`oneshot`] |
//! | `watch` | [`watch`] |
//! | `broadcast` | [`broadcast`] |
//! | `Notify`, `OnceCell`, `Mutex`, `RwLock`, `Semaphore`, `Barrier` | [`Notify`], [`OnceCell`], [`Mutex`], [`RwLock`], [`Semaphore`], [`Barrier`] |
//! | tokio-util's `CancellationToken` | [`CancellationToken`] |
//!
//! # Design
//!
//! Where a well-kept crate (of the smol family, or futures-rs) already does the job without a
//! runtime of its own, filch wraps it rather than rewriting it:
//! [async-lock](https://docs.rs/async-lock) under [`Mutex`], [`RwLock`], [`Semaphore`],
//! [`Barrier`] and [`OnceCell`], futures-rs's [futures-channel](https://docs.rs/futures-channel)
//! under [`oneshot`], and smol-rs's [async-broadcast](https://docs.rs/async-broadcast) under
//! [`broadcast`] (set up to behave as tokio's; its page says how, and where it still differs).
//! Where no such crate has the semantics tokio users expect, the primitive is written here on
//! [event-listener](https://docs.rs/event-listener) (the wait lists of the crates above): [`Event`],
//! [`Notify`], [`Condition`], [`watch`] (a `RwLock`ed value and a version word) and
//! [`CancellationToken`] (a flag and a list of weakly held children). The primitives written
//! here all follow one rule: register a listener, check the condition again, and only then wait,
//! so no wake-up is lost (`leaf::until` is that loop).
//!
//! The channel under [`mpmc`] and [`Queue`] is filch's own too, for speed: wrapping async-channel
//! cost 1.45× tokio's `mpsc` in instructions in the study's ping-pong (an allocated listener per
//! wait, the listener list's lock per send), so a measurement said to write it (`chan.rs` has the
//! design). The wrappers add two things:
//!
//! - **The cooperative budget.** Every wait (except `OnceCell`'s, whose reads are loads) is a
//!   leaf of the budget, like filch's sockets and
//!   timers: it spends a unit per poll and keeps it when it completes. A task that loops over a
//!   queue that always has an item (or a lock that is always free) is made to yield once its
//!   budget is spent, instead of keeping its worker forever.
//! - **filch's own types**: the errors, guards and futures are filch's, so that the crates
//!   underneath can change without breaking users.
//!
//! # Cancel safety
//!
//! Each type's documentation says what a wait dropped before it completed (it lost a `select!`, a
//! `timeout` fired) leaves behind. In short: `recv` takes nothing, `send` sends nothing, `lock`,
//! `read`, `write` and `acquire` hold nothing, `Notify::notified` takes no permit,
//! `watch::Receiver::changed` marks nothing seen, `CancellationToken::cancelled` changes nothing,
//! a `oneshot::Receiver` polled through `&mut` keeps its value for the next poll, and
//! `Barrier::wait` is the exception (it counts as arrived), as in tokio.

pub mod broadcast;
mod cancel;
mod chan;
mod leaf;
#[cfg(all(test, filch_loom))]
mod loom_tests;
pub mod mpmc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod queue;
mod semaphore;
pub mod watch;

pub use cancel::{CancellationToken, Cancelled, DropGuard};

pub use mutex::{
    Mutex, MutexGuard, OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockReadGuard, RwLockWriteGuard,
};
pub use notify::{Condition, Event, Notify};
pub use once_cell::OnceCell;
pub use queue::Queue;
pub use semaphore::{Barrier, BarrierWaitResult, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
