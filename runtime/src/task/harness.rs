//! The typed side of a task: polling, completing, cancelling and joining, written once for every
//! concrete future and scheduler type behind the vtable.

use super::raw::{Cell, Core, Header, Trailer};
use super::state::{State, TransitionToIdle, TransitionToRunning, TransitionToShutdown};
use super::{waker, Id, JoinError, Notified, Schedule, Task};
use crate::coop;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

pub(super) struct Harness<T: Future, S: 'static> {
    cell: NonNull<Cell<T, S>>,
}

impl<T: Future, S: Schedule> Harness<T, S> {
    /// # Safety
    /// `ptr` must point to a live `Cell<T, S>`.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Harness<T, S> {
        Harness { cell: ptr.cast() }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.cell.cast()
    }

    fn header(&self) -> &Header {
        // SAFETY: the cell is live while the caller holds its reference (from_raw's contract).
        unsafe { &self.cell.as_ref().header }
    }

    fn state(&self) -> &State {
        &self.header().state
    }

    fn core(&self) -> &Core<T, S> {
        // SAFETY: as in `header`.
        unsafe { &self.cell.as_ref().core }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: as in `header`.
        unsafe { &self.cell.as_ref().trailer }
    }

    fn id(&self) -> Id {
        self.header().id
    }

    /// Runs the task once. The caller's Notified reference becomes the runner's reference.
    pub(super) fn poll(self) {
        match self.state().transition_to_running() {
            TransitionToRunning::Success => {
                // SAFETY: the runner's reference keeps the task alive for the whole poll, so the
                // borrowed waker needs no reference of its own.
                let waker = unsafe { waker::borrowed(self.header_ptr()) };
                let mut cx = Context::from_waker(&waker);
                if poll_future(self.core(), self.id(), &mut cx).is_ready() {
                    self.complete();
                    return;
                }
                match self.state().transition_to_idle() {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkNotified => {
                        // SAFETY: the runner's reference is now the task's Notified reference.
                        let notified = unsafe { Notified::from_raw(self.header_ptr()) };
                        self.core().scheduler.yield_now(notified);
                    }
                    TransitionToIdle::OkDealloc => self.dealloc(),
                    TransitionToIdle::Cancelled => {
                        cancel_task(self.core(), self.id());
                        self.complete();
                    }
                }
            }
            TransitionToRunning::Cancelled => {
                cancel_task(self.core(), self.id());
                self.complete();
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Shutdown: cancels the task if it is idle, and drops the caller's reference either way.
    pub(super) fn shutdown(self) {
        match self.state().transition_to_shutdown() {
            TransitionToShutdown::Cancel => {
                // We hold RUNNING now: the same position as a runner, with the caller's reference.
                cancel_task(self.core(), self.id());
                self.complete();
            }
            TransitionToShutdown::Skip => self.drop_reference(),
        }
    }

    /// Hands the caller's reference, as a Notified, to the scheduler.
    pub(super) fn schedule(self) {
        // SAFETY: the caller's reference is the Notified one (`RawTask::schedule`'s contract).
        let notified = unsafe { Notified::from_raw(self.header_ptr()) };
        self.core().scheduler.schedule(notified);
    }

    pub(super) fn dealloc(self) {
        super::name::remove(self.id());
        // The last reference was dropped with AcqRel, so this load sees the final word.
        let complete = self.state().load().is_complete();
        // SAFETY: no references remain, so this thread has the only access; the cell came from
        // `Box::leak` in `allocate`. Boxed first, so that the memory is freed even if the future's
        // destructor below panics.
        let cell = unsafe { Box::from_raw(self.cell.as_ptr()) };
        if !complete {
            // Freed before it completed (never run, or its last reference dropped unrun): the
            // stage still holds the future. A complete task's stage is empty by now (see `Stage`).
            // SAFETY: we own the whole cell, and the stage holds the future.
            unsafe { cell.core.drop_future() };
        }
        drop(cell);
    }

    fn drop_reference(self) {
        if self.state().ref_dec() {
            self.dealloc();
        }
    }

    /// The stage holds the output; publish it, wake the joiner, leave the owned list, and drop the
    /// runner's reference.
    fn complete(self) {
        let snapshot = self.state().transition_to_complete();
        // Dropping an unwanted output and waking the joiner run user code: never let it unwind
        // through the runtime.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // SAFETY: COMPLETE without JOIN_INTEREST: no handle will read the stage, and the
                // completer owns it; it holds the output just stored.
                unsafe { self.core().drop_output() };
            } else if snapshot.is_join_waker_set() {
                // SAFETY: JOIN_WAKER is set, so the slot is read-only and ours to read.
                unsafe { self.trailer().wake_join() };
                let after = self.state().unset_waker_after_complete();
                if !after.is_join_interested() {
                    // SAFETY: the handle was dropped while we held the slot, so it left the
                    // waker for us; no one else touches the slot now.
                    unsafe { self.trailer().set_waker(None) };
                }
            }
        }));

        // SAFETY: borrow the runner's reference to identify the task; it is not dropped here.
        let me = ManuallyDrop::new(unsafe { Task::<S>::from_raw(self.header_ptr()) });
        let released = self.core().scheduler.release(&me);
        let count = match released {
            Some(list_ref) => {
                // Its reference is dropped together with the runner's below.
                let _ = list_ref.into_raw();
                2
            }
            None => 1,
        };
        if self.state().transition_to_terminal(count) {
            self.dealloc();
        }
    }

    pub(super) fn try_read_output(
        self,
        dst: &mut Poll<Result<T::Output, JoinError>>,
        waker: &Waker,
    ) {
        if can_read_output(self.state(), self.trailer(), waker) {
            // SAFETY: COMPLETE with JOIN_INTEREST: the stage belongs to the join handle and holds
            // the output.
            let output = unsafe { self.core().take_output() };
            // The stage is empty now: give up the interest at once, so that the stage's contents
            // stay known from the state word alone and the handle's drop has nothing left to clean.
            let dropped = self.state().transition_to_join_handle_dropped();
            if dropped.drop_waker {
                // A waker's destructor is user code: its panic is discarded, as the completer
                // discards one, rather than losing the output while it unwinds.
                // SAFETY: JOIN_WAKER is clear, so the slot belongs to the handle.
                let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                    self.trailer().set_waker(None)
                }));
            }
            *dst = Poll::Ready(output);
        }
    }

    pub(super) fn drop_join_handle_slow(self) {
        let dropped = self.state().transition_to_join_handle_dropped();
        if dropped.drop_output {
            // SAFETY: the task completed with JOIN_INTEREST, so the stage is the handle's and holds
            // the output.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe { self.core().drop_output() }));
        }
        if dropped.drop_waker {
            // Caught, so that a panicking waker destructor cannot skip `drop_reference` below
            // (the cell would leak).
            // SAFETY: JOIN_WAKER is clear, so the slot belongs to the handle.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                self.trailer().set_waker(None)
            }));
        }
        self.drop_reference();
    }
}

