//! A timer more precise than the poller's timeout.
//!
//! epoll takes its timeout in whole milliseconds (mio rounds up), and the kernel adds the thread's
//! timer slack (50 µs by default) to it, so a driver that blocks until a deadline wakes up to a
//! millisecond late. On Linux the driver therefore waits for the last sub-millisecond stretch
//! before a deadline on a `timerfd` registered with the same poller: its expiry is an I/O event,
//! delivered at the deadline. mio has no timer source, so this is the one place the reactor
//! makes system calls itself (through libc).

use std::io;
use std::time::Duration;

#[cfg(target_os = "linux")]
pub(crate) use linux::PreciseTimer;

#[cfg(not(target_os = "linux"))]
pub(crate) use fallback::PreciseTimer;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// A non-blocking, close-on-exec `CLOCK_MONOTONIC` timerfd.
    pub(crate) struct PreciseTimer {
        fd: OwnedFd,
    }

    impl PreciseTimer {
        pub(crate) fn new(registry: &mio::Registry, token: mio::Token) -> io::Result<PreciseTimer> {
            // SAFETY: plain syscall with constant flags; the result is checked below.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            registry.register(
                &mut mio::unix::SourceFd(&fd.as_raw_fd()),
                token,
                mio::Interest::READABLE,
            )?;
            Ok(PreciseTimer { fd })
        }

        /// Makes the poller report an event `after` from now (replacing any earlier arming).
        /// Returns false if that failed, in which case the caller relies on the poll timeout.
        pub(crate) fn arm(&self, after: Duration) -> bool {
            // A zero it_value would disarm the timer: never ask for less than 1 ns.
            let after = after.max(Duration::from_nanos(1));
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: after.as_secs() as libc::time_t,
                    tv_nsec: after.subsec_nanos() as libc::c_long,
                },
            };
            // SAFETY: `fd` is our timerfd; `spec` is a valid itimerspec; the old value is not
            // requested (null is allowed).
            let rc = unsafe {
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            // The expiry count is never read: with edge triggering each expiry is a new event,
            // and `timerfd_settime` resets the count.
            rc == 0
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod fallback {
    use super::*;

    /// Elsewhere the poller's own timeout is all there is.
    pub(crate) struct PreciseTimer;

    impl PreciseTimer {
        pub(crate) fn new(_: &mio::Registry, _: mio::Token) -> io::Result<PreciseTimer> {
            Ok(PreciseTimer)
        }

        pub(crate) fn arm(&self, _after: Duration) -> bool {
            false
        }
    }
}
