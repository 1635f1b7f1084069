//! What every stream type shares: the async `read`/`read_exact`/`write`/`write_all`/`flush`
//! methods (written once, as macros, for the streams and their halves), the loops behind
//! `read_exact` and `write_all`, a vectored write that raises no `SIGPIPE`, and the wait for a
//! non-blocking `connect` to finish.

use crate::io::registration::PollEvented;
use crate::io::Interest;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::task::{Context, Poll};

/// The async `read` and `read_exact` of a stream type. `$this => $stream` names `&*self` and the
/// stream (anything that derefs to one with a `poll_read_priv(&self, cx, buf)`) reached from it.
macro_rules! read_methods {
    ($this:ident => $stream:expr) => {
        /// Reads into `buf`, waiting until at least one byte is there; `Ok(0)` at the end of the
        /// stream (or for an empty `buf`). Cancel-safe: dropping the future loses no data.
        pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = &*self;
            let stream = &*$stream;
            std::future::poll_fn(|cx| stream.poll_read_priv(cx, buf)).await
        }

        /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first. Not
        /// cancel-safe: bytes read before the future is dropped are lost.
        pub async fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            let $this = &*self;
            let stream = &*$stream;
            $crate::net::ops::read_exact(|cx, buf| stream.poll_read_priv(cx, buf), buf).await
        }
    };
}

/// The async `write`, `write_all` and `flush` of a stream type; see [`read_methods`].
macro_rules! write_methods {
    ($this:ident => $stream:expr) => {
        /// Writes some of `buf`, waiting until the socket takes at least one byte; returns how
        /// many it took. Cancel-safe.
        pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = &*self;
            let stream = &*$stream;
            std::future::poll_fn(|cx| stream.poll_write_priv(cx, buf)).await
        }

        /// Writes all of `buf`. Not cancel-safe: a dropped future may have sent part of it.
        pub async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
            let $this = &*self;
            let stream = &*$stream;
            $crate::net::ops::write_all(|cx, buf| stream.poll_write_priv(cx, buf), buf).await
        }

        /// Does nothing: the stream has no user-space buffer, every write goes to the kernel.
        pub async fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    };
}

pub(crate) use {read_methods, write_methods};

/// Reads until `buf` is full; `UnexpectedEof` if the stream ends first.
pub(crate) async fn read_exact(
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    mut buf: &mut [u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| poll_read(cx, buf)).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended before the buffer was full",
            ));
        }
        buf = &mut std::mem::take(&mut buf)[n..];
    }
    Ok(())
}

/// Writes all of `buf`; `WriteZero` if the stream stops taking bytes.
pub(crate) async fn write_all(
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
    mut buf: &[u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the stream took no bytes",
            ));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Waits for a non-blocking `connect` on `io` to finish (the steps mio's `TcpStream::connect`
/// documents): once the socket is writable, a pending socket error (`take_error`) is the
/// connect's failure, `ConnectionRefused` for a port nobody listens on; otherwise the socket is
/// connected if `peer_addr` answers, and still connecting if it says `NotConnected`, which is
/// turned into `WouldBlock` so that `poll_io` forgets the readiness and waits for the next edge.
pub(crate) async fn wait_connected<E, A>(
    io: &PollEvented<E>,
    take_error: impl Fn(&E) -> io::Result<Option<io::Error>>,
    peer_addr: impl Fn(&E) -> io::Result<A>,
) -> io::Result<()>
where
    E: mio::event::Source,
{
    poll_fn(|cx| {
        io.poll_io(cx, Interest::WRITABLE, |sock| {
            if let Some(e) = take_error(sock)? {
                return Err(e);
            }
            match peer_addr(sock) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
    })
    .await
}

/// A vectored write on a stream socket that never raises `SIGPIPE`.
///
/// `std`'s plain socket writes are `send` with `MSG_NOSIGNAL`: a write to a peer that is gone
/// fails with `EPIPE`, nothing more. Its vectored writes are `writev`, which takes no flags, and
/// there the kernel also raises `SIGPIPE`, which kills a process that has not ignored it (a Rust
/// `main` ignores it, but a program may restore it, and a host process that embeds Rust code need
/// not ignore it at all). So on Linux a vectored write is `sendmsg` with `MSG_NOSIGNAL`, through
/// libc: mio has no call for it. Elsewhere it stays `std`'s `writev` (on Apple systems mio sets
/// `SO_NOSIGPIPE` on every socket it makes).
#[cfg(target_os = "linux")]
pub(crate) fn write_vectored<S: std::os::fd::AsFd>(
    sock: &S,
    bufs: &[IoSlice<'_>],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // The kernel refuses more than `UIO_MAXIOV` buffers in one call: write the first ones, as
    // `std`'s `write_vectored` does.
    let count = bufs.len().min(libc::UIO_MAXIOV as usize);
    // SAFETY: `msghdr` is plain data, for which all zeroes is a valid value (no address, no
    // control data, no buffers), whatever private padding fields the target's libc gives it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is guaranteed to be ABI-compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_ptr().cast::<libc::iovec>().cast_mut();
    msg.msg_iovlen = count as _;
    // SAFETY: `msg` describes `count` buffers of `bufs`, each a live, readable slice, and outlives
    // the call, which only reads them; the descriptor stays open while `sock` is borrowed.
    let sent = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// A vectored write on a stream socket: see the Linux version.
#[cfg(not(target_os = "linux"))]
pub(crate) fn write_vectored<S>(sock: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize>
where
    for<'a> &'a S: io::Write,
{
    io::Write::write_vectored(&mut &*sock, bufs)
}

/// Shuts the write direction down for `poll_close`: a socket whose peer is already gone
/// (`NotConnected`, as macOS reports it) is as closed as it gets, so that is success.
pub(crate) fn close_write(shutdown: io::Result<()>) -> Poll<io::Result<()>> {
    match shutdown {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
        result => Poll::Ready(result),
    }
}
