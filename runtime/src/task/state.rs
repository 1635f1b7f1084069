//! The task's atomic state word: six flags, a reference count and a poll counter.
//!
//! The rules for each bit are in the module doc of [`crate::task`]; this file only implements the
//! transitions. Every transition is one atomic read-modify-write and returns a `#[must_use]` value
//! naming what the caller must do next.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;

/// The task is being polled (or cancelled) by exactly one thread, which owns the stage.
const RUNNING: usize = 0b00_0001;
/// The future is gone: the stage holds the output (or has been consumed). Never cleared once set.
const COMPLETE: usize = 0b00_0010;
/// A `Notified` reference for the task exists (in a queue, or about to be), or the task was woken
/// while running and its runner must reschedule it. Set by wakers, cleared only by the thread that
/// takes `RUNNING`.
const NOTIFIED: usize = 0b00_0100;
/// The task must be cancelled at the next opportunity. Never cleared once set.
const CANCELLED: usize = 0b00_1000;
/// A `JoinHandle` exists and has not taken the output. Only the handle clears it: when it takes the
/// output or, if it has not, when it is dropped.
const JOIN_INTEREST: usize = 0b01_0000;
/// The join waker slot holds a waker that the runtime side may read. While it is clear the
/// `JoinHandle` owns the slot; while it is set the slot may only be read, by the completing thread.
const JOIN_WAKER: usize = 0b10_0000;

const LIFECYCLE_MASK: usize = RUNNING | COMPLETE;
const FLAG_BITS: u32 = 6;

/// Width of the poll counter in the top bits of the word (for the task dump). Only 64-bit
/// targets have room for it: on narrower ones the reference count keeps every bit above the
/// flags and the counter reads 0.
#[cfg(target_pointer_width = "64")]
const POLL_BITS: u32 = 20;
#[cfg(not(target_pointer_width = "64"))]
const POLL_BITS: u32 = 0;
/// The poll counter: bumped by [`State::transition_to_running`] on every successful take of
/// `RUNNING` (a poll), in the same compare-exchange, and saturating at its maximum
/// ([`POLLS_MAX`]). Never touched by any other transition.
const POLL_MASK: usize = POLLS_MAX.wrapping_shl(usize::BITS - POLL_BITS);
/// One poll, in the poll field. Unused (and meaningless) when `POLL_BITS` is 0.
const POLL_ONE: usize = 1usize.wrapping_shl(usize::BITS - POLL_BITS);
/// The largest count the poll field holds: a task polled more often reads as this.
pub(crate) const POLLS_MAX: usize = (1usize << POLL_BITS) - 1;

/// One reference, in the reference-count field between the flags and the poll counter.
const REF_ONE: usize = 1 << FLAG_BITS;
/// The reference-count field: everything above the flags, below the poll counter (38 bits on
/// 64-bit targets). Additions of `REF_ONE` are plain integer additions on the whole word, so a
/// count that overflowed its field would carry into the poll counter: [`State::ref_inc`] aborts
/// once the field's top bit is set, and every other addition creates at most one reference
/// beyond what `ref_inc` counted (the one `Notified`), so a carry would take 2^37 threads
/// incrementing at once between one's `fetch_add` and its check: it cannot happen.
const REF_MASK: usize = !(REF_ONE - 1) & !POLL_MASK;
/// The top bit of the reference-count field: `ref_inc` refuses to go past it.
const REF_HIGH: usize = REF_MASK & !(REF_MASK >> 1);

/// A copy of the state word, read through named accessors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE_MASK == 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_MASK) >> FLAG_BITS
    }
    /// Polls so far, saturating at [`POLLS_MAX`] (always 0 where the word has no room for it).
    pub(crate) fn polls(self) -> usize {
        if POLL_BITS == 0 {
            0
        } else {
            (self.0 & POLL_MASK).wrapping_shr(usize::BITS - POLL_BITS)
        }
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .field("polls", &self.polls())
            .finish()
    }
}

/// What a worker holding a `Notified` reference does after trying to take `RUNNING`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// The caller owns the stage: poll the future.
    Success,
    /// The caller owns the stage, and the task was cancelled: drop the future.
    Cancelled,
    /// Another thread owns the task or it is complete; the caller's reference was dropped.
    Failed,
    /// As `Failed`, and that was the last reference: deallocate.
    Dealloc,
}

/// What the runner does after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// The task is idle; the runner's reference was dropped.
    Ok,
    /// The task was woken while it ran: the runner's reference becomes a new `Notified`.
    OkNotified,
    /// As `Ok`, and that was the last reference: deallocate.
    OkDealloc,
    /// The task was cancelled while it ran: the runner still owns the stage and must cancel it.
    Cancelled,
}