/// Polls the future inside the cooperative budget, catching a panic. On `Ready` the future has been
/// dropped and the stage holds the output. The caller owns the stage, which holds the future.
fn poll_future<T: Future, S>(core: &Core<T, S>, id: Id, cx: &mut Context<'_>) -> Poll<()> {
    let polled = catch_unwind(AssertUnwindSafe(|| {
        coop::budget(|| {
            // SAFETY: the runner owns the stage (RUNNING), which holds the future until it
            // completes.
            unsafe { core.poll_future(cx) }
        })
    }));
    let output = match polled {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => Err(JoinError::panic(id, payload)),
    };
    // SAFETY: still the runner. The finished (or panicked) future is dropped in place, before the
    // output takes its bytes; a panic from its destructor is caught, and the output kept.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { core.drop_future() }));
    // SAFETY: the runner owns the stage, which is empty now.
    unsafe { core.store_output(output) };
    Poll::Ready(())
}

/// Drops the future and stores the cancellation error. The caller owns the stage, which holds the
/// future.
fn cancel_task<T: Future, S>(core: &Core<T, S>, id: Id) {
    // SAFETY: the caller holds RUNNING and the future. A panic in the future's destructor is
    // reported as the task's panic, like one during a poll.
    let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { core.drop_future() }));
    let result = match dropped {
        Ok(()) => Err(JoinError::cancelled(id)),
        Err(payload) => Err(JoinError::panic(id, payload)),
    };
    // SAFETY: as above; the stage is empty now (a destructor that panicked still dropped the rest
    // of the future).
    unsafe { core.store_output(result) };
}

