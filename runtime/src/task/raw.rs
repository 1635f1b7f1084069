//! The cell's memory layout and the type-erased pointer to it.

use super::harness::Harness;
use super::state::State;
use super::{Id, JoinError, Schedule};
use crate::loom::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

/// The first field of every cell; a `NonNull<Header>` is the erased task pointer.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The task's slot in its owned-task list shard (`list.rs`), or [`NOT_LISTED`].
    ///
    /// # Invariant
    /// Read and written only while holding the lock of the list shard the task was bound to.
    pub(crate) owned: UnsafeCell<usize>,
    pub(crate) id: Id,
}

/// The owned-list slot index of a task in no list (not yet bound, refused by a closed list,
/// removed, or popped by shutdown).
pub(crate) const NOT_LISTED: usize = usize::MAX;

/// The functions that know the concrete future and scheduler types.
pub(crate) struct Vtable {
    pub(crate) poll: unsafe fn(NonNull<Header>),
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// The whole allocation. `#[repr(C)]` keeps `header` at offset 0.
#[repr(C)]
pub(crate) struct Cell<T: Future, S> {
    pub(crate) header: Header,
    pub(crate) core: Core<T, S>,
    pub(crate) trailer: Trailer,
}

pub(crate) struct Core<T: Future, S> {
    pub(crate) scheduler: S,
    /// # Invariant
    /// Accessed only by the owner of the stage, as the state word's rules say.
    pub(crate) stage: UnsafeCell<Stage<T>>,
}

/// The future, then its output, in the same bytes. Which of the two the stage holds, if either,
/// is never stored here: the state word and the owner's place in the protocol say it.
///
/// - Not `COMPLETE`: the future, except inside its owner's completion (the future dropped, the
///   output not yet stored).
/// - `COMPLETE` with `JOIN_INTEREST`: the output, for the join handle.
/// - `COMPLETE` without `JOIN_INTEREST`: nothing (the handle took or dropped the output, or the
///   completer dropped an output nobody wanted).
///
/// An enum would repeat that knowledge in a tag, which costs 8 bytes per task (alignment), enough to
/// move a small task into the allocator's next size class. Both fields are only ever dropped in
/// place, so a pinned future is dropped where it was pinned, as `Pin` promises.
pub(crate) union Stage<T: Future> {
    pub(crate) future: ManuallyDrop<T>,
    pub(crate) output: ManuallyDrop<Result<T::Output, JoinError>>,
}

pub(crate) struct Trailer {
    /// # Invariant
    /// Written only by the join handle while `JOIN_WAKER` is clear; while it is set, only read,
    /// and only by the thread that completed the task.
    pub(crate) waker: UnsafeCell<Option<Waker>>,
}

/// Allocates a cell holding `refs` references and returns the pointer to its header.
pub(super) fn allocate<T, S>(future: T, scheduler: S, id: Id, refs: usize) -> NonNull<Header>
where
    T: Future + Send + 'static,
    T::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: a `Send` future and output may be polled and dropped on any thread.
    unsafe { allocate_unchecked(future, scheduler, id, refs) }
}

/// [`allocate`] for a future or output that may not be `Send` (`spawn_local`).
///
/// # Safety
/// Unless they are `Send`, the future must be polled and dropped, and the output dropped, only
/// on the thread that calls this: the task may be scheduled only to a queue that that thread
/// alone runs, and must be shut down on that thread before it ends. (References, wakers and the
/// scheduler may go anywhere: they touch only the header, the scheduler and the join waker.)
pub(super) unsafe fn allocate_unchecked<T, S>(
    future: T,
    scheduler: S,
    id: Id,
    refs: usize,
) -> NonNull<Header>
where
    T: Future + 'static,
    S: Schedule,
{
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(refs),
            vtable: vtable::<T, S>(),
            owned: UnsafeCell::new(NOT_LISTED),
            id,
        },
        core: Core {
            scheduler,
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
        },
        trailer: Trailer {
            waker: UnsafeCell::new(None),
        },
    });
    NonNull::from(Box::leak(cell)).cast()
}

