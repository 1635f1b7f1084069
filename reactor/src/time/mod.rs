//! Timers: a timing wheel behind a mutex, and the futures built on it.
//!
//! # Roles
//!
//! - `Timers` (one per driver): the wheel (`wheel.rs`), the clock origin, and `sleeping_until`,
//!   the deadline the driver is blocked until (0 when no thread is blocked in the driver).
//! - [`Sleep`] registers its deadline on its first poll (not at creation: a sleep that is never
//!   polled costs nothing), re-registers its waker on later polls, and cancels its entry when
//!   dropped. `timeout` and `interval` are built on it.
//! - The driver, on every turn, fires the due entries and blocks at most until the wheel's next
//!   deadline.
//!
//! No user code runs under the wheel's lock: wakers are cloned before it is taken, and the ones
//! the wheel lets go (fired, replaced, cancelled) are woken or dropped after it is released. A
//! waker's drop can drop a task, whose `Sleep`s then lock the wheel themselves.
//!
//! # Waking the driver for an earlier deadline
//!
//! The driver reads the wheel's next deadline and stores it in `sleeping_until` under the wheel's
//! lock before it blocks; `register` inserts under the same lock and then loads `sleeping_until`.
//! So either the driver saw the new entry, or the registering thread sees that the driver sleeps
//! past the new deadline and unparks it.
//!
//! # Precision
//!
//! Deadlines are exact (nanoseconds); the wheel's 1 ms slots only sort them. A timer fires at the
//! first driver turn at or after its deadline, never before. How late that turn is depends on how
//! precisely the driver can block: see `Driver::turn`.

mod clock;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;
#[cfg(all(test, not(filch_loom)))]
mod wheel_props;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

/// The current runtime's clock: the real one, unless a test [`pause`]d it.
///
/// `sleep`, `sleep_until`, `timeout`, `interval` and every timer of the runtime follow this
/// clock; `std::time::Instant::now()` and real I/O do not. Under a paused clock, compute
/// deadlines from `filch::time::now()`, not from `Instant::now()`.
///
/// # Panics
/// Outside a filch runtime.
#[track_caller]
pub fn now() -> Instant {
    now_for("filch::time::now")
}

/// [`now`], naming `what` if there is no runtime.
#[track_caller]
pub(crate) fn now_for(what: &str) -> Instant {
    crate::context::expect_current(what)
        .inner
        .timers
        .clock
        .now()
}

/// Stops the current runtime's clock, for tests of time-dependent code that must not wait.
///
/// While paused, time stands still for every timer of the runtime; it moves only by
/// [`advance`], and on its own whenever the runtime is idle with timers pending: then it jumps
/// straight to the next deadline (*auto-advance*), so a retry loop that sleeps for an hour
/// runs in microseconds, deterministically. The runtime is idle when no worker has a task to
/// run, no `spawn_blocking` job is queued or running, no `block_on` future is being polled,
/// and no I/O event is ready. Real I/O does not hold the clock back: a `timeout` around a read
/// from a real socket elapses as soon as the runtime is idle.
///
/// Work that arrives from outside the runtime (a task spawned or a `spawn_blocking` job
/// started from another thread) may arrive just before or just after a jump, but never during
/// one: it starts once the jump is over, so it never reads the clock once before a jump and
/// again after it.
///
/// Pausing a paused clock does nothing. Works on both runtime flavours; `Builder::start_paused`
/// and `#[filch::test(start_paused = true)]` pause it before the first task runs.
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     filch::time::pause();
///     let start = filch::time::now();
///     let wall = std::time::Instant::now();
///     filch::sleep(Duration::from_secs(3600)).await; // auto-advance: no real wait
///     assert!(filch::time::now() - start >= Duration::from_secs(3600));
///     assert!(wall.elapsed() < Duration::from_secs(60));
/// });
/// ```
///
/// # Panics
/// Outside a filch runtime.
#[track_caller]
pub fn pause() {
    crate::context::expect_current("filch::time::pause").pause_clock();
}

/// Lets the current runtime's clock run again, at the real rate, from where it stands (the
/// time it stood still is not made up for). Resuming a running clock does nothing.
///
/// # Panics
/// Outside a filch runtime.
#[track_caller]
pub fn resume() {
    let handle = crate::context::expect_current("filch::time::resume");
    if handle.inner.timers.clock.resume() {
        handle.unpark();
    }
}

/// Moves the current runtime's paused clock forward by `by`, and waits until the driver has fired
/// the timers that made due (then yields once more, so that the tasks they woke get to run).
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     filch::time::pause();
///     let mut sleep = Box::pin(filch::sleep(Duration::from_secs(10)));
///     assert!(filch::timeout(Duration::ZERO, &mut sleep).await.is_err());
///     filch::time::advance(Duration::from_secs(10)).await;
///     assert!(sleep.is_elapsed());
/// });
/// ```
///
/// # Panics
/// Outside a filch runtime, or if the clock is not paused.
#[track_caller]
pub fn advance(by: Duration) -> Advance {
    let handle = crate::context::expect_current("filch::time::advance");
    let timers = &handle.inner.timers;
    // With no timer registered there is nothing to fire. Read before the clock moves: a turn
    // may fire the timers as soon as it has (regression: an empty wheel read just after that
    // let `advance` return before their wakers were woken).
    let waits = !timers.is_empty();
    assert!(
        timers.clock.advance(by),
        "filch::time::advance: the clock is not paused (call filch::time::pause() first)"
    );
    let target = timers.clock.now_ns();
    // Whoever blocks in the driver turns it now and fires what is due.
    handle.unpark();
    Advance {
        handle,
        target,
        waits,
        yielded: false,
    }
}