/// What a waker does after marking the task notified.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Nothing: someone else will (or already did) schedule the task, or it is complete.
    DoNothing,
    /// The caller now holds a reference that is a `Notified`: hand it to the scheduler.
    Submit,
    /// The caller's reference was the last one: deallocate.
    Dealloc,
}

/// What the runtime's shutdown does with a task.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToShutdown {
    /// The task was idle: the caller now owns the stage and must cancel the task.
    Cancel,
    /// The task is running (its runner will see `CANCELLED`) or complete: only drop the reference.
    Skip,
}

/// What a dropped `JoinHandle` must clean up itself.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct JoinHandleDropped {
    /// The task completed first, so the output is the handle's to drop.
    pub(crate) drop_output: bool,
    /// The join waker slot belongs to the handle, which drops whatever is in it.
    pub(crate) drop_waker: bool,
}

/// The atomic state word. See the module doc of [`crate::task`] for the rules.
pub(crate) struct State {
    val: AtomicUsize,
}

impl State {
    /// A new task: notified (it is about to be scheduled), with a join handle, holding `refs`
    /// references.
    pub(crate) fn new(refs: usize) -> State {
        State {
            val: AtomicUsize::new((refs * REF_ONE) | NOTIFIED | JOIN_INTEREST),
        }
    }

    /// A new task as [`new`](State::new), whose poll counter reads `polls` already (tests of the
    /// counter's saturation).
    #[cfg(test)]
    pub(crate) fn with_polls(refs: usize, polls: usize) -> State {
        assert!(polls <= POLLS_MAX);
        let state = State::new(refs);
        state.val.fetch_or(
            polls.wrapping_shl(usize::BITS - POLL_BITS),
            Ordering::Relaxed,
        );
        state
    }

