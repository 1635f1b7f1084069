//! `interval`: a periodic tick.

use super::sleep::{deadline_after, far_future, sleep_until, Sleep};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

/// A stream of ticks every `period`, the first one at once.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// filch::run(async {
///     let start = Instant::now();
///     let mut ticks = filch::interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// # Panics
/// If `period` is zero, or outside a filch runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now_for("filch::interval"), period)
}

/// As [`interval`], with the first tick at `start`.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "filch::interval: the period must be non-zero"
    );
    Interval {
        sleep: sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed (the consumer was busy longer than a period).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, then keep the original schedule (the default).
    #[default]
    Burst,
    /// Fire once now, and schedule the next tick a full period from now.
    Delay,
    /// Fire once now, and skip to the next tick of the original schedule that is still ahead.
    Skip,
}

/// The ticker returned by [`interval`].
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// The poll form of [`tick`](Interval::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.sleep).poll(cx));
        let scheduled = self.sleep.deadline();
        let now = self.sleep.clock_now();
        // Every addition is checked (`deadline_after`): a period of `Duration::MAX` means "tick
        // once", not a panic on the second tick.
        let after_scheduled = deadline_after(scheduled, self.period);
        let next = match self.missed {
            MissedTickBehavior::Burst => after_scheduled,
            // `>=`: a tick exactly one period late is late too (else the next is due at once).
            MissedTickBehavior::Delay if now >= after_scheduled => deadline_after(now, self.period),
            MissedTickBehavior::Delay => after_scheduled,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / self.period.as_nanos() + 1;
                let periods = u32::try_from(periods).unwrap_or(u32::MAX);
                match self.period.checked_mul(periods) {
                    Some(skip) => deadline_after(scheduled, skip),
                    None => far_future(),
                }
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The current missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep
            .reset(deadline_after(self.sleep.clock_now(), self.period));
    }

    /// Restarts the schedule with the next tick due at once; the ticks after it follow one
    /// period apart.
    pub fn reset_immediately(&mut self) {
        self.sleep.reset(self.sleep.clock_now());
    }

    /// Restarts the schedule with the next tick `after` from now (instead of one period).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// filch::run(async {
    ///     let mut ticks = filch::interval(Duration::from_secs(3600));
    ///     ticks.tick().await; // the first tick is immediate
    ///     ticks.reset_after(Duration::from_millis(5));
    ///     ticks.tick().await; // 5 ms later, not an hour
    /// });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        self.sleep
            .reset(deadline_after(self.sleep.clock_now(), after));
    }

    /// Restarts the schedule with the next tick due at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed)
            .field("next", &self.sleep.deadline())
            .finish()
    }
}
