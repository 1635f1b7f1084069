//! hyper 1.x on filch's sockets and timers (the `hyper` feature).
//!
//! hyper brings no runtime: it asks for an I/O type implementing its `hyper::rt::Read` and
//! `Write`, a [`Timer`](::hyper::rt::Timer) for its timeouts, and an `Executor` for the tasks of
//! HTTP/2 (that one spawns, so it lives in filch-runtime: `filch_runtime::hyper::FilchExecutor`).
//!
//! - **I/O** (`io.rs`): [`TcpStream`](crate::net::TcpStream), its four halves and
//!   [`UnixStream`](crate::net::UnixStream) implement `hyper::rt::Read` and `Write` themselves,
//!   so a stream goes to hyper as it is, with no wrapper like hyper-util's `TokioIo`. They are the
//!   same operations as the `futures_io` impls, with the same cooperative budget and readiness
//!   (one code path, `PollEvented`'s), except that a read goes into hyper's uninitialised buffer
//!   without zeroing it first: `readv` on the descriptor writes into it directly
//!   (`io/read_uninit.rs`), and the cursor is advanced by the count the kernel returned. Writes
//!   are vectored (`sendmsg` with `MSG_NOSIGNAL` on Linux), so hyper sends a response's head and
//!   body in one call without copying them together; `poll_flush` does nothing (there is no
//!   user-space buffer) and `poll_shutdown` shuts the write direction down.
//! - **Timer** (`timer.rs`): [`FilchTimer`] hands out [`Sleep`](crate::Sleep)s on the current
//!   runtime's timer wheel, moves them with [`Sleep::reset`](crate::Sleep::reset) instead of
//!   making new ones (hyper resets its keep-alive and header timers on every request), and reads
//!   the runtime's clock, so hyper's timeouts follow a paused clock in tests.
//!
//! Halves: hyper drives a connection over one value that reads and writes, which a split
//! stream's halves are not; they implement the traits anyway, as they implement `futures_io`'s,
//! for code that takes a hyper reader or writer alone (an upgraded connection's copy loop, a
//! type that puts two halves back into one connection).

mod io;
mod timer;

pub use timer::FilchTimer;
