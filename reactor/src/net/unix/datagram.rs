//! `UnixDatagram`: datagrams over Unix domain sockets.

use crate::io::registration::PollEvented;
use crate::io::Interest;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix domain datagram socket.
///
/// Like [`UdpSocket`](crate::net::UdpSocket): `&self` methods, readiness forgotten only on
/// `WouldBlock`, at most one waiting receiver and one waiting sender at a time.
///
/// # Examples
///
/// ```
/// use filch::net::UnixDatagram;
///
/// filch::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"ping").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    fn new(sys: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(sys)?,
        })
    }

    /// A socket bound to a new socket file at `path`. Fails outside a filch runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        crate::context::current()?;
        UnixDatagram::new(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can still send, and receive once connected or from a
    /// peer that knows it). Fails outside a filch runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        crate::context::current()?;
        UnixDatagram::new(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of unnamed sockets connected to each other. Fails outside a filch runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        crate::context::current()?;
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::new(a)?, UnixDatagram::new(b)?))
    }

    /// Wraps a `std` socket, switching it to non-blocking mode. Fails outside a filch runtime.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::new(mio::net::UnixDatagram::from_std(socket))
    }

    /// Sets the default destination for [`send`](UnixDatagram::send) and the only source
    /// [`recv`](UnixDatagram::recv) accepts.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends `buf` as one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Interest::WRITABLE, |s| s.send(buf))).await
    }

    /// Receives one datagram from the connected peer. Cancel-safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Interest::READABLE, |s| s.recv(buf))).await
    }

    /// Sends `buf` as one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Interest::WRITABLE, |s| s.send_to(buf, path))
        })
        .await
    }

    /// Receives one datagram; returns its length and its sender's address. Cancel-safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Interest::READABLE, |s| s.recv_from(buf))
        })
        .await
    }

    /// Waits until a datagram (or an error) is there to receive. A `try_recv` may still say
    /// `WouldBlock` (another task took it), and the wait starts over.
    ///
    /// ```
    /// use filch::net::UnixDatagram;
    /// use std::io::ErrorKind;
    ///
    /// filch::run(async {
    ///     let (a, b) = UnixDatagram::pair()?;
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.writable().await?;
    ///     a.try_send(b"hi")?;
    ///     let n = loop {
    ///         b.readable().await?;
    ///         match b.try_recv(&mut buf) {
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             other => break other?,
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready_for(cx, Interest::READABLE)).await
    }

    /// Waits until the socket can send.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready_for(cx, Interest::WRITABLE)).await
    }

    /// Sends one datagram to the connected peer if the socket can take it now; `WouldBlock`
    /// otherwise.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer if one is there now; `WouldBlock` otherwise.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |s| s.recv(buf))
    }

    /// Sends one datagram to the socket at `path` if the socket can take it now; `WouldBlock`
    /// otherwise.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.try_io(Interest::WRITABLE, |s| s.send_to(buf, path))
    }

    /// Receives one datagram and its sender if one is there now; `WouldBlock` otherwise.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READABLE, |s| s.recv_from(buf))
    }

    /// The `std` socket, deregistered from the runtime and still in non-blocking mode.
    pub fn into_std(self) -> std::os::unix::net::UnixDatagram {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: `fd` was just given up by the mio socket, which owned it; the std socket takes
        // that ownership over.
        unsafe { std::os::unix::net::UnixDatagram::from_raw_fd(fd) }
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixDatagram {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
