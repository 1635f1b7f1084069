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
//! - Only the owner stores a non-null pointer, so a null that the owner loads stays null until
//!   the owner itself stores: the owner's plain load of null is exact.
//! - The owner puts a task into an empty slot with a plain (Release) store; into a full one with
//!   a swap, which hands back the task it displaces.
//! - The owner takes with a swap, after a plain load has seen the slot non-null.
//! - The rescuer takes with a swap.
//!
//! Every change of a slot that holds a task is a swap, so each task put in is taken out exactly
//! once, by one of them. A worker that runs a chain of tasks, each waking or spawning the next
//! (a message ping-pong), pays one locked instruction per task: the take (the store instead of a
//! swap made `chained_spawn` about 10% faster). Tested by the loom model in `lifo::loom_tests`
//! (which checks a swap in place of the store: see `put`) and by a stress test of the store
//! path in `lifo::tests`.

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
        let task = task.into_ptr().as_ptr();
        // Relaxed: only this thread stores a non-null pointer, so a null here stays null until
        // the store below (the rescuer only empties the slot). In C11 terms: a rescuer's swap
        // reads the value just before it in modification order, so one that read null is
        // ordered before the store, and one ordered after it takes the task. Loom cannot check
        // this (it orders a plain store only after the stores its thread has seen, and then lets
        // this thread read back a rescuer's null in place of its own task: a false report), so
        // loom builds check the swap below instead, for every put.
        if cfg!(not(filch_loom)) && self.ptr.load(Ordering::Relaxed).is_null() {
            // Release: pairs with the Acquire in `rescue`, which then owns the task.
            self.ptr.store(task, Ordering::Release);
            return None;
        }
        // Full, as far as this thread knows: a rescuer may empty it meanwhile, so the displaced
        // task comes out through a swap. Release: as above. Acquire: the displaced pointer was
        // stored by this thread, but AcqRel is the same instruction as Release on the platforms
        // we run on.
        let prev = self.ptr.swap(task, Ordering::AcqRel);
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

#[cfg(all(test, not(filch_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;

    struct Counted(Box<usize>);

    impl Pointer for Counted {
        fn into_ptr(self) -> NonNull<()> {
            NonNull::from(Box::leak(self.0)).cast()
        }

        unsafe fn from_ptr(ptr: NonNull<()>) -> Self {
            // SAFETY: the caller's contract: `ptr` came from `into_ptr`.
            Counted(unsafe { Box::from_raw(ptr.as_ptr().cast()) })
        }
    }

    /// The owner puts and takes (mostly into an empty slot: the plain-store path) while another
    /// thread rescues as fast as it can: every task comes out exactly once.
    #[test]
    fn rescues_racing_puts_into_an_empty_slot_lose_and_duplicate_nothing() {
        const TASKS: usize = 200_000;
        let slot = Arc::new(LifoSlot::<Counted>::new());
        // `true` until the rescuer runs (it clears it), then `true` again when the owner is done.
        let done = Arc::new(AtomicBool::new(true));
        let rescued_sum = Arc::new(AtomicUsize::new(0));
        let rescuer = {
            let (slot, done, sum) = (slot.clone(), done.clone(), rescued_sum.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                done.store(false, Relaxed);
                while !done.load(Relaxed) {
                    if let Some(task) = slot.rescue() {
                        sum.fetch_add(*task.0, Relaxed);
                        n += 1;
                    }
                }
                n
            })
        };
        while done.load(Relaxed) {
            std::hint::spin_loop();
        }
        let (mut sum, mut n) = (0, 0);
        let mut count = |task: Option<Counted>| {
            if let Some(task) = task {
                sum += *task.0;
                n += 1;
            }
        };
        for i in 1..=TASKS {
            count(slot.put(Counted(Box::new(i))));
            if i % 3 != 0 {
                count(slot.take());
            }
        }
        count(slot.take());
        done.store(true, Relaxed);
        let rescued = rescuer.join().unwrap();
        assert_eq!(n + rescued, TASKS);
        assert_eq!(sum + rescued_sum.load(Relaxed), TASKS * (TASKS + 1) / 2);
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

    /// A chain: the owner takes each task and puts the next into the slot it just emptied (the
    /// store path of `put`), while two rescues race it.
    #[test]
    fn a_chain_of_puts_into_an_empty_slot_loses_nothing_to_rescues() {
        loom::model(|| {
            let slot = Arc::new(LifoSlot::<Boxed>::new());
            let mut out = Vec::new();
            out.extend(slot.put(Boxed(Box::new(1))).map(|b| *b.0));
            let rescuer = {
                let slot = slot.clone();
                thread::spawn(move || {
                    let mut got: Vec<usize> = slot.rescue().map(|b| *b.0).into_iter().collect();
                    got.extend(slot.rescue().map(|b| *b.0));
                    got
                })
            };
            out.extend(slot.take().map(|b| *b.0));
            out.extend(slot.put(Boxed(Box::new(2))).map(|b| *b.0));
            out.extend(slot.take().map(|b| *b.0));
            out.extend(rescuer.join().unwrap());
            out.sort_unstable();
            assert_eq!(out, [1, 2]);
            assert!(slot.rescue().is_none());
        });
    }
}
