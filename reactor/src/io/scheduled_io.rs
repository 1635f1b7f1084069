//! The per-source readiness word and wakers: the meeting point of the driver and the tasks.

use super::ready::{Interest, Ready};
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// Readiness bits in the low byte.
const READY_MASK: usize = 0xff;
/// The driver's turn counter when readiness was last set, above them.
const TICK_SHIFT: usize = 8;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;
/// The driver shut down: every wait ends at once with an error.
const SHUTDOWN: usize = 1 << 24;

/// One registered source's state, shared by the driver (which sets readiness from events) and
/// the tasks doing I/O on it (which wait for readiness and clear it on `WouldBlock`).
///
/// # The protocol
///
/// - The driver, for each event: `set_readiness` (OR in the bits, stamp the turn's tick), then
///   `take_wakers` under the waiters lock, then wakes them with no lock held.
/// - A task: `poll_ready` loads the word; if the bits it wants are set it goes ahead with the
///   syscall; if not, it stores its waker under the waiters lock and loads the word again before
///   returning `Pending`. Either the driver's `take_wakers` (after its set) finds the waker, or the
///   task's second load (after the driver's set, ordered by the lock) sees the bits: no wake-up
///   is lost.
/// - On `WouldBlock`, the task calls `clear_readiness` with the event it acted on: the bits are
///   cleared only if the tick is unchanged, so readiness set by a newer event is never lost.
///   Closed bits are never cleared. The error bit is: the pending error it announces goes to the
///   first operation that asks, so a `WouldBlock` shows it is gone (were it kept, every later
///   wait would find the bit and retry the operation at once, forever).
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The readiness a task saw, and when: the argument of `clear_readiness`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    tick: usize,
    pub(crate) is_shutdown: bool,
}

impl ReadyEvent {
    /// The same event with only the bits of `ready` that are in `keep`: to clear less than a
    /// `WouldBlock` would.
    pub(crate) fn only(self, keep: Ready) -> ReadyEvent {
        ReadyEvent {
            ready: self.ready & keep,
            ..self
        }
    }
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Driver side: ORs in `ready`, stamped with the driver's `tick`.
    pub(crate) fn set_readiness(&self, tick: u16, ready: Ready) {
        let tick = usize::from(tick) << TICK_SHIFT;
        // AcqRel: the Release half publishes the bits to the Acquire load in `poll_ready`.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |curr| {
                Some((curr & !TICK_MASK) | tick | usize::from(ready.bits()))
            });
    }

    /// Driver side, after `set_readiness`: the wakers interested in `ready`.
    pub(crate) fn take_wakers(&self, ready: Ready, out: &mut Vec<Waker>) {
        let mut waiters = lock(&self.waiters);
        if ready.intersects(Ready::mask_for(Interest::READABLE)) {
            out.extend(waiters.reader.take());
        }
        if ready.intersects(Ready::mask_for(Interest::WRITABLE)) {
            out.extend(waiters.writer.take());
        }
    }

    /// The driver is gone: mark the source so every wait ends, and hand out every waker.
    pub(crate) fn shutdown(&self, out: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let mut waiters = lock(&self.waiters);
        out.extend(waiters.reader.take());
        out.extend(waiters.writer.take());
    }

    fn event(curr: usize, interest: Interest) -> ReadyEvent {
        ReadyEvent {
            ready: Ready::from_bits((curr & READY_MASK) as u8) & Ready::mask_for(interest),
            tick: curr & TICK_MASK,
            is_shutdown: curr & SHUTDOWN != 0,
        }
    }

    /// Task side: `Ready` once the source is ready for `interest` (or the driver shut down);
    /// otherwise stores the task's waker and returns `Pending`.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<ReadyEvent> {
        let event = Self::event(self.readiness.load(Ordering::Acquire), interest);
        if !event.ready.is_empty() || event.is_shutdown {
            return Poll::Ready(event);
        }
        let mut waiters = lock(&self.waiters);
        let stale = |slot: &Option<Waker>| !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        let new_reader = interest.is_readable() && stale(&waiters.reader);
        let new_writer = interest.is_writable() && stale(&waiters.writer);
        let mut replaced = (None, None);
        if new_reader || new_writer {
            // A waker's clone and drop are user code: never under the waiters' lock. The
            // readiness check below is still made under the lock that stores the waker.
            drop(waiters);
            let reader = new_reader.then(|| cx.waker().clone());
            let writer = new_writer.then(|| cx.waker().clone());
            waiters = lock(&self.waiters);
            if let Some(reader) = reader {
                replaced.0 = waiters.reader.replace(reader);
            }
            if let Some(writer) = writer {
                replaced.1 = waiters.writer.replace(writer);
            }
        }
        // Checked again under the lock: see the protocol above.
        let event = Self::event(self.readiness.load(Ordering::Acquire), interest);
        drop(waiters);
        // The replaced wakers go now, with no lock held.
        drop(replaced);
        if !event.ready.is_empty() || event.is_shutdown {
            return Poll::Ready(event);
        }
        Poll::Pending
    }

    /// Task side, without waiting: the event if the source is ready for `interest` (or the driver
    /// shut down); `None` otherwise. Stores no waker (the `try_` operations).
    pub(crate) fn ready_now(&self, interest: Interest) -> Option<ReadyEvent> {
        let event = Self::event(self.readiness.load(Ordering::Acquire), interest);
        (!event.ready.is_empty() || event.is_shutdown).then_some(event)
    }

    /// Task side, after the operation returned `WouldBlock`: forgets the readiness in `event`
    /// (error bit included, closed bits excepted), unless the driver reported a newer event
    /// meanwhile.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let sticky = Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        let clear = usize::from((event.ready - sticky).bits());
        // Fails (changing nothing) if a newer event moved the tick, or if there is nothing to clear.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |curr| {
                (curr & TICK_MASK == event.tick && curr & clear != 0).then_some(curr & !clear)
            });
    }
}
