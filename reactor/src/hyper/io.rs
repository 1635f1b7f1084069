//! `hyper::rt::Read` and `Write` for the stream sockets and the halves of a TCP stream.
//!
//! Each impl calls the stream's shared `poll_*_priv` operations, the ones its `futures_io` impls
//! call: the same readiness handling and cooperative budget, written once.

use crate::net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::TcpStream;
#[cfg(unix)]
use crate::net::UnixStream;
use ::hyper::rt::ReadBufCursor;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Reads into the unfilled part of hyper's buffer, uninitialised as it is, and advances the
/// cursor by what was read. `read` is a stream's `poll_read_uninit_priv`.
fn poll_read_cursor(
    cx: &mut Context<'_>,
    mut buf: ReadBufCursor<'_>,
    read: impl FnOnce(&mut Context<'_>, &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // `read` writes into the slice only the bytes it read, never an uninitialised one (the
    // guarantee of `PollEvented::poll_read_stream_uninit`, behind every `poll_read_uninit_priv`).
    // SAFETY: `as_mut` asks that no initialised byte be de-initialised through the slice: see
    // above.
    let unfilled = unsafe { buf.as_mut() };
    let n = ready!(read(cx, unfilled))?;
    // SAFETY: `advance(n)` asks that the next `n` bytes be initialised: `read` returned `n`, so
    // it initialised the first `n` bytes of the unfilled part (the same guarantee), and
    // `n <= unfilled.len()` since it reads at most that many into it.
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}

/// `hyper::rt::Read` for `$ty`, whose stream (a `TcpStream` or `UnixStream`) is `$stream`,
/// reached from `$this: &$ty`.
macro_rules! hyper_read {
    ($ty:ty, $this:ident => $stream:expr) => {
        impl ::hyper::rt::Read for $ty {
            /// Reads into hyper's buffer without zeroing it; the cursor is not advanced at the
            /// end of the stream.
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                let $this = &*self;
                let stream = &*$stream;
                poll_read_cursor(cx, buf, |cx, dst| stream.poll_read_uninit_priv(cx, dst))
            }
        }
    };
}

/// `hyper::rt::Write` for `$ty`; see [`hyper_read`].
macro_rules! hyper_write {
    ($ty:ty, $this:ident => $stream:expr) => {
        impl ::hyper::rt::Write for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_priv(cx, buf)
            }

            /// One `sendmsg` (with `MSG_NOSIGNAL` on Linux) for all of `bufs`.
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_vectored_priv(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            /// Does nothing: every write goes to the kernel.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down: the peer reads the end of the stream.
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $this = &*self;
                $stream.poll_close_priv()
            }
        }
    };
}

hyper_read!(TcpStream, this => this);
hyper_write!(TcpStream, this => this);
hyper_read!(OwnedReadHalf, this => this.inner);
hyper_write!(OwnedWriteHalf, this => this.inner);
hyper_read!(ReadHalf<'_>, this => this.inner);
hyper_write!(WriteHalf<'_>, this => this.inner);
#[cfg(unix)]
hyper_read!(UnixStream, this => this);
#[cfg(unix)]
hyper_write!(UnixStream, this => this);
