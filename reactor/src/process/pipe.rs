//! A child's piped standard streams, on the reactor.

use crate::io::registration::PollEvented;
use mio::unix::pipe::{Receiver, Sender};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The write end of a child's standard input, from [`Stdio::piped`](std::process::Stdio::piped):
/// `futures_io::AsyncWrite` (use [`filch::io::AsyncWriteExt`](https://docs.rs/filch)).
///
/// Dropping it, or [`close`](futures_io::AsyncWrite::poll_close) (`stdin.close().await`), closes
/// the pipe, which the child reads as end of file; a write after `close` fails with
/// `BrokenPipe`. A write after the child closed its end fails with `BrokenPipe` too (the process
/// is not killed by `SIGPIPE`: Rust programs ignore it).
pub struct ChildStdin {
    /// `None` once closed.
    io: Option<PollEvented<Sender>>,
}

/// The read end of a child's standard output, from
/// [`Stdio::piped`](std::process::Stdio::piped): `futures_io::AsyncRead`.
pub struct ChildStdout {
    io: PollEvented<Receiver>,
}

/// The read end of a child's standard error, from
/// [`Stdio::piped`](std::process::Stdio::piped): `futures_io::AsyncRead`.
pub struct ChildStderr {
    io: PollEvented<Receiver>,
}

impl ChildStdin {
    pub(super) fn new(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let pipe = Sender::from(std);
        pipe.set_nonblocking(true)?;
        Ok(ChildStdin {
            io: Some(PollEvented::new(pipe)?),
        })
    }

    fn open(&self) -> io::Result<&PollEvented<Sender>> {
        self.io.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
        })
    }

    /// Deregisters the pipe and hands back its descriptor, blocking again (for a
    /// [`Stdio`](std::process::Stdio) of another child, say). `BrokenPipe` once closed.
    pub fn into_owned_fd(mut self) -> io::Result<OwnedFd> {
        self.open()?;
        let pipe = self.io.take().expect("checked just above").into_inner();
        pipe.set_nonblocking(false)?;
        Ok(pipe.into())
    }
}

macro_rules! reader {
    ($name:ident, $std:ty) => {
        impl $name {
            pub(super) fn new(std: $std) -> io::Result<$name> {
                let pipe = Receiver::from(std);
                pipe.set_nonblocking(true)?;
                Ok($name {
                    io: PollEvented::new(pipe)?,
                })
            }

            /// Deregisters the pipe and hands back its descriptor, blocking again (for a
            /// [`Stdio`](std::process::Stdio) of another child: a shell pipeline). Refused if
            /// an earlier read kept a byte read ahead, which the descriptor no longer has.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                if self.io.has_held() {
                    return Err(io::Error::other(
                        "into_owned_fd: a byte read ahead by an earlier read would be lost",
                    ));
                }
                let pipe = self.io.into_inner();
                pipe.set_nonblocking(false)?;
                Ok(pipe.into())
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_read_stream(cx, buf)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.as_fd())
                    .finish()
            }
        }
    };
}

reader!(ChildStdout, std::process::ChildStdout);
reader!(ChildStderr, std::process::ChildStderr);

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.open()?.poll_write_stream(cx, buf)
    }

    /// Nothing is buffered: a pipe write is in the kernel once it returns.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe now: the child reads end of file. Closing twice is fine.
    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io = None;
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self.io.as_ref().map(|io| io.get_ref().as_fd());
        f.debug_struct("ChildStdin").field("fd", &fd).finish()
    }
}
