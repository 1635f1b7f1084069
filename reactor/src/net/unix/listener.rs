//! `UnixListener`: a socket that accepts Unix stream connections.

use super::stream::UnixStream;
use crate::io::registration::PollEvented;
use crate::io::Interest;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{ready, Context, Poll};

/// A Unix domain socket listening for stream connections.
///
/// Accept from one task at a time: the listener keeps one waker for a waiting acceptor. A failed
/// accept (`EMFILE`, say) leaves the listener working: the next `accept` tries again at once.
///
/// # Examples
///
/// ```no_run
/// use filch::net::UnixListener;
///
/// filch::run(async {
///     let listener = UnixListener::bind("/tmp/filch-example.sock")?;
///     loop {
///         let (mut stream, _) = listener.accept().await?;
///         filch::spawn(async move {
///             let _ = stream.write_all(b"hello\n").await;
///         });
///     }
///     # #[allow(unreachable_code)]
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it. Fails if the path exists (remove a
    /// stale socket file first) and, naming `filch::run`, outside a filch runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let handle = crate::context::current()?;
        let sys = mio::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            io: PollEvented::new_with(sys, handle)?,
        })
    }

    /// Wraps a bound `std` listener, switching it to non-blocking mode. Fails outside a filch
    /// runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollEvented::new(mio::net::UnixListener::from_std(listener))?,
        })
    }

    /// Waits for the next connection; returns the stream and the peer's address (usually
    /// unnamed). Cancel-safe.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection. The stream joins the listener's runtime, whichever
    /// thread polls.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (sys, peer) =
            ready!(self
                .io
                .poll_io(cx, Interest::READABLE, mio::net::UnixListener::accept))?;
        let handle = self.io.handle().clone();
        Poll::Ready(Ok((UnixStream::new_with(sys, handle)?, peer)))
    }

    /// The `std` listener, deregistered from the runtime and still in non-blocking mode.
    pub fn into_std(self) -> std::os::unix::net::UnixListener {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: `fd` was just given up by the mio listener, which owned it; the std listener
        // takes that ownership over.
        unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
