//! The halves of a split `TcpStream`: one reader and one writer, owned (`Arc`-shared, movable to
//! separate tasks) or borrowed (for one task).
//!
//! A stream keeps one reader waker and one writer waker, so two tasks may use it at once only in
//! different roles: that is what the halves enforce, each half having only its own direction's
//! operations.

use super::stream::TcpStream;
use crate::net::ops;
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The reading half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// # Examples
///
/// ```no_run
/// filch::run(async {
///     let stream = filch::net::TcpStream::connect("127.0.0.1:8080").await?;
///     let (mut rd, _wr) = stream.into_split();
///     let mut buf = [0; 1024];
///     let n = rd.read(&mut buf).await?;
///     println!("got {:?}", &buf[..n]);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct OwnedReadHalf {
    /// The stream; `pub(crate)` for the hyper impls (`crate::hyper`).
    pub(crate) inner: Arc<TcpStream>,
}

/// The writing half of a [`TcpStream`], from [`TcpStream::into_split`]. Dropping it shuts the
/// write direction down, so the peer reads the end of the stream (unless it is reunited first).
///
/// # Examples
///
/// ```no_run
/// filch::run(async {
///     let stream = filch::net::TcpStream::connect("127.0.0.1:8080").await?;
///     let (_rd, mut wr) = stream.into_split();
///     wr.write_all(b"hello").await?;
///     drop(wr); // the peer now reads the end of the stream
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct OwnedWriteHalf {
    /// The stream; `pub(crate)` for the hyper impls (`crate::hyper`).
    pub(crate) inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

/// The reading half of a borrowed [`TcpStream`], from [`TcpStream::split`].
///
/// # Examples
///
/// ```no_run
/// filch::run(async {
///     let mut stream = filch::net::TcpStream::connect("127.0.0.1:8080").await?;
///     let (mut rd, mut wr) = stream.split();
///     wr.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     rd.read_exact(&mut buf).await?;
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct ReadHalf<'a> {
    /// The stream; `pub(crate)` for the hyper impls (`crate::hyper`).
    pub(crate) inner: &'a TcpStream,
}

/// The writing half of a borrowed [`TcpStream`], from [`TcpStream::split`]. Dropping it changes
/// nothing.
///
/// # Examples
///
/// ```no_run
/// filch::run(async {
///     let mut stream = filch::net::TcpStream::connect("127.0.0.1:8080").await?;
///     let (_rd, mut wr) = stream.split();
///     wr.write_all(b"ping").await?;
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct WriteHalf<'a> {
    /// The stream; `pub(crate)` for the hyper impls (`crate::hyper`).
    pub(crate) inner: &'a TcpStream,
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams; it hands them back.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

pub(super) fn split_owned(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

pub(super) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf { inner: stream }, WriteHalf { inner: stream })
}

/// The inherent methods and trait impls both read halves share.
macro_rules! read_half {
    ($ty:ty) => {
        impl $ty {
            ops::read_methods!(this => this.inner);

            /// The address of the remote end.
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                self.inner.peer_addr()
            }

            /// The address of this end.
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.inner.local_addr()
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read_priv(cx, buf)
            }
        }
    };
}

/// The inherent methods and trait impls both write halves share.
macro_rules! write_half {
    ($ty:ty) => {
        impl $ty {
            ops::write_methods!(this => this.inner);

            /// Shuts the write direction down: the peer reads the end of the stream. Reading
            /// through the other half goes on.
            pub fn shutdown(&self) -> io::Result<()> {
                self.inner.shutdown(Shutdown::Write)
            }

            /// The address of the remote end.
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                self.inner.peer_addr()
            }

            /// The address of this end.
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.inner.local_addr()
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.inner.poll_close_priv()
            }
        }
    };
}

read_half!(OwnedReadHalf);
read_half!(ReadHalf<'_>);
write_half!(OwnedWriteHalf);
write_half!(WriteHalf<'_>);

impl OwnedReadHalf {
    /// Puts the stream back together from its two halves, without shutting anything down.
    /// Fails, handing both back, if they come from different streams.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        reunite(self, other)
    }
}

impl OwnedWriteHalf {
    /// Puts the stream back together from its two halves; see [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        reunite(other, self)
    }
}

fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
    if !Arc::ptr_eq(&read.inner, &write.inner) {
        return Err(ReuniteError(read, write));
    }
    write.shutdown_on_drop = false;
    drop(write);
    // The two halves held the only two references, and the write half is gone.
    Ok(Arc::into_inner(read.inner).expect("a TcpStream half outlived its reunion"))
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // Best effort, as closing a socket is: the peer may already be gone.
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.inner).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&*self.inner).finish()
    }
}

impl fmt::Debug for ReadHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadHalf").field(self.inner).finish()
    }
}

impl fmt::Debug for WriteHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteHalf").field(self.inner).finish()
    }
}

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReuniteError").finish_non_exhaustive()
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different TcpStreams")
    }
}

impl Error for ReuniteError {}