fn vtable<T: Future + 'static, S: Schedule>() -> &'static Vtable {
    &Vtable {
        poll: poll::<T, S>,
        schedule: schedule::<T, S>,
        dealloc: dealloc::<T, S>,
        try_read_output: try_read_output::<T, S>,
        drop_join_handle_slow: drop_join_handle_slow::<T, S>,
        shutdown: shutdown::<T, S>,
    }
}

// The vtable entries. Each one's contract is the corresponding `RawTask` method's `# Safety`.

unsafe fn poll<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was built for this `T` and `S`; the caller owns a Notified reference.
    unsafe { Harness::<T, S>::from_raw(ptr) }.poll();
}

unsafe fn schedule<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was built for this `T` and `S`; the caller owns a Notified reference.
    unsafe { Harness::<T, S>::from_raw(ptr) }.schedule();
}

unsafe fn dealloc<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was built for this `T` and `S`; no references remain.
    unsafe { Harness::<T, S>::from_raw(ptr) }.dealloc();
}

unsafe fn try_read_output<T: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: the vtable was built for this `T` and `S`; the caller is the join handle and `dst`
    // points to a `Poll<Result<T::Output, JoinError>>`.
    unsafe {
        let dst = &mut *dst.cast::<std::task::Poll<Result<T::Output, JoinError>>>();
        Harness::<T, S>::from_raw(ptr).try_read_output(dst, waker);
    }
}

unsafe fn drop_join_handle_slow<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was built for this `T` and `S`; the caller is the join handle.
    unsafe { Harness::<T, S>::from_raw(ptr) }.drop_join_handle_slow();
}

unsafe fn shutdown<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was built for this `T` and `S`; the caller owns a reference.
    unsafe { Harness::<T, S>::from_raw(ptr) }.shutdown();
}

/// A type-erased, uncounted pointer to a task. Every method's safety rests on the caller's
/// reference, which the owning wrapper (`Task`, `Notified`, `JoinHandle`, a waker) stands for.
#[derive(Clone, Copy)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// # Safety
    /// `ptr` must point to the header of a live task cell.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header<'a>(self) -> &'a Header {
        // SAFETY: the wrapper holding this RawTask holds a reference, so the cell is live for as
        // long as the wrapper (and the borrow the caller derives from it).
        unsafe { self.ptr.as_ref() }
    }

    /// Polls the task, consuming the caller's `Notified` reference.
    pub(crate) fn poll(self) {
        // SAFETY: the caller (`Notified::run`) gives up its Notified reference to the vtable.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Schedules the task, consuming the caller's reference as its `Notified`.
    pub(crate) fn schedule(self) {
        // SAFETY: the caller just created the Notified reference by setting NOTIFIED.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// Frees the cell; the caller dropped the last reference.
    pub(crate) fn dealloc(self) {
        // SAFETY: the caller observed the count reach zero, so no one else can reach the cell.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// The caller is the join handle and `dst` points to a `Poll<Result<T, JoinError>>` for the
    /// task's output type `T`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded to the caller.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// Drops the join handle's interest and reference.
    pub(crate) fn drop_join_handle_slow(self) {
        // SAFETY: the caller is the join handle, giving up its reference.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Cancels the task for shutdown, consuming the caller's reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller gives up its reference to the vtable.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// `JoinHandle::abort`: marks the task cancelled and schedules it if it was idle.
    pub(crate) fn remote_abort(self) {
        use super::state::TransitionToNotified;
        match self.header().state.transition_to_notified_and_cancel() {
            TransitionToNotified::Submit => self.schedule(),
            TransitionToNotified::DoNothing => {}
            TransitionToNotified::Dealloc => unreachable!("abort does not drop a reference"),
        }
    }
}
