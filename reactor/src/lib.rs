//! filch-reactor: the I/O driver, the timers and the sockets of [filch](https://docs.rs/filch).
//!
//! The reactor turns OS readiness and deadlines into `Waker` calls. It knows `std::task::Waker`
//! and nothing of the scheduler: the runtime owns a [`Driver`] and turns it from a worker's park
//! step (an idle worker blocks in [`Driver::turn`] instead of sleeping), and enters its
//! [`Handle`] on its threads so that sockets and timers created there find it.
//!
//! - `io`: registrations with generation-tagged tokens, the per-source readiness word, and
//!   `PollEvented`, the readiness-aware wrapper every socket is built on. The protocol is in
//!   `io/mod.rs` and `io/scheduled_io.rs`.
//! - [`time`]: a hierarchical timing wheel (6 levels × 64 slots, 1 ms) with exact deadlines, and
//!   [`sleep`], [`timeout`], [`interval`].
//! - [`net`]: TCP, UDP and Unix sockets implementing `futures_io::AsyncRead`/`AsyncWrite`.
//! - [`process`] (Unix): child processes, their exit seen through a pidfd (or `SIGCHLD`) and
//!   their pipes on the driver; the design is in `process/mod.rs`.
//! - [`signal`] (Unix): `ctrl_c` and `unix::signal`, delivered by the drivers through a
//!   self-pipe; the design is in `signal/mod.rs`.
//! - `hyper` (the `hyper` feature): `hyper::rt::Read`/`Write` on the streams and `FilchTimer`,
//!   for hyper 1.x; the design is in `hyper/mod.rs`.
//! - [`coop`]: the cooperative budget every leaf resource (socket, timer, join handle) spends.
//!
//! Use these through the `filch` crate, which re-exports them.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod context;
#[doc(hidden)]
pub mod coop;
mod driver;
#[cfg(feature = "hyper")]
pub mod hyper;
mod io;
mod loom;
pub mod net;
mod precise;
#[cfg(unix)]
pub mod process;
#[cfg(unix)]
pub mod signal;
pub mod time;

pub use context::{enter, EnterGuard};
pub use driver::{wake_all, Driver, DriverMetrics, Handle};
pub use io::{Interest, Ready};
pub use time::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};
