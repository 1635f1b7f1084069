//! `TcpStream`: a connected TCP socket.

use super::split::{split, split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::context;
use crate::io::registration::PollEvented;
use crate::io::Interest;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::ops;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A TCP connection, made by [`TcpStream::connect`] or accepted by a
/// [`TcpListener`](crate::net::TcpListener).
///
/// Read and write with the inherent `async fn`s ([`read`](TcpStream::read),
/// [`write_all`](TcpStream::write_all), ...) or through `futures_io::AsyncRead`/`AsyncWrite`
/// (and so `futures::io::AsyncReadExt`, `copy`, codecs). Closing the write direction sends the
/// peer an end of stream: [`shutdown`](TcpStream::shutdown) with `Shutdown::Write`, or
/// `AsyncWrite::poll_close`. To read and write from two tasks at once, split the stream with
/// [`into_split`](TcpStream::into_split) (owned halves) or [`split`](TcpStream::split) (borrowed
/// halves).
///
/// Reads and writes take `&mut self`: the stream keeps one waker for a reader and one for a
/// writer, and the halves are how two tasks share it, one in each role.
///
/// # Examples
///
/// ```no_run
/// use filch::net::TcpStream;
///
/// filch::run(async {
///     let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
///     stream.write_all(b"ping").await?;
///     let mut reply = [0; 4];
///     stream.read_exact(&mut reply).await?;
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each address it resolves to in turn; fails with the
    /// last address's error (`ConnectionRefused` when nobody listens there).
    ///
    /// Fails at once, with an error that names `filch::run`, outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let stream = filch::net::TcpStream::connect(("127.0.0.1", 8080)).await?;
    ///     println!("connected to {}", stream.peer_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        context::current()?;
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::new(mio::net::TcpStream::connect(addr)?)?;
        ops::wait_connected(
            &stream.io,
            mio::net::TcpStream::take_error,
            mio::net::TcpStream::peer_addr,
        )
        .await?;
        Ok(stream)
    }

    /// The registration, for a connect made elsewhere (`TcpSocket`) to wait on.
    pub(crate) fn io_ref(&self) -> &PollEvented<mio::net::TcpStream> {
        &self.io
    }

    /// Registers a connected (or connecting) mio stream with the current driver.
    pub(crate) fn new(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(sys)?,
        })
    }

    /// Registers an accepted mio stream with its listener's driver.
    pub(crate) fn new_with(
        sys: mio::net::TcpStream,
        handle: crate::Handle,
    ) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new_with(sys, handle)?,
        })
    }

    /// Wraps a connected `std` stream, switching it to non-blocking mode.
    ///
    /// Fails outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let std_stream = std::net::TcpStream::connect("127.0.0.1:8080")?;
    ///     let stream = filch::net::TcpStream::from_std(std_stream)?;
    ///     # drop(stream);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    ops::read_methods!(this => this);
    ops::write_methods!(this => this);

    /// Waits until the stream is readable: data, the end of the stream or an error is there to
    /// read. It may then find nothing after all (another reader took it): a
    /// [`try_read`](TcpStream::try_read) says `WouldBlock` and the wait starts over, as in tokio.
    ///
    /// ```
    /// use filch::net::{TcpListener, TcpStream};
    /// use std::io::ErrorKind;
    ///
    /// filch::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"ping").await?;
    ///     let mut buf = [0u8; 16];
    ///     let n = loop {
    ///         server.readable().await?;
    ///         match server.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"ping");
    ///     Ok(())
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
    /// the stream. Pair it with [`readable`](TcpStream::readable).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_stream(buf)
    }

    /// Writes what the socket takes now, without waiting: `WouldBlock` if it takes nothing. Pair
    /// it with [`writable`](TcpStream::writable).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        use std::io::Write;
        self.io.try_io(Interest::WRITABLE, |mut io| io.write(buf))
    }

    /// Reads into `buf` without taking the bytes off the stream, waiting until at least one is
    /// there: the next read returns the same bytes. `Ok(0)` at the end of the stream.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_peek_stream(cx, buf, |io, buf| io.peek(buf))).await
    }

    /// The `std` stream, deregistered from the runtime and still in non-blocking mode (call
    /// `set_nonblocking(false)` for blocking use).
    ///
    /// Fails if an earlier read took a byte past what it returned (filch reads one byte ahead to
    /// learn that the socket is empty): that byte would be lost with the conversion.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        if self.io.has_held() {
            return Err(io::Error::other(
                "TcpStream::into_std: a read kept a byte (or an error) that the std stream would                  lose; read until WouldBlock before converting",
            ));
        }
        Ok(self.io.into_inner().into())
    }

    /// Shuts down the read direction, the write direction, or both (`std`'s `shutdown`, which
    /// never blocks). After `Shutdown::Write` the peer reads the end of the stream, and this
    /// side can still read what the peer sends (a half-close).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY`: when `true`, small writes go out at once instead of waiting to be
    /// merged (Nagle's algorithm off).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Splits the stream into halves that can move to different tasks: one reads, the other
    /// writes. Dropping the write half shuts the write direction down (the peer reads the end
    /// of the stream); [`OwnedReadHalf::reunite`] puts the stream back together.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let stream = filch::net::TcpStream::connect("127.0.0.1:8080").await?;
    ///     let (mut rd, mut wr) = stream.into_split();
    ///     let writer = filch::spawn(async move { wr.write_all(b"hello").await });
    ///     let mut buf = [0; 5];
    ///     rd.read_exact(&mut buf).await?;
    ///     writer.await.unwrap()?;
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }

    /// Splits the stream into borrowed halves, for reading and writing at once within one task
    /// (for example in a `join`). Cheaper than [`into_split`](TcpStream::into_split): no `Arc`,
    /// and dropping the write half does not shut anything down.
    ///
    /// With `futures::io::AsyncReadExt` in scope, `stream.split()` resolves to that trait's
    /// by-value `split`; write `TcpStream::split(&mut stream)` to get this one.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split(self)
    }

    // The `&self` operations the halves share. One reader and one writer at a time: the
    // `&mut self` methods and the halves guarantee it.

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream(cx, buf)
    }

    /// A read into a buffer that may be uninitialised (hyper's `Read`): the same read, budget
    /// and readiness as [`poll_read_priv`](Self::poll_read_priv), and its guarantee: on
    /// `Ready(Ok(n))` the first `n` bytes of `buf` are initialised, and nothing uninitialised is
    /// ever written into it (`PollEvented::poll_read_stream_uninit`).
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

    /// Vectored writes go through `poll_io`, not the stream helper: a short vectored write says
    /// less about the socket buffer than a short plain one, and `WouldBlock` still clears.
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

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
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

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
