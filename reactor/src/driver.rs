//! The driver: one `mio::Poll`, turned by whichever worker is idle.

use crate::io::scheduled_io::ScheduledIo;
use crate::io::slab::{Slab, SIGNAL_TOKEN, TIMER_TOKEN, WAKER_TOKEN};
use crate::io::Ready;
use crate::loom::lock;
use crate::loom::sync::Mutex;
use crate::precise::PreciseTimer;
use crate::time::Timers;
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::Duration;

/// Events fetched per turn.
const EVENTS_CAPACITY: usize = 1024;

/// The I/O and timer driver. Whoever owns it (the runtime keeps it behind a lock, taken by an idle
/// worker) calls [`Driver::turn`]; everyone else uses a [`Handle`].
pub struct Driver {
    poll: mio::Poll,
    events: mio::Events,
    handle: Handle,
    /// Wakes the poller at sub-millisecond deadlines (see `precise.rs`).
    precise: PreciseTimer,
    /// Bumped every turn; stamps readiness so that a stale `WouldBlock` cannot clear a newer event.
    tick: u16,
}

/// A reading of a driver's counters ([`Handle::metrics`]); each value is read on its own
/// (relaxed), so they may be a few events apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverMetrics {
    /// Timers registered now (pending `sleep`s, `timeout`s and intervals).
    pub timers: usize,
    /// I/O sources registered now (sockets, pipes, pidfds, the signal pipe).
    pub io_sources: usize,
    /// Turns of the driver so far (blocking and non-blocking).
    pub turns: u64,
    /// Events those turns fetched from the OS poller.
    pub events: u64,
}

/// A cloneable reference to a driver: registers sources and timers, and interrupts a blocked turn.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    registry: mio::Registry,
    waker: mio::Waker,
    slab: Mutex<Slab>,
    /// Registered sources, readable without the slab lock.
    num_sources: AtomicUsize,
    /// Turns made, and the events they fetched (readiness, wake-ups and signals counted alike):
    /// written by the driver's holder alone (a load and a store, no read-modify-write), read by
    /// [`Handle::metrics`].
    turns: AtomicU64,
    events: AtomicU64,
    pub(crate) timers: Timers,
    is_shutdown: AtomicBool,
    /// Called when a timer or a source is registered while no thread is blocked in the driver
    /// (see [`Handle::set_unwatched_hook`]).
    unwatched_hook: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// This driver's signal listeners and its registration of the signals' self-pipe.
    #[cfg(unix)]
    signals: Mutex<SignalSource>,
}

/// A driver's part in signal delivery (`signal/mod.rs`): while it has listeners, its own clone
/// of the self-pipe's read end is registered with its poller (and counted in `num_sources`).
#[cfg(unix)]
struct SignalSource {
    listeners: usize,
    /// `Some` exactly while `listeners > 0` and the driver is not shut down.
    receiver: Option<mio::net::UnixStream>,
}

