//! `PollEvented`: a mio source registered with the current driver, with readiness-aware I/O.

use super::read_uninit::ReadUninit;
use super::scheduled_io::{ReadyEvent, ScheduledIo};
use super::{Interest, Ready};
use crate::coop;
use crate::driver::{shutdown_error, Handle};
use crate::loom::lock;
use crate::loom::sync::Mutex;
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU16, Ordering};
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
    /// What `poll_read_stream` keeps for the next read: a byte read past the caller's buffer
    /// ([`HELD_BYTE`], with the byte in the low bits), or an error met after bytes were handed
    /// out ([`HELD_ERROR`], with the error in `held_error`). Never both: only the read that hands
    /// out a held byte can meet such an error.
    held: AtomicU16,
    /// The error of [`HELD_ERROR`]; locked only when that bit is set.
    held_error: Mutex<Option<io::Error>>,
}

/// Marks [`PollEvented::held`] as holding a byte.
const HELD_BYTE: u16 = 0x100;
/// Marks [`PollEvented::held`] as holding an error, in [`PollEvented::held_error`].
const HELD_ERROR: u16 = 0x200;

/// What the next stream read hands out before it reads the socket.
enum Held {
    Nothing,
    Byte(u8),
    Error(io::Error),
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
            held: AtomicU16::new(0),
            held_error: Mutex::new(None),
        })
    }

    /// Deregisters the source and hands it back (`into_std`).
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self.io.take().expect("source used after deregistration");
        self.handle.deregister(&mut io, self.token);
        io
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
        op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_then(cx, interest, op, |_, _| {})
    }

    /// As [`poll_io`](Self::poll_io), calling `done` with a successful result and the readiness
    /// it was obtained under (to clear readiness the result shows to be gone).
    fn poll_io_then<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut op: impl FnMut(&E) -> io::Result<R>,
        done: impl FnOnce(&R, ReadyEvent),
    ) -> Poll<io::Result<R>> {
        let progress = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.scheduled.poll_ready(cx, interest));
            if event.is_shutdown {
                return Poll::Ready(Err(shutdown_error()));
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(event),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => {
                    if let Ok(value) = &result {
                        done(value, event);
                    }
                    progress.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// One attempt of `op`, only if the source is known to be ready for `interest`: no waiting, no
    /// waker stored, no budget spent (the `try_` methods). `WouldBlock` if it is not ready, or if
    /// `op` found it not ready after all, which clears the readiness so that the next wait waits
    /// for the next event.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_then(interest, op, |_, _| {})
    }

    /// As [`try_io`](Self::try_io), calling `done` with a successful result and the readiness it
    /// was obtained under (to clear readiness the result shows to be gone).
    fn try_io_then<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&E) -> io::Result<R>,
        done: impl FnOnce(&R, ReadyEvent),
    ) -> io::Result<R> {
        let Some(event) = self.scheduled.ready_now(interest) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        if event.is_shutdown {
            return Err(shutdown_error());
        }
        let result = op(self.get_ref());
        match &result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(event),
            Ok(value) => done(value, event),
            Err(_) => {}
        }
        result
    }

    /// `Ready` once the source is ready for `interest` (an error once the driver is gone); what
    /// the `readable()` and `writable()` methods wait for. It may be ready and then find nothing
    /// to do (a `try_` operation then says `WouldBlock` and the wait starts over), as with tokio.
    ///
    /// Spends one unit of the task's cooperative budget when ready, as tokio's readiness does: a
    /// loop of `readable()` and `try_read` on a socket that always has more (or of `writable()`
    /// and `try_write`) never waits, and must still give its worker back now and then.
    pub(crate) fn poll_ready_for(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<()>> {
        let progress = ready!(coop::poll_proceed(cx));
        let event = ready!(self.scheduled.poll_ready(cx, interest));
        progress.made_progress();
        if event.is_shutdown {
            return Poll::Ready(Err(shutdown_error()));
        }
        Poll::Ready(Ok(()))
    }

    /// As [`poll_ready_for`](Self::poll_ready_for), but once per event: the readiness seen is
    /// forgotten (its closed bits excepted), so the next call waits for a newer event. For a
    /// source whose readiness says "look" rather than "an operation will not block" (a pidfd):
    /// the caller looks right after. Spends no budget.
    pub(crate) fn poll_ready_once(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<()>> {
        let event = ready!(self.scheduled.poll_ready(cx, interest));
        if event.is_shutdown {
            return Poll::Ready(Err(shutdown_error()));
        }
        self.clear(event);
        Poll::Ready(Ok(()))
    }

    /// Forgets the readiness in `event`, error bit included: the operation said `WouldBlock`.
    fn clear(&self, event: ReadyEvent) {
        self.scheduled.clear_readiness(event);
    }

    /// Forgets only `drained` (readable or writable) from `event`: a short read or write shows
    /// the socket empty or full, but says nothing of a pending error, which stays announced
    /// until an operation returns it or says `WouldBlock`.
    fn clear_drained(&self, event: ReadyEvent, drained: Ready) {
        self.scheduled.clear_readiness(event.only(drained));
    }
}

impl<E: mio::event::Source + ReadUninit> PollEvented<E> {
    /// A stream read that knows when it drained the socket.
    ///
    /// It reads with `readv` into the caller's buffer *plus one spare byte*. Fewer bytes than
    /// that means the socket is empty now, so readiness is cleared at once and the next read waits
    /// for the next edge instead of paying for a `read` that returns `WouldBlock` — even when the
    /// caller's buffer was filled exactly, as in a `read_exact` of a message whose size the peer
    /// also used. If the spare byte was filled, it is kept and handed out first by the next read.
    ///
    /// That read also reads the socket for more, and may meet an error (the peer reset the
    /// connection). The kernel reports an error once, so it is kept in turn and returned by the
    /// read after: the caller sees the bytes, then the error, as with `std`.
    ///
    /// The buffer may be uninitialised (hyper's read buffers are): see
    /// [`poll_read_stream_uninit`](Self::poll_read_stream_uninit), which this is.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the only thing that could make
        // the view unsound, writing an uninitialised byte into `buf` through it, is what
        // `poll_read_stream_uninit` guarantees never to do: it writes only bytes it read.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.poll_read_stream_uninit(cx, buf)
    }

    /// [`poll_read_stream`](Self::poll_read_stream) into a buffer that may be uninitialised,
    /// which it never zeroes.
    ///
    /// # Guarantee
    ///
    /// On `Ready(Ok(n))` the first `n` bytes of `buf` are initialised (the bytes read); nothing
    /// else is written. It never writes an uninitialised byte into `buf`, so a caller may pass an
    /// initialised buffer viewed as `MaybeUninit` and still have an initialised buffer after.
    /// The unsafe code of its callers (`poll_read_stream`, the hyper `Read` impls) relies on
    /// this.
    pub(crate) fn poll_read_stream_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let progress = ready!(coop::poll_proceed(cx));
        let mut filled = 0;
        match self.take_held() {
            Held::Nothing => {}
            Held::Byte(byte) => {
                buf[0].write(byte);
                filled = 1;
            }
            Held::Error(e) => {
                progress.made_progress();
                return Poll::Ready(Err(e));
            }
        }
        loop {
            let event = match self.scheduled.poll_ready(cx, Interest::READABLE) {
                Poll::Ready(event) => event,
                // Hand out the spare byte rather than wait for more.
                Poll::Pending if filled > 0 => break,
                Poll::Pending => return Poll::Pending,
            };
            if event.is_shutdown {
                if filled > 0 {
                    break;
                }
                return Poll::Ready(Err(shutdown_error()));
            }
            let dst = &mut buf[filled..];
            if dst.is_empty() {
                break;
            }
            let wanted = dst.len();
            let mut spare = 0u8;
            match self.get_ref().read_uninit(dst, &mut spare) {
                Ok(n) if n > wanted => {
                    self.hold_byte(spare);
                    filled += wanted;
                    break;
                }
                Ok(n) => {
                    if n > 0 {
                        // Fewer bytes than offered: the socket is empty (a 0 is EOF, whose
                        // readiness is sticky anyway).
                        self.clear_drained(event, Ready::READABLE);
                    }
                    filled += n;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.clear(event);
                    if filled > 0 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Deliver the held byte first; the error comes back on the next read.
                Err(e) if filled > 0 => {
                    self.hold_error(e);
                    break;
                }
                Err(e) => {
                    progress.made_progress();
                    return Poll::Ready(Err(e));
                }
            }
        }
        progress.made_progress();
        Poll::Ready(Ok(filled))
    }

    /// A stream read that does not wait: the held byte (or error) first, then what the socket has
    /// now; `WouldBlock` if there is nothing. Stores no waker and spends no budget.
    pub(crate) fn try_read_stream(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut filled = 0;
        match self.take_held() {
            Held::Nothing => {}
            Held::Byte(byte) => {
                buf[0] = byte;
                filled = 1;
            }
            Held::Error(e) => return Err(e),
        }
        if filled == buf.len() {
            return Ok(filled);
        }
        // A read shorter than offered drained the socket: readiness is forgotten at once, as in
        // `poll_read_stream`, so that a `readable().await` waits for the next edge instead of
        // returning at once to a `try_read` that says `WouldBlock` (found by the study's
        // `net_try_read_ping_pong`: one wasted `readv` per message).
        let read = self.try_io_then(
            Interest::READABLE,
            |io| {
                let mut spare = 0u8;
                // SAFETY: `buf` is initialised; viewed as `MaybeUninit` it is only written with bytes
                // read (`read_uninit`'s contract), so it stays initialised.
                let dst =
                    unsafe { &mut *(&mut buf[filled..] as *mut [u8] as *mut [MaybeUninit<u8>]) };
                let wanted = dst.len();
                loop {
                    match io.read_uninit(dst, &mut spare) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(n) if n > wanted => return Ok((wanted, Some(spare))),
                        other => return other.map(|n| (n, None)),
                    }
                }
            },
            |&(n, spare), event| {
                if n > 0 && spare.is_none() {
                    self.clear_drained(event, Ready::READABLE);
                }
            },
        );
        match read {
            Ok((n, spare)) => {
                if let Some(byte) = spare {
                    self.hold_byte(byte);
                }
                Ok(filled + n)
            }
            Err(e) if filled > 0 && e.kind() == io::ErrorKind::WouldBlock => Ok(filled),
            // Deliver the held byte first; the error comes back on the next read.
            Err(e) if filled > 0 => {
                self.hold_error(e);
                Ok(filled)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads into `buf` without taking the bytes off the stream (`MSG_PEEK`), waiting until at
    /// least one is there; a byte held by an earlier read comes first, as it is the stream's next.
    pub(crate) fn poll_peek_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: impl Fn(&E, &mut [u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let held = self.held.load(Ordering::Relaxed);
        if held & HELD_BYTE != 0 {
            buf[0] = held as u8;
            // Whatever the socket has after it, if it has anything now.
            let more = self
                .try_io(Interest::READABLE, |io| peek(io, &mut buf[1..]))
                .unwrap_or(0);
            return Poll::Ready(Ok(1 + more));
        }
        if held & HELD_ERROR != 0 {
            // A socket error is reported once, to a peek as to a read (as the kernel does).
            if let Held::Error(e) = self.take_held() {
                return Poll::Ready(Err(e));
            }
        }
        self.poll_io(cx, Interest::READABLE, |io| peek(io, buf))
    }

    /// A stream's `readable()`: ready at once if an earlier read kept a byte (or an error) for
    /// the next, else [`poll_ready_for`](Self::poll_ready_for). Spends one unit of budget
    /// either way.
    pub(crate) fn poll_stream_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.has_held() {
            ready!(coop::poll_proceed(cx)).made_progress();
            return Poll::Ready(Ok(()));
        }
        self.poll_ready_for(cx, Interest::READABLE)
    }

    /// Whether a read would return at once because of what an earlier read kept.
    pub(crate) fn has_held(&self) -> bool {
        self.held.load(Ordering::Relaxed) != 0
    }

    fn take_held(&self) -> Held {
        // Relaxed: only the one reader of the stream touches what is held (the mutex orders the
        // error itself).
        let v = self.held.swap(0, Ordering::Relaxed);
        if v & HELD_BYTE != 0 {
            Held::Byte(v as u8)
        } else if v & HELD_ERROR != 0 {
            lock(&self.held_error)
                .take()
                .map_or(Held::Nothing, Held::Error)
        } else {
            Held::Nothing
        }
    }

    fn hold_byte(&self, byte: u8) {
        self.held
            .store(HELD_BYTE | u16::from(byte), Ordering::Relaxed);
    }

    fn hold_error(&self, e: io::Error) {
        *lock(&self.held_error) = Some(e);
        self.held.store(HELD_ERROR, Ordering::Relaxed);
    }
}

impl<E: mio::event::Source> PollEvented<E>
where
    for<'a> &'a E: Write,
{
    /// A stream write. A short write filled the socket buffer, so readiness is cleared at once.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.poll_io_then(
            cx,
            Interest::WRITABLE,
            |mut io| io.write(buf),
            |&n, event| {
                if n > 0 && n < len {
                    self.clear_drained(event, Ready::WRITABLE);
                }
            },
        )
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.handle.deregister(&mut io, self.token);
        }
    }
}
