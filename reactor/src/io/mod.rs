//! I/O readiness: how a socket operation waits for the OS.
//!
//! # Roles
//!
//! - The **driver** (`driver.rs`) owns the `mio::Poll`. Each source is registered once, for reading
//!   and writing, **edge-triggered**, and stays registered until it is dropped: waiting again never
//!   costs an `epoll_ctl`.
//! - The **slab** (`slab.rs`) maps generation-tagged tokens to sources, so an event for a source
//!   that was dropped (and whose slot was reused) is ignored.
//! - Each source has a **`ScheduledIo`** (`scheduled_io.rs`): an atomic readiness word (readable,
//!   writable, read-closed, write-closed, error, plus the driver tick that last set it) and one
//!   reader and one writer waker. Its doc states the set/wait/clear protocol.
//! - **`PollEvented`** (`registration.rs`) wraps a mio socket: every operation first checks the
//!   readiness word, then makes the syscall; on `WouldBlock` it clears the readiness it acted on and
//!   waits. `EINTR` is retried here, in one place.
//! - **`ReadUninit`** (`read_uninit.rs`) is the syscall of a stream read: `readv` into the
//!   caller's buffer plus a spare byte, where the buffer may be uninitialised (hyper's are), so
//!   nothing is zeroed before a read.
//!
//! # Syscalls per operation
//!
//! With edge triggering, readiness stays set until an operation returns `WouldBlock`, so a
//! task that keeps up with its socket does one `read` per message and no `epoll_ctl`. A stream read
//! that returns fewer bytes than asked for has drained the socket, so its readable bit is cleared
//! right away and the task waits for the next edge instead of paying for a `read` that returns
//! `WouldBlock` (likewise for a short write). The error bit wakes readers and writers alike and
//! is cleared by `WouldBlock` only: the pending error goes to the first operation that asks.

mod read_uninit;
mod ready;
pub(crate) mod registration;
pub(crate) mod scheduled_io;
pub(crate) mod slab;

#[cfg(all(test, filch_loom))]
mod loom_tests;

pub use ready::{Interest, Ready};
