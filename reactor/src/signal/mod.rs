//! Unix signals as futures: [`ctrl_c`], and [`unix::signal`] for any signal.
//!
//! The API mirrors tokio's `tokio::signal`.
//!
//! # Installing a listener changes what the signal does to the process
//!
//! The first listener of a signal number installs an OS handler for it, and that handler **stays
//! installed for the life of the process**, listeners or not (as in tokio: handlers cannot be
//! removed safely while other code may have chained to them). Once every listener is gone,
//! deliveries of that signal are simply dropped. So after the first [`ctrl_c()`] (or
//! `signal(SignalKind::interrupt())`) has been polled, **Ctrl-C no longer kills the process**:
//! the program must exit by itself when it hears it. `SIGTERM`, `SIGHUP` and the others behave
//! the same once listened for. Handlers installed before filch's are still called first (signal
//! handlers are chained by `signal-hook-registry`).
//!
//! # Design
//!
//! No thread of its own: the drivers deliver signals from their turns.
//!
//! - **Process-wide** (`registry.rs`): a non-blocking `UnixStream` pair, the *self-pipe*,
//!   created by the first listener; and one `SignalState` per signal number (`state.rs`): a
//!   `pending` flag, a `generation` (deliveries so far) and the listeners' wakers.
//! - **The OS handler** of a signal (installed once per signal number through
//!   `signal-hook-registry`) sets that signal's `pending` flag, then writes one byte to the
//!   pipe, ignoring errors (a full pipe already says "look"). That is all it does: an atomic
//!   store and a `write(2)`, both async-signal-safe.
//! - **Each driver** that has a listener registers its own `try_clone` of the pipe's read end
//!   with its `mio::Poll`, under the reserved `SIGNAL_TOKEN`, counted as a source: an idle
//!   runtime keeps a worker blocked in its driver (or the registration hands the driver to one,
//!   through the "unwatched" hook), so a signal that arrives while every worker is idle wakes it
//!   at once. The last listener of a driver deregisters it.
//! - **Delivery**: in `Driver::turn`, an event on `SIGNAL_TOKEN` drains the pipe, then, for
//!   every signal whose `pending` flag it takes off (under that signal's listeners lock), bumps
//!   the signal's `generation` and moves the wakers of **all** its listeners, whatever runtime
//!   they belong to, to the turn's waker list, woken once the driver's lock is released. Every
//!   driver with a listener gets the pipe's event; the first to drain it delivers, the others
//!   find it empty. A flag set before a byte that a drain read is seen by the flag pass after
//!   that drain; a flag set later comes with its own byte, hence another event.
//! - **A listener delivers too**: a listener's `recv` that finds its signal's `pending` flag set
//!   does what a driver's turn does (drain, then the flag pass) before it looks at the
//!   generation, so that a task that raises a signal and waits for it does not wait for a
//!   driver turn. Draining the pipe mostly leaves no event behind (epoll reports a descriptor
//!   only if it is still readable); one that a driver gets anyway finds the pipe empty and no
//!   flag set. The flag pass is the same whoever runs it: whichever takes a flag off delivers
//!   it, once.
//! - **A listener** (`unix::Signal`) remembers the generation it last answered for. `recv`
//!   answers `Some(())` if the generation moved (once, however far: deliveries between two
//!   `recv` calls coalesce), else stores its waker and returns `Pending`.
//!
//! # No lost wake-up
//!
//! A delivery changes `generation` and takes the wakers under the signal's listeners lock; a
//! listener stores its waker and reads `generation` again under the same lock. Either the
//! delivery comes first and the second read sees it, or the listener comes first and the
//! delivery takes its waker. Wakers are cloned and dropped outside the lock (user code never runs
//! under it), as in `ScheduledIo`. The loom model is in `signal/loom_tests.rs`.
//!
//! # Who sees which delivery
//!
//! Creating a listener takes a still-pending flag off first, under the same lock, delivering it
//! to the listeners that were already there. So a listener sees exactly the deliveries whose
//! handler ran after it was created, whichever driver turns first; and a signal raised while no
//! listener exists is dropped (it never reaches a later listener).
//!
//! # Shutdown
//!
//! A listener holds its driver's `Handle`. When its runtime shuts down, the driver deregisters
//! the pipe and wakes the waiting listeners of that driver; `recv` then answers `None` (it would
//! wait forever otherwise: no driver of that runtime will turn again). The listener can still be
//! dropped at any time, from anywhere.

#[cfg(all(test, filch_loom))]
mod loom_tests;
pub(crate) mod registry;
mod state;
pub mod unix;

use std::io;

/// Waits for the next `SIGINT` (Ctrl-C in the terminal).
///
/// The listener is created when the future is first polled, not when `ctrl_c()` is called: a
/// `SIGINT` before that first poll is not seen. From that first poll on, **`SIGINT` no longer
/// terminates the process**, even after the future is dropped: the handler stays installed for
/// the life of the process (see the [module docs](self)), and the program must exit by itself.
///
/// Each call waits for its own next `SIGINT`; to hear several, keep a
/// [`unix::signal`]`(SignalKind::interrupt())` listener instead.
///
/// # Errors
///
/// Outside a filch runtime, the same error as socket constructors; an error if the handler cannot
/// be installed, or if the runtime shuts down while the future waits.
///
/// # Examples
///
/// ```no_run
/// filch::run(async {
///     println!("serving; Ctrl-C to stop");
///     filch::signal::ctrl_c().await?;
///     println!("shutting down gracefully");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    match interrupt.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other(
            "filch::signal::ctrl_c: the runtime shut down while waiting for SIGINT",
        )),
    }
}
