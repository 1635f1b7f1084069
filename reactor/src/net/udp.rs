//! `UdpSocket`: datagrams over UDP.

use crate::context;
use crate::io::registration::PollEvented;
use crate::io::Interest;
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

/// A UDP socket.
///
/// Every operation goes through the readiness check and waits on `WouldBlock`. Unlike a stream,
/// a short datagram says nothing about what else is queued, so readiness is forgotten only when
/// the OS says `WouldBlock`.
///
/// The methods take `&self`, so one task can send while another receives (share the socket in
/// an `Arc`). The socket keeps one waker per direction: at most one task should wait to receive
/// and one to send at a time; a second waiter in the same direction would take the first one's
/// place and the first would not be woken.
///
/// # Examples
///
/// ```no_run
/// use filch::net::UdpSocket;
///
/// filch::run(async {
///     let socket = UdpSocket::bind("127.0.0.1:0").await?;
///     socket.send_to(b"hello", "127.0.0.1:9000").await?;
///     let mut buf = [0; 1500];
///     let (n, from) = socket.recv_from(&mut buf).await?;
///     println!("{n} bytes from {from}");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it resolves to in turn; fails with the
    /// last address's error. Port 0 picks a free port.
    ///
    /// Fails at once, with an error that names `filch::run`, outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let socket = filch::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     println!("bound to {}", socket.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let handle = context::current()?;
        each_addr(addr, |addr| {
            let handle = handle.clone();
            async move {
                let sys = mio::net::UdpSocket::bind(addr)?;
                Ok(UdpSocket {
                    io: PollEvented::new_with(sys, handle)?,
                })
            }
        })
        .await
    }

    /// Wraps a bound `std` socket, switching it to non-blocking mode.
    ///
    /// Fails outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     let socket = filch::net::UdpSocket::from_std(std_socket)?;
    ///     # drop(socket);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollEvented::new(mio::net::UdpSocket::from_std(socket))?,
        })
    }

    /// Sets the default destination for [`send`](UdpSocket::send) and the only source
    /// [`recv`](UdpSocket::recv) accepts, trying each address `addr` resolves to in turn.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let socket = filch::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect("127.0.0.1:9000").await?;
    ///     socket.send(b"hello").await?;
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |addr| async move { self.io.get_ref().connect(addr) }).await
    }

    /// Sends `buf` as one datagram to the connected peer; returns the bytes sent.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls sending `buf` as one datagram to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Interest::WRITABLE, |sock| sock.send(buf))
    }

    /// Receives one datagram from the connected peer into `buf`; returns its length. The excess
    /// of a datagram longer than `buf` is discarded. Cancel-safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls receiving one datagram from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Interest::READABLE, |sock| sock.recv(buf))
    }

    /// Sends `buf` as one datagram to `target` (its first resolved address); returns the bytes
    /// sent.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = resolve(target).await?[0];
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls sending `buf` as one datagram to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Interest::WRITABLE, |sock| sock.send_to(buf, target))
    }

    /// Receives one datagram into `buf`; returns its length and its sender. The excess of a
    /// datagram longer than `buf` is discarded. Cancel-safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls receiving one datagram.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(cx, Interest::READABLE, |sock| sock.recv_from(buf))
    }

    /// Receives one datagram into `buf` without taking it off the queue: the next receive gets
    /// it again. Returns its length (up to `buf.len()`) and its sender.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Interest::READABLE, |sock| sock.peek_from(buf))
        })
        .await
    }

    /// Waits until a datagram (or an error) is there to receive. A `try_recv` may still say
    /// `WouldBlock` (another task took it), and the wait starts over.
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
        self.io.try_io(Interest::WRITABLE, |sock| sock.send(buf))
    }

    /// Receives one datagram from the connected peer if one is there now; `WouldBlock` otherwise.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |sock| sock.recv(buf))
    }

    /// Sends one datagram to `target` if the socket can take it now; `WouldBlock` otherwise.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io
            .try_io(Interest::WRITABLE, |sock| sock.send_to(buf, target))
    }

    /// Receives one datagram and its sender if one is there now; `WouldBlock` otherwise.
    ///
    /// ```
    /// use filch::net::UdpSocket;
    /// use std::io::ErrorKind;
    ///
    /// filch::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.send_to(b"hi", b.local_addr()?).await?;
    ///     let (n, from) = loop {
    ///         b.readable().await?;
    ///         match b.try_recv_from(&mut buf) {
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             other => break other?,
    ///         }
    ///     };
    ///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Interest::READABLE, |sock| sock.recv_from(buf))
    }

    /// The `std` socket, deregistered from the runtime and still in non-blocking mode.
    pub fn into_std(self) -> std::net::UdpSocket {
        self.io.into_inner().into()
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the connected peer (`NotConnected` before [`connect`](UdpSocket::connect)).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`: whether the socket may send to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
