//! `UnixStream`: a connected Unix domain stream socket.

use crate::io::registration::PollEvented;
use crate::io::Interest;
use crate::net::ops;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A Unix domain stream connection, made by [`UnixStream::connect`], [`UnixStream::pair`] or a
/// [`UnixListener`](crate::net::UnixListener).
///
/// Reads and writes work as on a [`TcpStream`](crate::net::TcpStream): inherent `async fn`s or
/// `futures_io::AsyncRead`/`AsyncWrite`, `&mut self`, one reader and one writer.
///
/// # Examples
///
/// ```
/// use filch::net::UnixStream;
///
/// filch::run(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. Fails, naming `filch::run`, outside a filch runtime.
    ///
    /// While the listener's queue of pending connections is full, it waits for room, as a
    /// blocking `connect` does (trying again after pauses that grow from 1 ms to 64 ms: the OS
    /// gives no event for it). Put a [`timeout`](crate::time::timeout) around it to give up.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let stream = filch::net::UnixStream::connect("/tmp/filch-example.sock").await?;
    ///     # drop(stream);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let handle = crate::context::current()?;
        let sys = connect_when_there_is_room(path.as_ref()).await?;
        let stream = UnixStream {
            io: PollEvented::new_with(sys, handle)?,
        };
        ops::wait_connected(
            &stream.io,
            mio::net::UnixStream::take_error,
            mio::net::UnixStream::peer_addr,
        )
        .await?;
        Ok(stream)
    }

    /// A pair of streams connected to each other. Fails outside a filch runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let handle = crate::context::current()?;
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                io: PollEvented::new_with(a, handle.clone())?,
            },
            UnixStream {
                io: PollEvented::new_with(b, handle)?,
            },
        ))
    }

    /// Registers a connected mio stream with the current driver.
    pub(crate) fn new(sys: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(sys)?,
        })
    }

    /// Registers an accepted mio stream with its listener's driver.
    pub(crate) fn new_with(
        sys: mio::net::UnixStream,
        handle: crate::Handle,
    ) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new_with(sys, handle)?,
        })
    }

    /// Wraps a connected `std` stream, switching it to non-blocking mode. Fails outside a filch
    /// runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::new(mio::net::UnixStream::from_std(stream))
    }

    ops::read_methods!(this => this);
    ops::write_methods!(this => this);

    /// Waits until the stream is readable: data, the end of the stream or an error is there to
    /// read. A [`try_read`](UnixStream::try_read) may still say `WouldBlock` (another reader
    /// took it), and the wait starts over, as on a [`TcpStream`](crate::net::TcpStream).
    ///
    /// ```
    /// use filch::net::UnixStream;
    /// use std::io::ErrorKind;
    ///
    /// filch::run(async {
    ///     let (mut a, b) = UnixStream::pair()?;
    ///     let mut buf = [0u8; 16];
    ///     assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.write_all(b"ping").await?;
    ///     let n = loop {
    ///         b.readable().await?;
    ///         match b.try_read(&mut buf) {
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             other => break other?,
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"ping");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.io.poll_stream_readable(cx)).await
    }

    /// Waits until the stream is writable (the socket buffer has room, or an error is there).
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.io.poll_ready_for(cx, Interest::WRITABLE)).await
    }

    /// Reads what is there now, without waiting: `WouldBlock` if nothing is. `Ok(0)` at the end of
    /// the stream. Pair it with [`readable`](UnixStream::readable).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_stream(buf)
    }

    /// Writes what the socket takes now, without waiting: `WouldBlock` if it takes nothing. Pair
    /// it with [`writable`](UnixStream::writable).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        use std::io::Write;
        self.io.try_io(Interest::WRITABLE, |mut io| io.write(buf))
    }

    /// The `std` stream, deregistered from the runtime and still in non-blocking mode. Fails if
    /// an earlier read kept a byte read ahead (or an error), which the `std` stream would lose.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        if self.io.has_held() {
            return Err(io::Error::other(
                "UnixStream::into_std: a read kept a byte (or an error) that the std stream \
                 would lose; read until WouldBlock before converting",
            ));
        }
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: `fd` was just given up by the mio stream, which owned it; the std stream
        // takes that ownership over.
        Ok(unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) })
    }

    /// Shuts down the read direction, the write direction, or both (never blocks).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    // The operations the `futures_io` and hyper impls share, as `TcpStream`'s.

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream(cx, buf)
    }

    /// A read into a buffer that may be uninitialised; see `TcpStream::poll_read_uninit_priv`.
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream_uninit(cx, buf)
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_stream(cx, buf)
    }

    /// Vectored writes go through `poll_io`, as `TcpStream`'s do.
    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        self.io.poll_io(cx, Interest::WRITABLE, |sock| {
            ops::write_vectored(sock, bufs)
        })
    }

    pub(crate) fn poll_close_priv(&self) -> Poll<io::Result<()>> {
        ops::close_write(self.shutdown(Shutdown::Write))
    }
}

/// The first pause before a connect that found the listener's queue full is tried again.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(1);
/// The pause doubles on each try, up to this.
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(64);

/// `connect(2)` on a non-blocking Unix stream socket, repeated while it fails with `EAGAIN`
/// (`WouldBlock`): the listener's queue of pending connections is full. Unlike TCP's
/// `EINPROGRESS`, that leaves nothing in flight to wait for, and no readiness event tells when
/// the queue has room (the unconnected socket reports itself writable and hung up at once, and
/// nothing after), so the only way forward is to call `connect` again, after a pause.
async fn connect_when_there_is_room(path: &Path) -> io::Result<mio::net::UnixStream> {
    let mut pause = FIRST_RETRY_PAUSE;
    loop {
        match mio::net::UnixStream::connect(path) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // The pause needs this thread's driver: an error, not the timer's panic, if the
                // future is polled elsewhere.
                crate::context::current()?;
                crate::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            result => return result,
        }
    }
}

impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write direction down: the peer reads the end of the stream.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close_priv()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
