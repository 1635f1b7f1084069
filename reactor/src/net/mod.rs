//! Sockets: TCP, UDP and Unix domain sockets on the reactor.
//!
//! # Design
//!
//! Every socket is a mio socket (non-blocking) wrapped in the reactor's `PollEvented`, which
//! registered it once, edge-triggered, with the driver entered on the thread that created it.
//! An operation checks the readiness word, makes the syscall, and on `WouldBlock` forgets the
//! readiness and waits for the next edge; it spends one unit of the task's cooperative budget.
//!
//! - **Streams** (`TcpStream`, `UnixStream`) read and write through the stream helpers: a read
//!   or write shorter than asked for drained the socket, so readiness is forgotten at once and
//!   the next operation waits instead of paying for a syscall that would say `WouldBlock`.
//!   Vectored writes use the plain path.
//! - **No stream write raises `SIGPIPE`** (on Linux; on Apple systems mio sets `SO_NOSIGPIPE`): a
//!   write to a peer that is gone fails with `EPIPE` (or `ECONNRESET`) and that is all, even in a
//!   process that does not ignore the signal. Plain writes are `std`'s `send` with
//!   `MSG_NOSIGNAL`; vectored writes, which `std` makes with `writev`, are `sendmsg` with
//!   `MSG_NOSIGNAL` (`ops::write_vectored`).
//! - **Datagram sockets** (`UdpSocket`, `UnixDatagram`) use the plain path only: a short
//!   datagram says nothing about what else is queued.
//! - **Listeners** accept through the plain path too. An accept that fails with anything but
//!   `WouldBlock` (`EMFILE`, ...) keeps the readiness, so the next `accept` retries at once: the
//!   pending connection is still queued and no new edge would come for it.
//! - **Connecting** is non-blocking: the socket is registered while the connect is in flight,
//!   and once it is writable a pending socket error (`ConnectionRefused`, ...) is the answer;
//!   if `peer_addr` still says `NotConnected` the wake-up was early and it waits again. A Unix
//!   stream connect to a listener whose backlog is full fails at once with `EAGAIN` instead, with
//!   nothing in flight and no event to wait for: it is tried again after a growing pause.
//! - **Addresses** ([`ToSocketAddrs`]) that are literal resolve inline; a host name is looked up
//!   by `std`'s resolver on a short-lived helper thread (this crate must not depend on the
//!   runtime's blocking pool), awaited through a one-shot slot. `bind` and `connect` try each
//!   resolved address in turn and report the last error.
//!
//! # Who may wait
//!
//! A socket keeps one waker for reading and one for writing. Streams take `&mut self` for I/O,
//! and their split halves give one task the reading side and another the writing side; socket
//! types whose methods take `&self` (listeners, datagram sockets) should have at most one task
//! waiting in each direction at a time.
//!
//! # Outside a runtime
//!
//! Creating a socket needs a driver: outside a filch runtime every constructor returns an
//! `io::Error` that says to use `filch::run`, before doing any other work.

mod addr;
mod ops;
pub mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use addr::ToSocketAddrs;
#[cfg(unix)]
pub use tcp::TcpSocket;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
