//! The LIFO slot: the task a worker runs next, which another thread may take if the worker is
//! stuck.
//!
//! A task woken or spawned by a running task goes to its worker's LIFO slot, so that a message
//! ping-pong runs back to back on one warm core. The slot is not stealable: a searching worker
//! never takes it (tokio made its slot stealable in 1.51 and went back, after more wake-ups and
//! context switches). But a worker blocked inside one poll (a `std::thread::sleep`, a blocking
//! call) would keep its slot's task waiting for as long as it blocks, whatever the other
//! workers do. So the slot is one atomic pointer, which exactly one other party may empty: the
//! **rescue**, which the slow-poll watchdog runs for a worker it has seen inside one poll for
//! longer than the rescue threshold (`watchdog.rs`, `Shared::rescue`).
//!
//! # Protocol
//!
//! - Only the owner puts a task in (`put`, a swap: the task it displaces comes back).
//! - The owner takes with a swap too, after a plain load has seen the slot non-null (only the
//!   owner stores a non-null pointer, so a null load is exact and costs no locked operation).
//! - The rescuer takes with a swap.
//!
//! Every change of a non-null pointer is a swap, so each task put in is taken out exactly once,
//! by one of them. Tested by the loom model in `lifo::loom_tests`.

use crate::loom::sync::atomic::{AtomicPtr, Ordering};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// What the slot holds: a type that is one owned pointer.
pub(crate) trait Pointer: Sized {
    fn into_ptr(self) -> NonNull<()>;

    /// # Safety
    /// `ptr` came from [`into_ptr`](Pointer::into_ptr) and is turned back only once.
    unsafe fn from_ptr(ptr: NonNull<()>) -> Self;
}

/// A worker's LIFO slot.
pub(crate) struct LifoSlot<T: Pointer> {
    ptr: AtomicPtr<()>,
    _p: PhantomData<T>,
}

// SAFETY: the slot owns the `T` it points to, handing it to exactly one thread (see the
// protocol above); a `T: Send` may move to any of them.
unsafe impl<T: Pointer + Send> Send for LifoSlot<T> {}
// SAFETY: as above: shared access only ever moves a whole `T` out, through a swap.
unsafe impl<T: Pointer + Send> Sync for LifoSlot<T> {}

impl<T: Pointer> LifoSlot<T> {
    pub(crate) fn new() -> LifoSlot<T> {
        LifoSlot {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _p: PhantomData,
        }
    }

    /// Puts `task` in, returning the task it displaces. Only the owner calls this.
    #[inline]
    pub(crate) fn put(&self, task: T) -> Option<T> {
        // Release: pairs with the Acquire in `rescue`, which then owns the task. Acquire: the
        // displaced pointer was stored by this thread (the rescuer only stores null), but AcqRel
        // is the same instruction as Release on the platforms we run on.
        let prev = self.ptr.swap(task.into_ptr().as_ptr(), Ordering::AcqRel);
        // SAFETY: a non-null pointer in the slot came from `into_ptr`, and the swap took it out
        // for us alone.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }

    /// Takes the task out. Only the owner calls this.
    #[inline]
    pub(crate) fn take(&self) -> Option<T> {
        // Relaxed: only this thread stores a non-null pointer, so null here is exact.
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return None;
        }
        self.rescue()
    }

    /// Takes the task out from any thread: the owner (through `take`), or a rescuer.
    pub(crate) fn rescue(&self) -> Option<T> {
        // Acquire: pairs with the Release in `put`.
        let prev = self.ptr.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: as in `put`.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }
}

impl<T: Pointer> Drop for LifoSlot<T> {
    fn drop(&mut self) {
        drop(self.rescue());
    }
}

#[cfg(all(test, filch_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    struct Boxed(Box<usize>);

    impl Pointer for Boxed {
        fn into_ptr(self) -> NonNull<()> {
            NonNull::from(Box::leak(self.0)).cast()
        }

        unsafe fn from_ptr(ptr: NonNull<()>) -> Self {
            // SAFETY: from `into_ptr`, once.
            Boxed(unsafe { Box::from_raw(ptr.as_ptr().cast()) })
        }
    }

    /// The owner puts two tasks (the second displaces the first) and takes, while a rescuer
    /// takes: every task comes out exactly once (a double take would be a double free, which
    /// loom reports; a lost one, a leak, which it reports too).
    #[test]
    fn each_task_leaves_the_slot_once() {
        loom::model(|| {
            let slot = Arc::new(LifoSlot::<Boxed>::new());
            let rescuer = {
                let slot = slot.clone();
                thread::spawn(move || slot.rescue().map(|b| *b.0))
            };
            let mut out = Vec::new();
            out.extend(slot.put(Boxed(Box::new(1))).map(|b| *b.0));
            out.extend(slot.put(Boxed(Box::new(2))).map(|b| *b.0));
            out.extend(slot.take().map(|b| *b.0));
            out.extend(rescuer.join().unwrap());
            out.sort_unstable();
            assert_eq!(out, [1, 2]);
            assert!(slot.rescue().is_none());
        });
    }
}
