//! # filch
//!
//! A multi-threaded, work-stealing async runtime with the programming model of Python's asyncio,
//! on every core.
//!
//! | asyncio | filch |
//! |---|---|
//! | `asyncio.run(main())` | [`filch::run(main())`](run) |
//! | `await coro` | `fut.await` |
//! | `asyncio.create_task(coro)` | [`filch::spawn(fut)`](spawn) → [`JoinHandle`]; named: [`task::Builder`] |
//! | `asyncio.gather(*aws)` | [`join_all`], [`try_join_all`], [`join!`], [`try_join!`] |
//! | `asyncio.as_completed(aws)` | [`as_completed`] |
//! | `asyncio.wait(tasks, return_when=...)` | [`wait`] with [`ReturnWhen`] |
//! | first of several | [`select!`], [`select()`], [`race`] |
//! | `asyncio.TaskGroup()` | [`TaskGroup`] ([`TaskGroup::scope`], [`GroupError`]) |
//! | a class with `__await__` | a type that implements [`Future`](std::future::Future) |
//! | `task.cancel()` | [`JoinHandle::abort`] |
//! | `await asyncio.sleep(0)` | [`filch::yield_now().await`](yield_now) |
//! | `await asyncio.sleep(d)` | [`filch::sleep(d).await`](sleep) |
//! | `asyncio.wait_for(aw, t)` / `asyncio.timeout(t)` | [`filch::timeout(t, fut).await`](timeout) |
//! | `asyncio.to_thread(f)` | [`filch::spawn_blocking(f)`](spawn_blocking) |
//! | `loop.add_signal_handler(SIGINT, ...)` | [`filch::signal::ctrl_c().await`](signal::ctrl_c), [`signal::unix::signal`] (Unix) |
//! | one event loop on one thread | [`Builder::new_current_thread`]; non-`Send` tasks: [`spawn_local`] |
//! | a fake clock in tests | [`time::pause`], [`time::advance`], [`time::resume`], [`time::now`], [`Builder::start_paused`] |
//!
//! Unlike asyncio, tasks run on a pool of worker threads (one per core by default); a worker
//! that runs out of tasks steals queued ones from a busy worker.
//!
//! ```
//! async fn fetch(n: u64) -> u64 {
//!     filch::yield_now().await; // stand-in for real I/O
//!     n * 2
//! }
//!
//! let total = filch::run(async {
//!     // Both tasks start at once and run in parallel on the workers.
//!     let a = filch::spawn(fetch(10));
//!     let b = filch::spawn(fetch(11));
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 42);
//! ```
//!
//! For control over the runtime, build one with [`Builder`] and use [`Runtime::block_on`],
//! [`Runtime::spawn`] and [`Handle`]. A panicking task never takes its worker down: its
//! [`JoinHandle`] returns a [`JoinError`] for which [`JoinError::is_panic`] is true.
//!
//! Programs and tests can also be written as an `async fn`, with the [`main`] and [`test`]
//! attributes:
//!
//! ```
//! # #[cfg(feature = "macros")]
//! #[filch::main]
//! async fn main() {
//!     let task = filch::spawn(async { 6 * 7 });
//!     assert_eq!(task.await.unwrap(), 42);
//! }
//! # #[cfg(not(feature = "macros"))]
//! # fn main() {}
//! ```
//!
//! # Cargo features
//!
//! - `macros` (default): the attributes [`#[filch::main]`](main) and [`#[filch::test]`](test),
//!   from the `filch-macros` crate. They cost a build of `syn` (with its `full` parser), `quote`
//!   and `proc-macro2`, once per clean build: a clean `cargo build --release` of a small program
//!   took 23.3 s with the feature and 15.4 s without it with one build job (means of two runs),
//!   12.3 s and 9.1 s with two jobs, on a 2-core machine; a rebuild after a change of the program
//!   costs nothing more. Without it (`default-features = false`), start the runtime with [`run`] or a
//!   [`Builder`].
//!
//! The crate is a facade: the runtime lives in `filch-runtime`, the I/O and timer reactor in
//! `filch-reactor`, the attributes in `filch-macros`.

#![deny(unsafe_code)]

pub use filch_runtime::{join, try_join};

pub use filch_runtime::{
    as_completed, join_all, race, run, select, spawn, spawn_blocking, spawn_local, try_join_all,
    wait, yield_now, AsCompleted, Builder, Either, Failure, GroupError, Handle, Id, JoinAll,
    JoinError, JoinHandle, Race, ReturnWhen, Runtime, Scope, Select, TaskGroup, TaskResult,
    TryCurrentError, TryJoinAll, Wait, Waited, YieldNow,
};

#[cfg(feature = "macros")]
pub use filch_macros::{main, test};

pub use filch_reactor::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};

/// Timers: [`sleep`], [`timeout`], [`interval`] and their futures.
pub mod time {
    pub use filch_reactor::time::*;
}

/// Sockets: TCP, UDP and (on Unix) Unix domain sockets, with `futures_io::AsyncRead` and
/// `AsyncWrite` on the streams. See [`net::TcpListener`] for an echo server.
pub mod net {
    pub use filch_reactor::net::*;
}

/// Unix signals: [`signal::ctrl_c`] and, for any signal, [`signal::unix::signal`].
///
/// Listening for a signal installs a process-wide handler that stays for the life of the
/// process: after the first `ctrl_c()` is polled, Ctrl-C no longer kills the program, which must
/// exit by itself. See the [`ctrl_c`](signal::ctrl_c) docs and `examples/signals.rs`.
#[cfg(unix)]
pub mod signal {
    pub use filch_reactor::signal::*;
}

/// Task types: join handles, ids and errors.
pub mod task {
    pub use filch_runtime::task::{Builder, Id, JoinError, JoinHandle};
    pub use filch_runtime::{spawn, spawn_blocking, spawn_local, yield_now, YieldNow};
}

/// What `#[filch::test]` expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use filch_runtime::__private::run_test;
}