impl Driver {
    /// A new driver with its own `mio::Poll` (an epoll or kqueue instance).
    pub fn new() -> io::Result<Driver> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let precise = PreciseTimer::new(poll.registry(), TIMER_TOKEN)?;
        Ok(Driver {
            poll,
            precise,
            events: mio::Events::with_capacity(EVENTS_CAPACITY),
            handle: Handle {
                inner: Arc::new(Inner {
                    registry,
                    waker,
                    slab: Mutex::new(Slab::new()),
                    num_sources: AtomicUsize::new(0),
                    turns: AtomicU64::new(0),
                    events: AtomicU64::new(0),
                    timers: Timers::new(),
                    is_shutdown: AtomicBool::new(false),
                    unwatched_hook: OnceLock::new(),
                    #[cfg(unix)]
                    signals: Mutex::new(SignalSource {
                        listeners: 0,
                        receiver: None,
                    }),
                }),
            },
            tick: 0,
        })
    }

    /// The driver's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Waits for I/O events or the next timer deadline, at most `max_wait` (`None`: no limit
    /// besides timers; `Some(ZERO)`: do not block), then pushes to `woken` the waker of every
    /// task whose source became ready or whose timer expired. [`Handle::unpark`] interrupts the
    /// wait. Returns how many wakers it pushed.
    ///
    /// The caller wakes them with [`Handle::wake_turn`] once it has released whatever lock guards
    /// the driver (a waker is user code, and user code never runs under a lock of the runtime or
    /// the reactor), before the next turn if this one returned more than zero: `time::advance`
    /// waits for that.
    ///
    /// Precision: the poller takes whole milliseconds, so a wait of a millisecond or more is cut
    /// to whole milliseconds (waking up to 1 ms early: the next turn waits for the rest), and the
    /// last stretch under a millisecond is waited for on a timerfd (Linux), which fires at the
    /// deadline. Elsewhere a timer may fire up to a millisecond late.
    pub fn turn(&mut self, max_wait: Option<Duration>, woken: &mut Vec<Waker>) -> usize {
        let inner = &self.handle.inner;
        let before = woken.len();
        // Before the clock is read (`time::advance` waits until this turn's wakers are woken).
        inner.timers.turn_started();
        let timeout = inner.timers.before_block(woken, max_wait);
        let timeout = match timeout {
            Some(d) if d >= Duration::from_millis(1) => {
                Some(Duration::from_millis(d.as_millis() as u64))
            }
            Some(d) if d > Duration::ZERO && self.precise.arm(d) => {
                // The timerfd ends the wait; the poll timeout is only a backstop.
                Some(Duration::from_millis(1))
            }
            other => other,
        };
        let polled = self.poll.poll(&mut self.events, timeout);
        inner.timers.after_block();
        match polled {
            Ok(()) => {}
            // A signal interrupted the wait: a turn with no events.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("filch: polling the I/O driver failed: {e}"),
        }
        self.tick = self.tick.wrapping_add(1);
        // Relaxed load and store: only the holder (`&mut self`) writes these.
        let turns = &inner.turns;
        turns.store(turns.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let mut signalled = false;
        if !self.events.is_empty() {
            let slab = lock(&inner.slab);
            let mut fetched = 0;
            for event in self.events.iter() {
                fetched += 1;
                let token = event.token();
                if token == WAKER_TOKEN || token == TIMER_TOKEN {
                    continue;
                }
                if token == SIGNAL_TOKEN {
                    signalled = true;
                    continue;
                }
                // A stale token (the source was deregistered and its slot reused) finds nothing.
                if let Some(io) = slab.get(token) {
                    let ready = Ready::from_event(event);
                    io.set_readiness(self.tick, ready);
                    io.take_wakers(ready, woken);
                }
            }
            drop(slab);
            let events = &inner.events;
            events.store(events.load(Ordering::Relaxed) + fetched, Ordering::Relaxed);
        }
        #[cfg(unix)]
        if signalled {
            if let Some(signals) = crate::signal::registry::get() {
                signals.deliver(woken);
            }
        }
        #[cfg(not(unix))]
        let _ = signalled;
        inner.timers.process(woken);
        let n = woken.len() - before;
        if n == 0 {
            // Nothing for the caller to wake.
            inner.timers.turn_woken();
        }
        n
    }

    /// With the clock paused, moves it to the next timer deadline, if any, and pushes to `woken`
    /// the wakers of the timers due then: for the runtime to call when it is idle (see
    /// [`time::pause`](crate::time::pause)), having just turned the driver without blocking
    /// and found nothing. It does not poll for I/O again: a test of many sleeps makes thousands
    /// of jumps, and a system call each would be most of their cost. Only the driver's owner
    /// calls it, so no other turn can see the clock move before this one.
    ///
    /// `None` if the clock did not move. `Some(0)` if it moved but nothing fired: the jump
    /// landed on a slot boundary of the wheel where timers only move down a level (a sleep of
    /// an hour takes four jumps). The caller checks that the runtime is still idle and calls
    /// again: moving thousands of timers down a level takes long enough for work to arrive
    /// meanwhile (found by an attack test: a blocking job started from outside saw the clock
    /// move under it). `Some(n)`: the caller wakes the `n` wakers with [`Handle::wake_turn`],
    /// as after a turn.
    pub fn advance_and_fire(&mut self, woken: &mut Vec<Waker>) -> Option<usize> {
        let timers = &self.handle.inner.timers;
        if !(timers.clock.is_paused() && timers.advance_to_next()) {
            return None;
        }
        let before = woken.len();
        // Counted as a turn: `time::advance` waits until these wakers are woken.
        timers.turn_started();
        timers.process(woken);
        let n = woken.len() - before;
        if n == 0 {
            timers.turn_woken();
        }
        Some(n)
    }
}