/// The future of [`advance`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Advance {
    handle: crate::Handle,
    /// The clock after the advance (ns): done once the driver has fired timers up to it.
    target: u64,
    /// Whether a timer was registered when the clock moved (else there is nothing to wait for).
    waits: bool,
    yielded: bool,
}

impl std::future::Future for Advance {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let timers = &self.handle.inner.timers;
        // Wait (yielding: a yielded task waits for a driver turn) until a turn has read the
        // clock at the target and the wakers of the timers it fired have been woken: on a
        // multi-thread runtime they are woken by the worker that turned the driver, after it
        // let the driver go (regression: `advance` returned before its timers' wakers were
        // woken, every time, when called from `block_on`). `is_empty` is no sign: a timer that
        // fired has left the wheel before its waker is woken.
        let fired = !self.waits || timers.fired_and_woken(self.target);
        if fired && self.yielded {
            return std::task::Poll::Ready(());
        }
        if fired {
            // One more yield: the tasks the timers woke run before this one goes on.
            self.yielded = true;
        } else {
            self.handle.unpark();
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::task::Waker;
use std::time::{Duration, Instant};
use wheel::{EntryState, Key, Polled, Wheel};

pub(crate) struct Timers {
    wheel: Mutex<Wheel>,
    /// Registered entries, updated under the wheel's lock and readable without it.
    len: AtomicUsize,
    /// The clock (real, or paused for tests): deadlines are nanoseconds since its origin.
    pub(crate) clock: clock::Clock,
    /// The deadline (ns) a driver thread is blocked until; 0 when none is blocked, `u64::MAX`
    /// when it blocks with no deadline.
    sleeping_until: AtomicU64,
    /// The clock (ns) as the driver last read it: a lower bound of the current time, read
    /// without a clock call (which costs as much as the rest of a registration on some machines).
    last_now: AtomicU64,
    /// Driver turns whose wakers have not all been woken yet (the driver's owner wakes them after
    /// it lets the driver go: `Handle::wake_turn`).
    unwoken_turns: AtomicUsize,
    is_shutdown: AtomicBool,
}

/// What `Timers::register` did.
pub(crate) enum Registered {
    /// The deadline had passed: nothing was registered.
    Due,
    Pending(Key),
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            wheel: Mutex::new(Wheel::new()),
            len: AtomicUsize::new(0),
            clock: clock::Clock::new(),
            sleeping_until: AtomicU64::new(0),
            last_now: AtomicU64::new(0),
            unwoken_turns: AtomicUsize::new(0),
            is_shutdown: AtomicBool::new(false),
        }
    }

    /// Nanoseconds since the clock's origin (instants before it count as 0).
    pub(crate) fn to_ns(&self, t: Instant) -> u64 {
        self.clock.to_ns(t)
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    /// Driver side, with the clock paused: moves it to the wheel's next deadline, if there is
    /// one ahead. True if it moved (the next turn fires what is due then).
    pub(crate) fn advance_to_next(&self) -> bool {
        let next = lock(&self.wheel).next_deadline();
        next.is_some_and(|next| self.clock.advance_to(next))
    }

    /// Whether every timer due at `ns` has fired and its waker has been woken (see
    /// [`Advance`]): a driver turn has read the clock at `ns` or later, or the wheel is empty
    /// (its timers were cancelled, or fired: a timer leaves the wheel before its waker is
    /// woken), and no turn's wakers are still being woken.
    pub(crate) fn fired_and_woken(&self, ns: u64) -> bool {
        // SeqCst, as the stores: a turn counts itself in `unwoken_turns` before it publishes its
        // reading or takes a timer off the wheel, so seeing either means seeing the count.
        (self.last_now.load(std::sync::atomic::Ordering::SeqCst) >= ns
            || self.len.load(Ordering::SeqCst) == 0)
            && self.unwoken_turns.load(Ordering::SeqCst) == 0
    }

    /// Driver side, at the start of a turn: the turn's wakers are not woken yet.
    pub(crate) fn turn_started(&self) {
        self.unwoken_turns.fetch_add(1, Ordering::SeqCst);
    }

    /// Driver side: a turn's wakers have been woken (or it fired none).
    pub(crate) fn turn_woken(&self) {
        self.unwoken_turns.fetch_sub(1, Ordering::SeqCst);
    }

    /// Driver side: reads the clock and publishes the reading for `register` and `Advance`.
    fn driver_now(&self) -> u64 {
        let now = self.now_ns();
        // Any value published here is a past reading, so a lower bound of the time. SeqCst:
        // see `fired_and_woken` (the turn was counted in `unwoken_turns` before).
        self.last_now
            .store(now, std::sync::atomic::Ordering::SeqCst);
        now
    }

    /// Registers `deadline`; returns true in `.1` if the driver must be unparked to honour it.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> (Registered, bool) {
        let deadline = self.to_ns(deadline);
        // Due for sure if the driver's last clock reading is past it; read the clock only when
        // the deadline is within a millisecond of that reading. A deadline that passed since the
        // last reading but is registered anyway fires at the driver's next turn (and a blocked
        // driver is unparked for it below): never early, at worst one turn late.
        let known = self.last_now.load(std::sync::atomic::Ordering::Relaxed);
        if deadline <= known || (deadline - known < wheel::TICK_NS && deadline <= self.now_ns()) {
            return (Registered::Due, false);
        }
        // Cloned before locking: a waker's clone is user code, and user code never runs under
        // the wheel's lock (it may touch the timers itself: a deadlock).
        let waker = waker.clone();
        let key = {
            let mut wheel = lock(&self.wheel);
            let key = wheel.insert(deadline, waker);
            self.len.store(wheel.len(), Ordering::Relaxed);
            key
        };
        // After the insert (see the module doc): is a driver blocked past this deadline?
        let sleeping = self
            .sleeping_until
            .load(std::sync::atomic::Ordering::SeqCst);
        (
            Registered::Pending(key),
            sleeping != 0 && deadline < sleeping,
        )
    }

