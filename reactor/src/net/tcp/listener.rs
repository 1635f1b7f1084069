//! `TcpListener`: a socket that accepts TCP connections.

use super::stream::TcpStream;
use crate::context;
use crate::io::registration::PollEvented;
use crate::io::Interest;
use crate::net::addr::{each_addr, ToSocketAddrs};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

/// A TCP socket listening for connections.
///
/// Accept from one task at a time: the listener keeps one waker for a waiting acceptor, and a
/// second task waiting at the same time would take the first one's place.
///
/// An accept that fails (say with `EMFILE`, too many open files) returns the error and leaves the
/// listener as it was: the pending connection stays queued, and the next `accept` tries again at
/// once (readiness is forgotten only when the OS says `WouldBlock`).
///
/// # Examples
///
/// An echo server:
///
/// ```no_run
/// use filch::net::TcpListener;
///
/// filch::run(async {
///     let listener = TcpListener::bind("127.0.0.1:8080").await?;
///     loop {
///         let (mut stream, peer) = listener.accept().await?;
///         drop(filch::spawn(async move {
///             let mut buf = [0; 1024];
///             loop {
///                 match stream.read(&mut buf).await {
///                     Ok(0) | Err(_) => return,
///                     Ok(n) => {
///                         if stream.write_all(&buf[..n]).await.is_err() {
///                             return;
///                         }
///                     }
///                 }
///             }
///         }));
///         println!("serving {peer}");
///     }
///     # #[allow(unreachable_code)]
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr`, trying each address it resolves to in turn; fails with the
    /// last address's error (`AddrInUse` when another socket holds the port). Port 0 picks a
    /// free port: read it back with [`local_addr`](TcpListener::local_addr).
    ///
    /// Fails at once, with an error that names `filch::run`, outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let listener = filch::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     println!("listening on {}", listener.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let handle = context::current()?;
        each_addr(addr, |addr| {
            let handle = handle.clone();
            async move {
                let sys = mio::net::TcpListener::bind(addr)?;
                Ok(TcpListener {
                    io: PollEvented::new_with(sys, handle)?,
                })
            }
        })
        .await
    }

    /// Wraps a bound `std` listener, switching it to non-blocking mode.
    ///
    /// Fails outside a filch runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// filch::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let listener = filch::net::TcpListener::from_std(std_listener)?;
    ///     # drop(listener);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(mio::net::TcpListener::from_std(listener))?,
        })
    }

    /// Waits for the next connection; returns the stream and the peer's address. Cancel-safe:
    /// a connection is taken from the queue only when the future completes.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection: `Pending` (with `cx`'s waker stored) while none is
    /// queued.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (sys, peer) =
            ready!(self
                .io
                .poll_io(cx, Interest::READABLE, mio::net::TcpListener::accept))?;
        let handle = self.io.handle().clone();
        Poll::Ready(Ok((TcpStream::new_with(sys, handle)?, peer)))
    }

    /// The `std` listener, deregistered from the runtime and still in non-blocking mode.
    pub fn into_std(self) -> std::net::TcpListener {
        self.io.into_inner().into()
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
