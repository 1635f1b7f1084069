//! The current-thread flavour: a runtime without worker threads.
//!
//! It is the multi-thread scheduler with one worker and no thread: the worker (its queues, its
//! LIFO slot, its parker) sits in a [`Lender`] and is lent to each `block_on`, whose thread runs
//! the tasks, turns the driver and parks exactly as a worker thread would, polling the
//! `block_on` future whenever it is woken (`Worker::block_on`). Everything else — task cells,
//! wake-ups, the injector, `Idle`, the driver hand-off, shutdown — is the same code.
//!
//! So tasks run only while some thread is inside `block_on`; tasks spawned meanwhile (from
//! another thread, through a `Handle`) wait in the injector, and timers and sockets are not
//! watched. Two threads may call `block_on` at once: one holds the worker, the other polls its
//! own future on its own parker and takes the worker as soon as it is given back (it registers
//! its waker first, then looks again, so the hand-back is never missed).
//!
//! Shutdown: the runtime's drop takes the worker back (no `block_on` can be running then: it
//! borrows the runtime), drops what its queues hold and counts it out as an exiting worker
//! thread would; the shared shutdown then cancels every task left.

use super::worker::Worker;
use crate::park_thread;
use std::future::Future;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

/// The current-thread runtime's one worker, and the threads waiting to borrow it.
pub(crate) struct Lender {
    worker: Mutex<Option<Box<Worker>>>,
    /// Threads inside `block_on` waiting for the worker, woken when it is given back.
    waiting: Mutex<Vec<Waker>>,
}

/// Gives the worker back (also when the `block_on` future panics) and wakes the waiting threads.
struct GiveBack<'a> {
    lender: &'a Lender,
    worker: Option<Box<Worker>>,
}

impl Drop for GiveBack<'_> {
    fn drop(&mut self) {
        *lock(&self.lender.worker) = self.worker.take();
        let waiting = std::mem::take(&mut *lock(&self.lender.waiting));
        for waker in waiting {
            waker.wake();
        }
    }
}

impl Lender {
    pub(super) fn new(worker: Worker) -> Lender {
        Lender {
            worker: Mutex::new(Some(Box::new(worker))),
            waiting: Mutex::new(Vec::new()),
        }
    }

    /// Runs `future` to completion on this thread, running the runtime's tasks meanwhile while
    /// this thread holds the worker. The caller has entered the runtime.
    pub(crate) fn block_on<F: Future>(&self, future: F, rt: &super::Handle) -> F::Output {
        let _guard = park_thread::enter_block_on();
        let mut future = pin!(future);
        park_thread::with_parker(|parker, waker| {
            // While another thread holds the worker, this future is polled here, outside the
            // worker: counted busy from each wake-up until its poll returns, as a multi-thread
            // runtime's `block_on` future, so that a paused clock does not jump under it.
            let mut counted: Option<park_thread::CountedRoot> = None;
            loop {
                // (The guard must go before the worker runs: giving it back locks again.)
                let taken = lock(&self.worker).take();
                if let Some(worker) = taken {
                    // The worker polls the future from now on (and counts it as its own work).
                    drop(counted.take());
                    let give_back = GiveBack {
                        lender: self,
                        worker: Some(worker),
                    };
                    let worker = give_back.worker.as_deref().expect("just taken");
                    return worker.block_on(future.as_mut());
                }
                // Another thread runs the tasks: register for the worker's return first, then
                // look again, so that a hand-back in between is not missed.
                let mut waiting = lock(&self.waiting);
                if !waiting.iter().any(|w| w.will_wake(waker)) {
                    waiting.push(waker.clone());
                }
                drop(waiting);
                if lock(&self.worker).is_some() {
                    continue;
                }
                // Counted as woken when first made: the future is about to be polled.
                let root = counted.get_or_insert_with(|| park_thread::CountedRoot::new(rt, parker));
                match root.poll_if_woken(future.as_mut()) {
                    Some(Poll::Ready(output)) => return output,
                    Some(Poll::Pending) => {}
                    None => parker.park(),
                }
            }
        })
    }

    /// At shutdown: takes the worker back and counts it out. False if a thread still holds it
    /// (not possible through the public API), in which case nobody may wait for it to exit.
    pub(crate) fn shut_down(&self) -> bool {
        let worker = lock(&self.worker).take();
        match worker {
            Some(worker) => {
                worker.exit_lent();
                true
            }
            None => false,
        }
    }
}

/// Locks `mutex`; the lender's state stays consistent across a panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
