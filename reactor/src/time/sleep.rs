//! `sleep`, `sleep_until` and the `Sleep` future.

use super::wheel::{EntryState, Key};
use super::Registered;
use crate::coop;
use crate::driver::Handle;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed, yielding the worker meanwhile — asyncio's
/// `await asyncio.sleep(d)`. Where `std::thread::sleep` would block the whole worker thread (and
/// every task queued on it), this only suspends the calling task.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// filch::run(async {
///     let start = Instant::now();
///     filch::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// # Panics
/// Outside a filch runtime (the returned future needs the runtime's timer).
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = crate::context::expect_current("filch::sleep");
    let deadline = deadline_after(handle.inner.timers.clock.now(), duration);
    Sleep {
        handle,
        deadline,
        key: None,
        fired: false,
    }
}

/// Waits until `deadline`, on the runtime's clock (see [`filch::time::now`](crate::time::now)).
/// A deadline in the past completes at the first poll.
///
/// # Panics
/// Outside a filch runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        handle: crate::context::expect_current("filch::sleep"),
        deadline,
        key: None,
        fired: false,
    }
}

/// `base + d`, or [`far_future`] where that overflows `Instant`: every deadline filch computes
/// goes through here (or another checked addition), never through a bare `+`, which panics on
/// overflow (`Duration::MAX` is a common way to say "never").
pub(crate) fn deadline_after(base: Instant, d: Duration) -> Instant {
    base.checked_add(d).unwrap_or_else(far_future)
}

/// About 30 years from now: "never", for durations that overflow `Instant`.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// The future of [`sleep`] and [`sleep_until`]. It registers its deadline with the timer wheel on
/// its first poll and cancels it when dropped, so a `Sleep` that is dropped early (a lost
/// `select!` branch, an elapsed `timeout`) leaves nothing behind.
///
/// It completes at its deadline or later, never earlier.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    handle: Handle,
    deadline: Instant,
    key: Option<Key>,
    fired: bool,
}

impl Sleep {
    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (the timer fired, or the time has passed).
    pub fn is_elapsed(&self) -> bool {
        self.fired || self.clock_now() >= self.deadline
    }

    /// Now, on the clock of this sleep's runtime (see [`filch::time::now`](crate::time::now)).
    pub(crate) fn clock_now(&self) -> Instant {
        self.handle.inner.timers.clock.now()
    }

    /// Moves the deadline, whether or not the sleep has completed: the next poll waits for the new
    /// one. Cheaper than dropping the `Sleep` and making a new one in a loop.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// filch::run(async {
    ///     let mut sleep = filch::sleep(Duration::from_secs(3600));
    ///     sleep.reset(Instant::now() + Duration::from_millis(5));
    ///     sleep.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
        self.fired = false;
    }

    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            self.handle.inner.timers.remove(key);
        }
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        let timers = &self.handle.inner.timers;
        if timers.is_shutdown() {
            panic!("filch::sleep polled after its runtime shut down");
        }
        let progress = ready!(coop::poll_proceed(cx));
        let state = match self.key {
            Some(key) => timers.poll(key, cx.waker()),
            None => match timers.register(self.deadline, cx.waker()) {
                (Registered::Due, _) => EntryState::Fired,
                (Registered::Pending(key), unpark) => {
                    self.key = Some(key);
                    if unpark {
                        self.handle.unpark();
                    } else {
                        self.handle.notify_if_unwatched();
                    }
                    EntryState::Pending
                }
            },
        };
        match state {
            EntryState::Fired => {
                // A fired entry is already freed: nothing to unregister.
                self.fired = true;
                self.key = None;
                progress.made_progress();
                Poll::Ready(())
            }
            EntryState::Pending => Poll::Pending,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_elapsed(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .field("fired", &self.fired)
            .finish()
    }
}
