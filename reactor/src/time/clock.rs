//! The driver's clock: the real clock, or a paused one for tests.
//!
//! Every deadline filch computes (`sleep`, `timeout`, `interval`) and every expiry the driver
//! checks reads this clock, never `Instant::now()` directly. Until the clock is first paused it
//! *is* `Instant::now()`, read without a lock (one relaxed load says it was never paused).
//!
//! Paused ([`pause`](super::pause)), it stands still at the instant it was paused: it moves only
//! by [`advance`](super::advance) and by the runtime's auto-advance, which jumps it to the next
//! timer deadline when the runtime is idle (the runtime decides when that is; the driver does the
//! jump, as `Driver::advance_and_fire`). Resumed, it runs again at the real clock's rate from where
//! it stood: paused time is not made up for, so after a pause the clock is behind or ahead of
//! `Instant::now()` by a fixed offset.
//!
//! A driver blocked while the clock is paused waits for I/O or an unpark only: the wheel's
//! deadlines are not real-time waits then (`Timers::before_block`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub(crate) struct Clock {
    /// The origin: times are nanoseconds since then.
    start: Instant,
    /// Set for good by the first `pause`: until then the clock is the real one, read with no lock.
    ever_paused: AtomicBool,
    /// Whether it is paused now (a copy of `state.paused`, readable without the lock).
    paused: AtomicBool,
    state: Mutex<State>,
}

struct State {
    paused: bool,
    /// The time (ns since `start`) while paused.
    frozen: u64,
    /// While running after a pause: the clock is the real time plus this (ns, either sign).
    offset: i128,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            start: Instant::now(),
            ever_paused: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            state: Mutex::new(State {
                paused: false,
                frozen: 0,
                offset: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Nanoseconds from the origin to `t` (0 before it).
    pub(crate) fn to_ns(&self, t: Instant) -> u64 {
        let ns = t.saturating_duration_since(self.start).as_nanos();
        u64::try_from(ns).unwrap_or(u64::MAX - 1)
    }

    /// The instant `ns` nanoseconds after the origin.
    pub(crate) fn to_instant(&self, ns: u64) -> Instant {
        self.start
            .checked_add(Duration::from_nanos(ns))
            .unwrap_or_else(super::sleep::far_future)
    }

    fn running_ns(&self, state: &State) -> u64 {
        let real = i128::from(self.to_ns(Instant::now()));
        let ns = (real + state.offset).clamp(0, i128::from(u64::MAX - 1));
        ns as u64
    }

    /// The clock now, in nanoseconds since the origin.
    pub(crate) fn now_ns(&self) -> u64 {
        // Relaxed: a pause that races with this read may or may not be seen, as for any read of
        // a clock that another thread is about to stop.
        if !self.ever_paused.load(Ordering::Relaxed) {
            return self.to_ns(Instant::now());
        }
        let state = self.lock();
        if state.paused {
            state.frozen
        } else {
            self.running_ns(&state)
        }
    }

    /// The clock now.
    pub(crate) fn now(&self) -> Instant {
        if !self.ever_paused.load(Ordering::Relaxed) {
            return Instant::now();
        }
        self.to_instant(self.now_ns())
    }

    /// Whether the clock is paused (a hint: it may be resumed at any moment).
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Stops the clock where it is. False if it was paused already.
    pub(crate) fn pause(&self) -> bool {
        let mut state = self.lock();
        if state.paused {
            return false;
        }
        state.frozen = self.running_ns(&state);
        state.paused = true;
        self.paused.store(true, Ordering::Relaxed);
        self.ever_paused.store(true, Ordering::Relaxed);
        true
    }

    /// Lets the clock run again from where it stands. False if it was not paused.
    pub(crate) fn resume(&self) -> bool {
        let mut state = self.lock();
        if !state.paused {
            return false;
        }
        let real = i128::from(self.to_ns(Instant::now()));
        state.offset = i128::from(state.frozen) - real;
        state.paused = false;
        self.paused.store(false, Ordering::Relaxed);
        true
    }

    /// Moves a paused clock forward by `by`. False (and nothing moves) if it is not paused.
    pub(crate) fn advance(&self, by: Duration) -> bool {
        let mut state = self.lock();
        if !state.paused {
            return false;
        }
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        state.frozen = state.frozen.saturating_add(by).min(u64::MAX - 1);
        true
    }

    /// Moves a paused clock forward to `ns`, if that is ahead. True if it moved.
    pub(crate) fn advance_to(&self, ns: u64) -> bool {
        let mut state = self.lock();
        if !state.paused || ns <= state.frozen {
            return false;
        }
        state.frozen = ns;
        true
    }
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_stands_still_and_moves_only_when_advanced() {
        let clock = Clock::new();
        assert!(clock.pause());
        assert!(!clock.pause(), "paused twice");
        let frozen = clock.now_ns();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ns(), frozen);
        assert!(clock.advance(Duration::from_secs(3600)));
        assert_eq!(clock.now_ns(), frozen + 3_600_000_000_000);
        assert!(!clock.advance_to(frozen), "never backwards");
        assert!(clock.advance_to(frozen + 3_601_000_000_000));
        assert_eq!(clock.now_ns(), frozen + 3_601_000_000_000);
    }

    #[test]
    fn a_resumed_clock_runs_on_from_where_it_stood() {
        let clock = Clock::new();
        assert!(clock.pause());
        assert!(clock.advance(Duration::from_secs(60)));
        let at_resume = clock.now_ns();
        assert!(clock.resume());
        assert!(!clock.resume(), "resumed twice");
        assert!(
            !clock.advance(Duration::from_secs(1)),
            "advanced while running"
        );
        let later = clock.now_ns();
        assert!(later >= at_resume, "the clock went back");
        assert!(later < at_resume + 1_000_000_000, "the clock jumped");
        std::thread::sleep(Duration::from_millis(2));
        assert!(
            clock.now_ns() >= later + 2_000_000,
            "the clock does not run"
        );
    }
}
