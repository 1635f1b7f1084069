//! `FilchTimer`: hyper's timer on the runtime's timer wheel.

use crate::time::Sleep;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// hyper's [`Timer`](::hyper::rt::Timer) on filch's timers: what hyper's header-read, keep-alive
/// and HTTP/2 ping timeouts sleep on. Give it to a connection builder with `.timer(...)`, as
/// `TokioTimer` from hyper-util is given on tokio:
///
/// ```text
/// hyper::server::conn::http1::Builder::new()
///     .timer(FilchTimer::new())
///     .header_read_timeout(Duration::from_secs(5))
/// ```
///
/// Its sleeps are [`filch::sleep`](crate::sleep)s on the runtime current where hyper asks for
/// them (inside the connection's task), moved with [`Sleep::reset`] when hyper resets one, and
/// its clock is [`filch::time::now`](crate::time::now), so hyper's timeouts follow a paused
/// clock (`filch::time::pause`) in tests. Outside a runtime, `now` is `Instant::now()` and a
/// sleep panics, as [`filch::sleep`](crate::sleep) does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// filch::run(async {
///     let timer = filch::hyper::FilchTimer::new();
///     let start = timer.now();
///     timer.sleep(Duration::from_millis(10)).await;
///     assert!(timer.now() - start >= Duration::from_millis(10));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct FilchTimer;

impl FilchTimer {
    /// The timer of whichever runtime is current when hyper uses it.
    pub fn new() -> FilchTimer {
        FilchTimer
    }
}

impl ::hyper::rt::Timer for FilchTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(crate::time::sleep(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(crate::time::sleep_until(deadline))
    }

    fn now(&self) -> Instant {
        match crate::context::current() {
            Ok(handle) => handle.inner.timers.clock.now(),
            Err(_) => Instant::now(),
        }
    }

    /// Moves a sleep made by this timer in place (no new allocation, the wheel entry is reused
    /// on the next poll); any other sleep is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            // `Sleep` is `Unpin`: no pinning guarantee to keep.
            Some(filch_sleep) => filch_sleep.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// hyper's `Sleep` needs `Send + Sync`, which filch's `Sleep` is (a runtime handle, a deadline
/// and a wheel key); it is also `Unpin`, so `reset` can reach it through the pin.
impl ::hyper::rt::Sleep for Sleep {}