    /// Whether the entry fired; if not, makes `waker` the one it wakes. Wakers are cloned and
    /// dropped only outside the wheel's lock (see `register`).
    pub(crate) fn poll(&self, key: Key, waker: &Waker) -> EntryState {
        match lock(&self.wheel).poll(key, waker) {
            Polled::Pending => return EntryState::Pending,
            Polled::Fired => return EntryState::Fired,
            Polled::NewWaker => {}
        }
        let new = waker.clone();
        let swapped = lock(&self.wheel).set_waker(key, new);
        // The guard is gone: the replaced waker (or the unused clone) is dropped here.
        match swapped {
            Ok(_old) => EntryState::Pending,
            Err(_unused) => EntryState::Fired,
        }
    }

    pub(crate) fn remove(&self, key: Key) {
        let waker = {
            let mut wheel = lock(&self.wheel);
            let waker = wheel.remove(key);
            self.len.store(wheel.len(), Ordering::Relaxed);
            waker
        };
        // Outside the lock: dropping the waker may drop its task, and with it other timers.
        drop(waker);
    }

    /// Timers registered now (a racy reading, for metrics).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// No timer is pending (a racy hint, for skipping idle driver turns).
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Driver side: fires the due entries; returns the wheel's next deadline (ns).
    pub(crate) fn process(&self, out: &mut Vec<Waker>) -> Option<u64> {
        let now = self.driver_now();
        let mut wheel = lock(&self.wheel);
        wheel.advance(now, out);
        // SeqCst: see `fired_and_woken`.
        self.len.store(wheel.len(), Ordering::SeqCst);
        wheel.next_deadline()
    }

    /// Driver side, just before blocking: fires what is due and publishes how long the driver will
    /// sleep (capped by `max_wait`). Returns the timeout to block for.
    pub(crate) fn before_block(
        &self,
        out: &mut Vec<Waker>,
        max_wait: Option<Duration>,
    ) -> Option<Duration> {
        let now = self.driver_now();
        let mut wheel = lock(&self.wheel);
        wheel.advance(now, out);
        // SeqCst: see `fired_and_woken`.
        self.len.store(wheel.len(), Ordering::SeqCst);
        // A non-blocking turn publishes nothing: a registration meanwhile must not think a
        // thread is blocked here watching its deadline (it calls the unwatched hook instead).
        if !out.is_empty() || max_wait == Some(Duration::ZERO) {
            return Some(Duration::ZERO);
        }
        // A paused clock does not move while the driver blocks: the deadlines are no reason to
        // wake (the runtime's auto-advance, `advance` and registrations unpark the driver).
        let next = if self.clock.is_paused() {
            None
        } else {
            wheel.next_deadline()
        };
        let cap =
            max_wait.map(|d| now.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)));
        let until = match (next, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.sleeping_until.store(
            until.unwrap_or(u64::MAX).max(1),
            std::sync::atomic::Ordering::SeqCst,
        );
        until.map(|u| Duration::from_nanos(u.saturating_sub(now)))
    }

    /// Whether a thread is blocked in the driver now (and will see new registrations).
    pub(crate) fn is_driver_blocked(&self) -> bool {
        self.sleeping_until
            .load(std::sync::atomic::Ordering::SeqCst)
            != 0
    }

    /// Driver side, after blocking.
    pub(crate) fn after_block(&self) {
        self.sleeping_until
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn shutdown(&self, out: &mut Vec<Waker>) {
        self.is_shutdown.store(true, Ordering::SeqCst);
        let mut wheel = lock(&self.wheel);
        wheel.drain(out);
        self.len.store(wheel.len(), Ordering::Relaxed);
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.is_shutdown.load(Ordering::SeqCst)
    }
}
