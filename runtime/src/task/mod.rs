//! The task cell: one heap allocation per spawned future.
//!
//! # Layout
//!
//! A task is a single `Box<Cell<T, S>>` (see `raw.rs`), `#[repr(C)]` so that a pointer to the cell is
//! also a pointer to its `Header`:
//!
//! ```text
//! +---------------------- Header -----------------------+---- Core ----+- Trailer -+
//! | state: AtomicUsize | vtable | owned-list slot  | id | scheduler, S | join      |
//! | (flags, refcount,  |        | (shard lock)     |    | stage:       | waker     |
//! |  poll count)       |        |                  |    |              |           |
//! |                    |        |                  |    |  future T,   |           |
//! |                    |        |                  |    |  then output |           |
//! +--------------------+--------+------------------+----+--------------+-----------+
//! ```
//!
//! Everything a task ever needs lives in that one allocation: the future is replaced in place by its
//! output, and the join handle, the wakers and the queue entries are all just counted pointers to the
//! header. The vtable erases `T` and `S`, so a [`JoinHandle`] or a `Waker` needs no type parameters.
//! A task's optional name (`name.rs`: few tasks have one) and its spawn location and parent
//! (the owned-task list's side map, `list.rs`, for the task dump) are kept elsewhere: the
//! cell's size is what the allocator's speed depends on.
//!
//! # References
//!
//! The reference count lives in the upper bits of the state word. Each of these holds one:
//! the runtime's owned-task list (`Task`, until the task completes or the runtime shuts it down);
//! each `Notified` (a queue entry: the permission to run the task once); the [`JoinHandle`]; each
//! `Waker` clone. A spawned task starts with three: list, first `Notified`, handle. The thread that
//! drops the count to zero deallocates.
//!
//! The cell owns its scheduler (for the runtime, a counted reference to the runtime's shared
//! state), so whoever schedules a task must hold a reference to it for the whole `schedule` call:
//! the queue entry it pushes may be run, completed and freed by a worker before the push returns.
//! `wake_by_ref` and `abort` borrow the caller's reference; `wake` by value creates the
//! `Notified` as a new reference and drops the waker's own only after `schedule` returned.
//!
//! # The state word
//!
//! | bit | set by | cleared by | meaning |
//! |---|---|---|---|
//! | `RUNNING` | the thread that turns a `Notified` into a poll, or shutdown | that thread, when the poll returns `Pending`, or on completion | that thread alone owns the stage (future/output) |
//! | `COMPLETE` | the runner, once the output is stored (or the future dropped on cancel) | never | the future is gone; only the join handle may touch the stage |
//! | `NOTIFIED` | a waker or `abort`, if not already set and not complete | the thread taking `RUNNING` | a `Notified` exists for the task, or (while `RUNNING`) the runner must reschedule it |
//! | `CANCELLED` | `abort`, runtime shutdown | never | drop the future instead of polling it |
//! | `JOIN_INTEREST` | spawn | the join handle, when it takes the output or is dropped | someone wants the output; without it the completer drops the output |
//! | `JOIN_WAKER` | the join handle, after writing the slot | the join handle (to replace the waker), the completer (after waking it) | the completer may read the join waker slot |
//!
//! Above the six flags, two counters share the rest of the word (64-bit targets):
//!
//! | bits | field | changed by | meaning |
//! |---|---|---|---|
//! | 6..44 | reference count | every reference taken or dropped (`REF_ONE` steps) | see "References"; `ref_inc` aborts at 2^37, so no addition can carry into the poll count |
//! | 44..64 | poll count | `transition_to_running`, inside its existing compare-exchange, when it takes `RUNNING` for a poll (not for a cancellation) | polls so far, saturating at 2^20 - 1; read by the task dump only, never by the protocol |
//!
//! On 32-bit targets the reference count takes every bit above the flags and the poll count
//! reads 0.
//!
//! Rules that make the protocol sound:
//!
//! - **At most one `Notified`.** A waker creates a `Notified` only by setting `NOTIFIED` on an idle,
//!   incomplete task. A task woken while it runs just gets `NOTIFIED`, and its runner turns its own
//!   reference into the `Notified` when the poll returns (`TransitionToIdle::OkNotified`); such a
//!   task goes to the back of the queue, which is how `yield_now` yields for real. So a task is never
//!   polled by two threads, and never queued twice.
//! - **`wake_by_ref` touches the count only when it must**: on a running, notified or complete task
//!   it sets a bit or does nothing; only the wake that creates the `Notified` adds a reference.
//! - **Stage ownership**: while `RUNNING`, the runner alone; after `COMPLETE`, the join handle alone
//!   (or the completer, if `JOIN_INTEREST` was already gone). Release/Acquire on the state word passes
//!   the stage from one owner to the next.
//! - **Stage contents** are known without a tag (`raw::Stage` is a union): the future until
//!   `COMPLETE`, then the output while `JOIN_INTEREST` lasts, then nothing. So the handle clears
//!   `JOIN_INTEREST` as soon as it takes the output, and a cell freed before completing drops its
//!   future then. Every drop happens in place, so a pinned future is dropped where it was pinned.
//! - **Join waker slot**: while `JOIN_WAKER` is clear, the handle alone may write it; while set, it
//!   is read-only and only the completer reads it. If the handle is dropped before completion it
//!   clears both `JOIN_INTEREST` and `JOIN_WAKER` in one step and drops the waker itself; if after,
//!   whichever side holds the slot last drops the waker.
//! - **Cancellation** never drops a future on a thread that does not own the stage: `abort` sets
//!   `CANCELLED` and, if the task is idle, schedules it so that a worker drops the future; a running
//!   task is cancelled by its runner when the poll returns.
//! - **Panics**: a panic while polling (or while dropping the future) is caught in the cell, stored
//!   as the output ([`JoinError::is_panic`]), and never unwinds into the worker. Panics from dropping
//!   an unwanted output or from a join waker are caught and discarded.
//!
//! # Shutdown
//!
//! The runtime closes its owned-task list, so that `bind` refuses new tasks (they complete at once as
//! cancelled), then shuts down every task it held: `CANCELLED` is set, and an idle task has its future
//! dropped right there; a running one is cancelled by its runner when the poll returns.

