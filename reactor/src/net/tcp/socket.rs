//! `TcpSocket`: a TCP socket configured before it connects or listens.

use super::{TcpListener, TcpStream};
use crate::context;
use crate::net::ops;
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A TCP socket not yet connected or listening, for the options that must be set before
/// (tokio's `TcpSocket`): reuse of the address or port, buffer sizes, binding to a local address
/// before connecting. Then [`connect`](TcpSocket::connect) makes a [`TcpStream`] and
/// [`listen`](TcpSocket::listen) a [`TcpListener`].
///
/// ```
/// use filch::net::TcpSocket;
///
/// filch::run(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.set_recv_buffer_size(256 * 1024)?;
///     socket.bind("127.0.0.1:0".parse().unwrap())?;
///     let listener = socket.listen(128)?;
///
///     let client = TcpSocket::new_v4()?;
///     client.bind("127.0.0.1:0".parse().unwrap())?; // choose the local address
///     let from = client.local_addr()?;
///     let stream = client.connect(listener.local_addr()?).await?;
///     let (_, peer) = listener.accept().await?;
///     assert_eq!(peer, from);
///     assert_eq!(stream.local_addr()?, from);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A socket of the family of `addr`: IPv4 or IPv6.
    pub fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // Non-blocking from the start where the OS can (`SOCK_NONBLOCK`: one syscall, not three,
        // as the study's `net_tcp_socket_connect` showed); elsewhere with `fcntl` after.
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        let inner = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        let inner = {
            let inner = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
            inner.set_nonblocking(true)?;
            inner
        };
        Ok(TcpSocket { inner })
    }

    /// `SO_REUSEADDR`: bind to an address still in `TIME_WAIT` (a restarted server's port).
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// `SO_REUSEPORT`: several sockets listening on one port, the kernel spreading connections.
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// `SO_SNDBUF`: the kernel's send buffer, in bytes (Linux doubles what it is given).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// The send buffer's size, as the kernel reports it.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// `SO_RCVBUF`: the kernel's receive buffer, in bytes (Linux doubles what it is given).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// The receive buffer's size, as the kernel reports it.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle off).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// `SO_KEEPALIVE`: probe an idle connection so that a dead peer is noticed.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// `SO_LINGER`: how long closing waits for unsent data (`Some(0)`: reset at once).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// Binds the socket to a local address (port 0: the system picks one).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The local address, once bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
    }

    /// Connects to `addr`, waiting until the connection is made (or refused). Fails outside a
    /// filch runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        context::current()?;
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let std_stream: std::net::TcpStream = self.inner.into();
        let stream = TcpStream::new(mio::net::TcpStream::from_std(std_stream))?;
        ops::wait_connected(
            stream.io_ref(),
            mio::net::TcpStream::take_error,
            mio::net::TcpStream::peer_addr,
        )
        .await?;
        Ok(stream)
    }

    /// Listens for connections, with at most `backlog` waiting to be accepted. Fails outside a
    /// filch runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_std(self.inner.into())
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