    /// Acquire: pairs with the Release of every transition, so the stage written by the last
    /// owner is visible.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Ordering::Acquire))
    }

    /// Runs `f` in a compare-and-swap loop. `f` returns the new word, or `None` to stop.
    /// AcqRel: the thread taking or giving up ownership of the stage synchronizes with the last one.
    fn fetch_update<R>(&self, mut f: impl FnMut(Snapshot) -> (R, Option<Snapshot>)) -> R {
        let mut curr = self.load();
        loop {
            let (ret, next) = f(curr);
            let Some(next) = next else { return ret };
            match self.val.compare_exchange_weak(
                curr.0,
                next.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return ret,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called with a `Notified` reference, which this transition consumes on failure.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_notified(), "{curr:?}");
            if !curr.is_idle() {
                // Someone else runs it, or it is complete: give our reference back.
                debug_assert!(curr.ref_count() > 0);
                let next = Snapshot(curr.0 - REF_ONE);
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            let mut next = Snapshot((curr.0 | RUNNING) & !NOTIFIED);
            let action = if curr.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                // A poll: counted in the word's top bits by this same compare-exchange, so the
                // dump's poll count costs no atomic operation of its own. The field is the top
                // of the word, so a full one is the add's carry out: saturate by dropping that
                // add (an add and a conditional move, no branch).
                if POLL_BITS > 0 {
                    let (counted, full) = next.0.overflowing_add(POLL_ONE);
                    if !full {
                        next.0 = counted;
                    }
                }
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// Called by the runner after a poll returned `Pending`; consumes the runner's reference
    /// unless the answer is `OkNotified` or `Cancelled`.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_running(), "{curr:?}");
            if curr.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = Snapshot(curr.0 & !RUNNING);
            let action = if curr.is_notified() {
                // The runner's reference becomes the new Notified.
                TransitionToIdle::OkNotified
            } else {
                next.0 -= REF_ONE;
                if next.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(next))
        })
    }

    /// Called by the runner once the stage holds the output: clears `RUNNING`, sets `COMPLETE`.
    /// Returns the word as it was before.
    #[must_use]
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        // AcqRel: Release publishes the output to the JoinHandle's Acquire load; Acquire sees the
        // join waker the handle stored before setting JOIN_WAKER.
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete(), "{prev:?}");
        prev
    }

    /// Drops `count` references after completion; true if they were the last (deallocate).
    #[must_use]
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.ref_count() >= count, "{prev:?} - {count}");
        prev.ref_count() == count
    }

    /// `Waker::wake`: consumes the waker's reference, except on `Submit`, where one new reference
    /// was created for the `Notified` and the caller still holds the waker's: it keeps the task
    /// (and so its scheduler) alive while the `Notified` is being queued, and the caller drops it
    /// once `schedule` has returned (a worker may run and free the task as soon as it is queued).
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update(|curr| {
            debug_assert!(curr.ref_count() > 0);
            let (action, next) = if curr.is_running() {
                // The runner reschedules it; it holds a reference, so ours is not the last.
                (
                    TransitionToNotified::DoNothing,
                    (curr.0 | NOTIFIED) - REF_ONE,
                )
            } else if curr.is_complete() || curr.is_notified() {
                let next = curr.0 - REF_ONE;
                if Snapshot(next).ref_count() == 0 {
                    (TransitionToNotified::Dealloc, next)
                } else {
                    (TransitionToNotified::DoNothing, next)
                }
            } else {
                (TransitionToNotified::Submit, (curr.0 | NOTIFIED) + REF_ONE)
            };
            (action, Some(Snapshot(next)))
        })
    }

    /// `Waker::wake_by_ref`: on `Submit`, one new reference was created for the `Notified`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update(|curr| {
            if curr.is_complete() || curr.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if curr.is_running() {
                (
                    TransitionToNotified::DoNothing,
                    Some(Snapshot(curr.0 | NOTIFIED)),
                )
            } else {
                let next = Snapshot((curr.0 | NOTIFIED) + REF_ONE);
                (TransitionToNotified::Submit, Some(next))
            }
        })
    }

    /// `abort()`: marks the task cancelled; on `Submit`, one new reference was created for the
    /// `Notified` that brings the task to a worker, which drops the future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> TransitionToNotified {
        self.fetch_update(|curr| {
            if curr.is_complete() || curr.is_cancelled() {
                (TransitionToNotified::DoNothing, None)
            } else if curr.is_running() || curr.is_notified() {
                // The runner, or the worker that dequeues it, sees CANCELLED.
                let next = Snapshot(curr.0 | CANCELLED | NOTIFIED);
                (TransitionToNotified::DoNothing, Some(next))
            } else {
                let next = Snapshot((curr.0 | CANCELLED | NOTIFIED) + REF_ONE);
                (TransitionToNotified::Submit, Some(next))
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled, and takes `RUNNING` if it was idle.
    pub(crate) fn transition_to_shutdown(&self) -> TransitionToShutdown {
        self.fetch_update(|curr| {
            if curr.is_idle() {
                let next = Snapshot(curr.0 | CANCELLED | RUNNING);
                (TransitionToShutdown::Cancel, Some(next))
            } else {
                let next = Snapshot(curr.0 | CANCELLED);
                (TransitionToShutdown::Skip, Some(next))
            }
        })
    }

    /// Fast path of dropping a `JoinHandle` while the task has neither an output nor a join waker
    /// for the handle to clean up: clears `JOIN_INTEREST` and drops the handle's reference in one
    /// step. Fails, changing nothing, when the slow path is needed.
    pub(crate) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        self.fetch_update(|curr| {
            // Without JOIN_INTEREST, the handle took the output, so the task is complete.
            debug_assert!(curr.is_join_interested() || curr.is_complete());
            if curr.is_complete() || curr.is_join_waker_set() || curr.ref_count() < 2 {
                return (Err(()), None);
            }
            (Ok(()), Some(Snapshot((curr.0 & !JOIN_INTEREST) - REF_ONE)))
        })
    }

    /// Slow path of dropping a `JoinHandle`: clears `JOIN_INTEREST` and, if the task is not complete,
    /// `JOIN_WAKER` too. Does not drop the handle's reference.
    ///
    /// The handle also calls it as soon as it takes the output: from then on it holds only its
    /// reference, and the call made when it is dropped finds nothing to do.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> JoinHandleDropped {
        self.fetch_update(|curr| {
            if !curr.is_join_interested() {
                debug_assert!(curr.is_complete(), "{curr:?}");
                let nothing = JoinHandleDropped {
                    drop_output: false,
                    drop_waker: false,
                };
                return (nothing, None);
            }
            let mut next = curr.0 & !JOIN_INTEREST;
            if !curr.is_complete() {
                next &= !JOIN_WAKER;
            }
            let ret = JoinHandleDropped {
                drop_output: curr.is_complete(),
                drop_waker: next & JOIN_WAKER == 0,
            };
            (ret, Some(Snapshot(next)))
        })
    }

    /// The `JoinHandle` publishes the waker it wrote into the slot. Fails (returning the word) if the
    /// task completed meanwhile, in which case the slot is still the handle's.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The `JoinHandle` takes the slot back to replace the waker. Fails if the task completed.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The completing thread hands the slot back after waking the join waker. Returns the new word:
    /// if `JOIN_INTEREST` is gone, the handle was dropped meanwhile and the completer drops the waker.
    #[must_use]
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, Ordering::AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// Adds a reference (a waker clone). Relaxed: a new reference is made from an existing one, so
    /// the object is already visible; the count only has to be exact.
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev & REF_HIGH != 0 {
            // Half the count's field used: overflowing it would free a live task (and carry
            // into the poll counter first); refuse, as `Arc` does at `isize::MAX`. The other
            // half is the margin for increments racing this check (see `REF_MASK`).
            std::process::abort();
        }
    }

    /// Drops a reference; true if it was the last. AcqRel: the last dropper sees every write
    /// made through the other references before it deallocates.
    #[must_use]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}