impl Handle {
    /// Whether the clock is paused (see [`time::pause`](crate::time::pause)): one relaxed load.
    pub fn is_clock_paused(&self) -> bool {
        self.inner.timers.clock.is_paused()
    }

    /// Pauses this driver's clock (see [`time::pause`](crate::time::pause)), as
    /// `Builder::start_paused` does before any task runs. False if it was paused already.
    pub fn pause_clock(&self) -> bool {
        let paused = self.inner.timers.clock.pause();
        if paused {
            // A driver blocked until a deadline must stop waiting for it.
            self.unpark();
        }
        paused
    }

    /// Wakes the wakers of a [`Driver::turn`] (as [`wake_all`]) and records that they were
    /// woken: for the caller of a turn that returned more than zero, once it has let the driver
    /// go. `woken` holds that turn's wakers only.
    pub fn wake_turn(&self, woken: &mut Vec<Waker>) {
        if woken.is_empty() {
            return;
        }
        wake_all(woken);
        self.inner.timers.turn_woken();
    }

    /// Interrupts a blocked [`Driver::turn`] (or makes the next one return at once).
    pub fn unpark(&self) {
        if let Err(e) = self.inner.waker.wake() {
            panic!("filch: waking the I/O driver failed: {e}");
        }
    }

    /// Sets the function called when a timer or a source is registered while no thread is blocked
    /// in [`Driver::turn`]: nobody may be watching it, so the owner of the driver (the runtime)
    /// should make sure someone turns it soon. It is called on the registering thread, so it must
    /// be cheap when there is nothing to do. Can be set once.
    pub fn set_unwatched_hook(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.inner.unwatched_hook.set(Box::new(hook));
    }

    /// Runs the unwatched hook if no thread is blocked in the driver.
    pub(crate) fn notify_if_unwatched(&self) {
        if !self.inner.timers.is_driver_blocked() {
            if let Some(hook) = self.inner.unwatched_hook.get() {
                hook();
            }
        }
    }

    /// Whether the driver has anything to wait for: a registered source or a pending timer. An
    /// idle runtime need not turn a driver that has neither.
    pub fn has_work(&self) -> bool {
        self.inner.num_sources.load(Ordering::Relaxed) > 0 || !self.inner.timers.is_empty()
    }

    /// Shuts the driver down: every registered source and timer wakes its task, sockets answer
    /// every later operation with an error, and new registrations are refused.
    pub fn shutdown(&self) {
        if self.inner.is_shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut wakers = Vec::new();
        #[cfg(unix)]
        self.shutdown_signals(&mut wakers);
        let sources = {
            let mut slab = lock(&self.inner.slab);
            let sources = slab.drain();
            self.inner
                .num_sources
                .fetch_sub(sources.len(), Ordering::Relaxed);
            sources
        };
        for io in sources {
            io.shutdown(&mut wakers);
        }
        self.inner.timers.shutdown(&mut wakers);
        wake_all(&mut wakers);
    }

    /// What the driver holds and has done: for the runtime's metrics.
    pub fn metrics(&self) -> DriverMetrics {
        DriverMetrics {
            timers: self.inner.timers.len(),
            io_sources: self.inner.num_sources.load(Ordering::Relaxed),
            turns: self.inner.turns.load(Ordering::Relaxed),
            events: self.inner.events.load(Ordering::Relaxed),
        }
    }

    /// Whether [`Handle::shutdown`] was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown.load(Ordering::SeqCst)
    }

    /// Registers `source` for `interest`, edge-triggered, once and for all: waiting again never
    /// touches the OS registration.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<(mio::Token, Arc<ScheduledIo>)> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut slab = lock(&self.inner.slab);
            // Checked under the slab's lock, which `shutdown` takes to drain the slab after it
            // sets the flag: either this sees the flag, or the drain sees this source (checked
            // before the lock, a source registered as the runtime shut down was never shut
            // down, and its waiters waited forever; found by review).
            if self.is_shutdown() {
                return Err(shutdown_error());
            }
            let token = slab.insert(io.clone()).ok_or_else(|| {
                io::Error::other("filch: too many I/O sources registered with one driver")
            })?;
            // The count changes under the slab's lock, with the slab: `shutdown`'s drain takes
            // off exactly what it drained (a count changed outside the lock went wrong by one,
            // or wrapped, when a registration raced the drain; found by review).
            self.inner.num_sources.fetch_add(1, Ordering::Relaxed);
            token
        };
        if let Err(e) = self.inner.registry.register(source, token, interest) {
            let mut slab = lock(&self.inner.slab);
            if slab.remove(token).is_some() {
                self.inner.num_sources.fetch_sub(1, Ordering::Relaxed);
            }
            return Err(e);
        }
        self.notify_if_unwatched();
        Ok((token, io))
    }

    /// Removes `source` from the OS poller and frees its slot. Never blocks on the driver: an
    /// event already fetched for it is dropped by the generation check.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, token: mio::Token) {
        let mut slab = lock(&self.inner.slab);
        if slab.remove(token).is_some() {
            self.inner.num_sources.fetch_sub(1, Ordering::Relaxed);
            drop(slab);
            // The fd is about to be closed, which removes it from epoll anyway; an error here
            // (the driver's epoll is gone) changes nothing for the caller.
            let _ = self.inner.registry.deregister(source);
        }
    }
}

