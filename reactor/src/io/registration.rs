//! `PollEvented`: a mio source registered with the current driver, with readiness-aware I/O.

use super::scheduled_io::{ReadyEvent, ScheduledIo};
use super::Interest;
use crate::coop;
use crate::driver::{shutdown_error, Handle};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A mio source plus its registration. Dropping it deregisters the source (without blocking)
/// before the source itself is closed.
pub(crate) struct PollEvented<E: mio::event::Source> {
    /// `None` only during drop.
    io: Option<E>,
    handle: Handle,
    token: mio::Token,
    scheduled: Arc<ScheduledIo>,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with the current thread's driver, for reading and writing.
    pub(crate) fn new(io: E) -> io::Result<PollEvented<E>> {
        let handle = crate::context::current()?;
        PollEvented::new_with(io, handle)
    }

    pub(crate) fn new_with(mut io: E, handle: Handle) -> io::Result<PollEvented<E>> {
        let (token, scheduled) =
            handle.register(&mut io, mio::Interest::READABLE | mio::Interest::WRITABLE)?;
        Ok(PollEvented {
            io: Some(io),
            handle,
            token,
            scheduled,
        })
    }

    /// The driver the source is registered with (accepted sockets join their listener's).
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("source used after deregistration")
    }

    /// Runs `op` once the source is ready for `interest`, retrying on `EINTR` and waiting again on
    /// `WouldBlock`. Spends one unit of the task's cooperative budget per completed operation.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let progress = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.scheduled.poll_ready(cx, interest));
            if event.is_shutdown {
                return Poll::Ready(Err(shutdown_error()));
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.scheduled.clear_readiness(event);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => {
                    progress.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// Forgets readiness that an operation showed to be gone (a short read drained the socket).
    fn clear(&self, event: ReadyEvent) {
        self.scheduled.clear_readiness(event);
    }
}

impl<E: mio::event::Source> PollEvented<E>
where
    for<'a> &'a E: Read + Write,
{
    /// A stream read. A short read drained the socket, so readiness is cleared at once.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_stream(cx, Interest::READABLE, buf.len(), |mut io| io.read(buf))
    }

    /// A stream write. A short write filled the socket buffer, so readiness is cleared at once.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_stream(cx, Interest::WRITABLE, buf.len(), |mut io| io.write(buf))
    }

    fn poll_stream(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        len: usize,
        mut op: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let progress = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.scheduled.poll_ready(cx, interest));
            if event.is_shutdown {
                return Poll::Ready(Err(shutdown_error()));
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(event),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(n) => {
                    if n > 0 && n < len {
                        self.clear(event);
                    }
                    progress.made_progress();
                    return Poll::Ready(Ok(n));
                }
                Err(e) => {
                    progress.made_progress();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.handle.deregister(&mut io, self.token);
        }
    }
}