mod builder;
pub(crate) mod error;
mod harness;
mod join;
mod list;
pub(crate) mod name;
mod raw;
mod state;
mod waker;

#[cfg(all(test, filch_loom))]
pub(crate) mod loom_tests;
#[cfg(all(test, not(filch_loom)))]
mod tests;

pub use builder::Builder;
pub use error::{Id, JoinError};
pub use join::JoinHandle;
pub(crate) use list::{Listed, OwnedTasks, SpawnMeta};
pub(crate) use name::get as name_of;
pub(crate) use raw::{Header, RawTask};
pub(crate) use state::POLLS_MAX;

use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// The scheduler side of a task: where a woken task goes and who lets it go when it completes.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Removes `task` from the owned-task list, returning the list's reference if it held one.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queues a task that was woken.
    fn schedule(&self, task: Notified<Self>);

    /// Queues a task that woke itself while it ran (`yield_now`): it should go behind other work.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// One counted reference to a task; dropping it drops the reference.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

// SAFETY: a task reference only allows state transitions through the atomic word and access to
// the stage under the ownership rules above; the future and the scheduler are `Send`.
unsafe impl<S> Send for Task<S> {}
// SAFETY: as above; `&Task` gives nothing beyond atomic operations on the header.
unsafe impl<S> Sync for Task<S> {}

/// A reference that carries the right to run the task once: the entry in a run queue.
#[repr(transparent)]
pub(crate) struct Notified<S: 'static>(Task<S>);

impl<S: 'static> Task<S> {
    /// # Safety
    /// `ptr` must point to a live task with scheduler type `S`, and the caller must own one
    /// reference, which the returned value takes over.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            // SAFETY: forwarded to the caller.
            raw: unsafe { RawTask::from_raw(ptr) },
            _p: PhantomData,
        }
    }

    /// Gives up the reference without dropping it.
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).raw.header_ptr()
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.raw.header_ptr()
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// Runtime shutdown: cancels the task (dropping its future here if it is idle) and consumes
    /// this reference.
    pub(crate) fn shutdown(self) {
        let raw = ManuallyDrop::new(self).raw;
        raw.shutdown();
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        if self.header().state.ref_dec() {
            self.raw.dealloc();
        }
    }
}

impl<S: 'static> Notified<S> {
    /// # Safety
    /// As [`Task::from_raw`], and the reference must be the task's `Notified` one.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded to the caller.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    pub(crate) fn id(&self) -> Id {
        self.0.id()
    }

    /// Gives up the reference without dropping it ([`from_raw`](Self::from_raw) takes it back).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        self.0.into_raw()
    }

    /// Polls the task once (or cancels it), consuming this reference.
    pub(crate) fn run(self) {
        let raw = ManuallyDrop::new(self).0.raw;
        raw.poll();
    }

    /// Cancels the task without polling it, consuming this reference: used where a queued task can
    /// never run (a blocking pool that shut down).
    pub(crate) fn shutdown(self) {
        self.0.shutdown();
    }
}

impl<S> std::fmt::Debug for Task<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("state", &self.header().state)
            .finish()
    }
}

impl<S> std::fmt::Debug for Notified<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Allocates a task that is not held by an owned-task list: a blocking-pool job, or a test task.
/// Returns its first `Notified` and its join handle.
pub(crate) fn unowned<T, S>(future: T, scheduler: S, id: Id) -> (Notified<S>, JoinHandle<T::Output>)
where
    T: Future + Send + 'static,
    T::Output: Send + 'static,
    S: Schedule,
{
    let ptr = raw::allocate(future, scheduler, id, 2);
    // SAFETY: `allocate` returned two references: one for the Notified, one for the handle.
    unsafe { (Notified::from_raw(ptr), JoinHandle::from_raw(ptr)) }
}

/// Allocates a task for an owned-task list: its list reference, first `Notified` and join handle.
///
/// # Safety
/// As [`raw::allocate_unchecked`]: a future or output that is not `Send` stays on this thread.
unsafe fn owned<T, S>(
    future: T,
    scheduler: S,
    id: Id,
) -> (Task<S>, Notified<S>, JoinHandle<T::Output>)
where
    T: Future + 'static,
    S: Schedule,
{
    // SAFETY: the caller's contract.
    let ptr = unsafe { raw::allocate_unchecked(future, scheduler, id, 3) };
    // SAFETY: `allocate` returned three references, one for each value.
    unsafe {
        (
            Task::from_raw(ptr),
            Notified::from_raw(ptr),
            JoinHandle::from_raw(ptr),
        )
    }
}