/// Signal listeners (`signal/mod.rs`): the driver's registration of the self-pipe.
#[cfg(unix)]
impl Handle {
    /// Identifies the driver (its shared state's address, stable while a handle exists).
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Counts a new signal listener; the first registers the self-pipe with the poller, as a
    /// source (so an idle runtime watches it, and the unwatched hook runs if nobody does).
    pub(crate) fn attach_signal_listener(&self) -> io::Result<()> {
        let globals = crate::signal::registry::globals()?;
        let mut signals = lock(&self.inner.signals);
        // Under the lock that `shutdown_signals` takes after setting the flag: a listener
        // attached here is seen by the shutdown.
        if self.is_shutdown() {
            return Err(io::Error::other(
                "the filch runtime has shut down: it can take no new signal listener",
            ));
        }
        if signals.receiver.is_none() {
            let mut receiver = mio::net::UnixStream::from_std(globals.receiver()?);
            self.inner
                .registry
                .register(&mut receiver, SIGNAL_TOKEN, mio::Interest::READABLE)?;
            signals.receiver = Some(receiver);
            self.inner.num_sources.fetch_add(1, Ordering::Relaxed);
        }
        signals.listeners += 1;
        let registered = signals.listeners == 1;
        drop(signals);
        if registered {
            self.notify_if_unwatched();
        }
        Ok(())
    }

    /// Counts a signal listener out; the last deregisters the self-pipe.
    pub(crate) fn detach_signal_listener(&self) {
        let mut signals = lock(&self.inner.signals);
        signals.listeners -= 1;
        if signals.listeners == 0 {
            if let Some(mut receiver) = signals.receiver.take() {
                self.inner.num_sources.fetch_sub(1, Ordering::Relaxed);
                // Explicitly: the pipe stays open through other descriptors, so closing this
                // one would not remove it from the poller. An error (the poller is gone)
                // changes nothing.
                let _ = self.inner.registry.deregister(&mut receiver);
            }
        }
    }

    /// At shutdown, after the flag is set: deregisters the self-pipe and hands out the wakers
    /// of this driver's waiting listeners, whose `recv` then answers `None`.
    fn shutdown_signals(&self, wakers: &mut Vec<Waker>) {
        let mut signals = lock(&self.inner.signals);
        if let Some(mut receiver) = signals.receiver.take() {
            self.inner.num_sources.fetch_sub(1, Ordering::Relaxed);
            let _ = self.inner.registry.deregister(&mut receiver);
        }
        let listening = signals.listeners > 0;
        drop(signals);
        if let (true, Some(globals)) = (listening, crate::signal::registry::get()) {
            globals.take_driver_wakers(self.id(), wakers);
        }
    }
}

/// Wakes every waker with no lock held. A waker is user code (a task's waker is the runtime's, but
/// any `Future` can hand in its own): a panicking one must not unwind through the driver, nor keep
/// the others from being woken.
/// Wakes (and so drops) every waker in `wakers`, leaving it empty with its capacity. A waker that
/// panics is reported on stderr and skipped: the others are still woken.
pub fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        if catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
            eprintln!(
                "filch: a waker panicked while the I/O driver woke it; the panic was dropped"
            );
        }
    }
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the filch runtime that owns this socket has shut down")
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver").field("tick", &self.tick).finish()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("sources", &self.inner.num_sources.load(Ordering::Relaxed))
            .field("shut_down", &self.is_shutdown())
            .finish()
    }
}
