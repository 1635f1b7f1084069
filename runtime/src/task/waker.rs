//! The `Waker` of a task: a counted pointer to its header with one static vtable for all tasks.

use super::raw::{Header, RawTask};
use super::state::TransitionToNotified;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows the caller's reference instead of holding one: cloning it makes a counted
/// waker, dropping it does nothing.
///
/// # Safety
/// The task must stay alive while the returned waker (or anything borrowing it) is in use.
pub(super) unsafe fn borrowed(header: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(header.as_ptr() as *const (), &VTABLE);
    // SAFETY: `VTABLE`'s functions uphold the RawWaker contract for a pointer to a live header.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: every waker of this vtable was made from a live header pointer and holds (or
    // borrows) a reference, so the header is live during the call.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    raw(ptr).header().state.ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    let task = raw(ptr);
    match task.header().state.transition_to_notified_by_val() {
        TransitionToNotified::Submit => {
            // The waker's reference outlives the call, so the scheduler (which the cell owns)
            // is alive for all of `schedule`; dropped only afterwards.
            task.schedule();
            if task.header().state.ref_dec() {
                task.dealloc();
            }
        }
        TransitionToNotified::Dealloc => task.dealloc(),
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    let task = raw(ptr);
    match task.header().state.transition_to_notified_by_ref() {
        TransitionToNotified::Submit => task.schedule(),
        TransitionToNotified::DoNothing => {}
        TransitionToNotified::Dealloc => unreachable!("wake_by_ref does not drop a reference"),
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    let task = raw(ptr);
    if task.header().state.ref_dec() {
        task.dealloc();
    }
}