fn can_read_output(state: &State, trailer: &Trailer, waker: &Waker) -> bool {
    let snapshot = state.load();
    if snapshot.is_complete() {
        // Only the handle clears JOIN_INTEREST, and it does so once it has taken the output.
        assert!(
            snapshot.is_join_interested(),
            "JoinHandle polled after it returned the task's output"
        );
        return true;
    }
    if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER is set: the slot is read-only, and reading it is allowed.
        if unsafe { trailer.will_wake(waker) } {
            return false;
        }
        // Take the slot back to replace the waker.
        if state.unset_join_waker().is_err() {
            return true;
        }
    }
    set_join_waker(state, trailer, waker.clone())
}

/// Stores `waker` and publishes it; true if the task completed first (the output is readable).
fn set_join_waker(state: &State, trailer: &Trailer, waker: Waker) -> bool {
    // SAFETY: JOIN_WAKER is clear (checked or cleared by the caller), so the handle owns the slot.
    unsafe { trailer.set_waker(Some(waker)) };
    match state.set_join_waker() {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            // SAFETY: the flag was not set, so the slot is still ours.
            unsafe { trailer.set_waker(None) };
            true
        }
    }
}

impl<T: Future, S> Core<T, S> {
    /// # Safety
    /// The caller owns the stage, which holds the future.
    unsafe fn poll_future(&self, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.stage.with_mut(|stage| {
            // SAFETY: forwarded to the caller. The future is never moved out of the stage, only
            // dropped in place (`drop_future`), so pinning it here is sound.
            let future = unsafe { std::pin::Pin::new_unchecked(&mut *(*stage).future) };
            future.poll(cx)
        })
    }

    /// Drops the future where it lies; the stage is empty afterwards, even if the destructor panics
    /// (the rest of the future is dropped while that panic unwinds).
    ///
    /// # Safety
    /// The caller owns the stage, which holds the future.
    unsafe fn drop_future(&self) {
        // SAFETY: forwarded to the caller.
        self.stage
            .with_mut(|stage| unsafe { ManuallyDrop::drop(&mut (*stage).future) });
    }

    /// # Safety
    /// The caller owns the stage, which is empty.
    unsafe fn store_output(&self, output: Result<T::Output, JoinError>) {
        // SAFETY: forwarded to the caller; nothing is overwritten that needs dropping.
        self.stage.with_mut(|stage| unsafe {
            std::ptr::addr_of_mut!((*stage).output).write(ManuallyDrop::new(output))
        });
    }

    /// Moves the output out; the stage is empty afterwards.
    ///
    /// # Safety
    /// The caller owns the stage, which holds the output.
    unsafe fn take_output(&self) -> Result<T::Output, JoinError> {
        // SAFETY: forwarded to the caller.
        self.stage
            .with_mut(|stage| unsafe { ManuallyDrop::take(&mut (*stage).output) })
    }

    /// # Safety
    /// The caller owns the stage, which holds the output.
    unsafe fn drop_output(&self) {
        // SAFETY: forwarded to the caller.
        self.stage
            .with_mut(|stage| unsafe { ManuallyDrop::drop(&mut (*stage).output) });
    }
}

impl Trailer {
    /// # Safety
    /// The caller owns the slot (see `Trailer::waker`).
    unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: forwarded to the caller.
        let old = self
            .waker
            .with_mut(|ptr| unsafe { std::ptr::replace(ptr, waker) });
        drop(old);
    }

    /// # Safety
    /// The slot is readable by the caller (see `Trailer::waker`).
    unsafe fn will_wake(&self, other: &Waker) -> bool {
        // SAFETY: forwarded to the caller.
        self.waker.with(|ptr| match unsafe { &*ptr } {
            Some(waker) => waker.will_wake(other),
            None => false,
        })
    }

    /// # Safety
    /// The slot is readable by the caller.
    unsafe fn wake_join(&self) {
        // SAFETY: forwarded to the caller.
        self.waker.with(|ptr| match unsafe { &*ptr } {
            Some(waker) => waker.wake_by_ref(),
            None => panic!("JOIN_WAKER set without a waker"),
        })
    }
}
