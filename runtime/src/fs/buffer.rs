//! A [`File`](super::File)'s buffer and the one blocking operation it may have in flight: the state
//! machine under `AsyncRead`, `AsyncWrite` and `AsyncSeek`.
//!
//! # States
//!
//! ```text
//!            start_read / start_write / start_seek / start_in_line
//!   Idle(Buf) ──────────────────────────────────────────────────────► Busy(JoinHandle<(Op, Buf)>)
//!       ▲                                                                       │
//!       └───────────────────── poll_complete: the Buf comes back, with the Op ──┘
//! ```
//!
//! The buffer ([`Buf`]) moves into the blocking job and comes back with it, so a job is never
//! borrowing from the `File`: a `File` dropped while `Busy` leaves the job to finish on its own.
//! While `Idle`, the buffer holds one of three things ([`Held`]):
//!
//! - `Empty`: the OS cursor is the file's position.
//! - `Read { pos }`: read-ahead; `bytes[pos..]` is unread, so the OS cursor is that many bytes past
//!   the position (a file that cannot seek, such as a FIFO, is read no further than the caller
//!   asks, so that nothing is read ahead that could not be given back). Reads are served from it
//!   without a job. A seek moves by the unread count less (`SeekFrom::Current`) and drops it; a
//!   write seeks back over it before writing. A seek that fails, or a seek or in-line job that
//!   never runs, still moves the cursor back over it (a [`Rewind`] does), so that the position
//!   stays where it was.
//! - `Write { rewind }`: writes not yet made. They go to the file when the buffer reaches
//!   [`BUF_SIZE`], or on flush, seek, read, `set_len`, `sync_*` and `into_std`, at the OS cursor
//!   less `rewind` (the read-ahead dropped when writing began).
//!
//! # Who sees a job's result
//!
//! A write's error goes to the next call that waits for the write, whichever it is (a write, a
//! flush, a read, a seek): a `poll_write` that starts a write returns `Ready` before the write is
//! made. A read's result goes to the read that waits for it, a seek's to the seek of the same
//! [`SeekFrom`]; the result of one that was abandoned (its future dropped while `Busy`) is dropped
//! by the next call of another kind, which only needs the buffer back.
//!
//! # Writes are never lost to a drop
//!
//! Buffered writes travel in a [`WriteBack`], which writes them when it is dropped without having
//! run: when the runtime shuts down and cancels the queued job, the thread that cancels it writes
//! them. A `File` dropped with writes still buffered starts such a job itself (or, outside any
//! runtime, writes them on the spot). Only their error is lost then, as with tokio's `File`.

use crate::coop;
use crate::task::JoinHandle;
use std::fs::File as StdFile;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::{fmt, mem};

/// Bytes one blocking read asks for, at least (a read into a larger buffer asks for more, up to
/// [`MAX_BUF_SIZE`]), and the buffered writes that start a blocking write: one hand-off to the
/// pool per 64 KiB.
pub(super) const BUF_SIZE: usize = 64 * 1024;

/// The most one blocking read or write moves (tokio's figure): a caller's larger buffer is served
/// in pieces of this size.
pub(super) const MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// What an idle buffer holds; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Empty,
    Read { pos: usize },
    Write { rewind: u64 },
}

/// The buffer: its bytes and what they are.
#[derive(Debug)]
pub(super) struct Buf {
    bytes: Vec<u8>,
    held: Held,
    /// Whether the file can seek, once the first read has asked (`lseek` of 0 from the cursor).
    /// One that cannot (a FIFO, a terminal, a socket) is not read ahead: the OS cursor could not
    /// be moved back over the unread bytes for a write, a seek or `into_std`, and they would be
    /// lost.
    seekable: Option<bool>,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            bytes: Vec::new(),
            held: Held::Empty,
            seekable: None,
        }
    }

    /// Read-ahead not yet read.
    fn unread(&self) -> usize {
        match self.held {
            Held::Read { pos } => self.bytes.len() - pos,
            _ => 0,
        }
    }
}

/// What a finished job did.
#[derive(Debug)]
enum Op {
    /// A blocking read of this many bytes into the buffer (0: the end of the file).
    Read(io::Result<usize>),
    /// The buffered writes, written.
    Write(io::Result<()>),
    /// A seek that a caller asked for as this `SeekFrom`.
    Seek(SeekFrom, io::Result<u64>),
    /// A call made in line with the reads and writes (`set_len`, `sync_all`, ...).
    InLine(io::Result<()>),
    /// The job never ran or panicked (the runtime shut down); the buffer is gone.
    Lost(io::Error),
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
}

/// The file, its buffer and the job in flight.
pub(super) struct Buffered {
    std: Arc<StdFile>,
    /// Named in errors, when the file was opened by path.
    path: Option<Arc<Path>>,
    state: State,
}

/// Names the file's path (if known) in an error.
pub(super) fn name(op: &'static str, path: &Option<Arc<Path>>, err: io::Error) -> io::Error {
    match path {
        Some(path) => super::path_error(op, path.to_path_buf(), None, err),
        None => err,
    }
}

/// Retries `f` while it fails with `Interrupted` (`EINTR`), the one place the file code absorbs it.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Moves the OS cursor back over `unread` bytes of read-ahead.
fn rewind(mut file: &StdFile, unread: u64) -> io::Result<()> {
    if unread > 0 {
        let back = i64::try_from(unread).map_err(io::Error::other)?;
        file.seek(SeekFrom::Current(-back))?;
    }
    Ok(())
}

/// Read-ahead that a seek or an in-line call dropped, which the OS cursor is still past: the job
/// moves the cursor back over it (or seeks from where the reading got to). Dropped without
/// having done so (the seek failed, or the job never ran: cancelled at shutdown, or no runtime
/// to start it on), it moves the cursor back itself, so that the position stays where it was,
/// as a failed `lseek` leaves it.
struct Rewind {
    std: Arc<StdFile>,
    unread: u64,
}

impl Rewind {
    /// Moves the cursor back now.
    fn now(mut self) -> io::Result<()> {
        let unread = mem::take(&mut self.unread);
        retry(|| rewind(&self.std, unread))
    }

    /// The cursor was moved past the read-ahead another way (a seek that succeeded).
    fn done(mut self) {
        self.unread = 0;
    }
}

impl Drop for Rewind {
    fn drop(&mut self) {
        // Nobody is left to take an error: the caller already has the seek's, or the job's loss.
        let _ = retry(|| rewind(&self.std, self.unread));
    }
}

/// Buffered writes on their way to the file; see the module doc.
struct WriteBack {
    std: Arc<StdFile>,
    path: Option<Arc<Path>>,
    buf: Option<Buf>,
}

impl WriteBack {
    /// Writes the buffer out and gives it back, empty.
    fn run(mut self) -> (Op, Buf) {
        let mut buf = self.buf.take().expect("a write-back runs once");
        let res = write_out(&self.std, &buf).map_err(|e| name("write", &self.path, e));
        buf.bytes.clear();
        buf.held = Held::Empty;
        (Op::Write(res), buf)
    }
}

impl Drop for WriteBack {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            // The job was cancelled before it ran, or never started: nobody is left to take the
            // error.
            let _ = write_out(&self.std, &buf);
        }
    }
}

fn write_out(mut file: &StdFile, buf: &Buf) -> io::Result<()> {
    if let Held::Write { rewind: back } = buf.held {
        retry(|| rewind(file, back))?;
    }
    // `write_all` retries `Interrupted` itself.
    file.write_all(&buf.bytes)
}

impl Buffered {
    pub(super) fn new(std: StdFile, path: Option<Arc<Path>>) -> Buffered {
        Buffered {
            std: Arc::new(std),
            path,
            state: State::Idle(Buf::new()),
        }
    }

    pub(super) fn std(&self) -> &Arc<StdFile> {
        &self.std
    }

    pub(super) fn path(&self) -> &Option<Arc<Path>> {
        &self.path
    }

    /// The file, once every buffered write is out and the read-ahead is given back (the OS cursor is
    /// the position): a duplicate handle (sharing the cursor) if a detached job still holds it.
    pub(super) fn into_std(self) -> io::Result<StdFile> {
        debug_assert!(matches!(&self.state, State::Idle(buf) if buf.held == Held::Empty));
        let std = self.std.clone();
        drop(self);
        Arc::try_unwrap(std).or_else(|shared| shared.try_clone())
    }

    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("the buffer is with a job"),
        }
    }

    /// Moves the idle buffer into a job running `f`.
    fn start(&mut self, f: impl FnOnce(&StdFile, Buf) -> (Op, Buf) + Send + 'static) {
        let buf = mem::replace(self.idle_buf(), Buf::new());
        let std = self.std.clone();
        self.state = State::Busy(crate::spawn_blocking(move || f(&std, buf)));
    }

    fn start_write(&mut self) {
        let buf = mem::replace(self.idle_buf(), Buf::new());
        let job = WriteBack {
            std: self.std.clone(),
            path: self.path.clone(),
            buf: Some(buf),
        };
        self.state = State::Busy(crate::spawn_blocking(move || job.run()));
    }

    /// One blocking read for a caller that asked for `asked` bytes: of at least [`BUF_SIZE`]
    /// and at most [`MAX_BUF_SIZE`], or, on a file that cannot seek, of `asked` (at most
    /// [`MAX_BUF_SIZE`]) with nothing read ahead.
    fn start_read(&mut self, asked: usize) {
        let path = self.path.clone();
        self.start(move |mut file, mut buf| {
            let seekable = *buf
                .seekable
                .get_or_insert_with(|| file.stream_position().is_ok());
            let want = if seekable {
                asked.clamp(BUF_SIZE, MAX_BUF_SIZE)
            } else {
                asked.min(MAX_BUF_SIZE)
            };
            // No `clear` first: only bytes never written before are zeroed.
            buf.bytes.resize(want, 0);
            let res = retry(|| file.read(&mut buf.bytes));
            buf.bytes.truncate(*res.as_ref().unwrap_or(&0));
            buf.held = Held::Read { pos: 0 };
            (Op::Read(res.map_err(|e| name("read", &path, e))), buf)
        });
    }

    /// Waits for the job in flight, if any, and takes the buffer back.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Option<Op>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(None);
        };
        let (op, buf) = match ready!(std::pin::Pin::new(handle).poll(cx)) {
            Ok(done) => done,
            Err(e) => (
                Op::Lost(name(
                    "finish an operation on",
                    &self.path,
                    io::Error::other(e),
                )),
                Buf::new(),
            ),
        };
        self.state = State::Idle(buf);
        Poll::Ready(Some(op))
    }

    /// Waits for the job in flight, returning the error that belongs to any caller: a write's.
    /// `Some(op)` for a job whose result it leaves to the caller.
    fn poll_settled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Op>>> {
        Poll::Ready(match ready!(self.poll_complete(cx)) {
            Some(Op::Write(Err(e))) | Some(Op::Lost(e)) => Err(e),
            other => Ok(other),
        })
    }

    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Set once a job's poll spent the budget's unit for this call.
        let mut spent = false;
        loop {
            if let State::Busy(_) = self.state {
                match ready!(self.poll_settled(cx))? {
                    Some(Op::Read(Err(e))) => return Poll::Ready(Err(e)),
                    Some(Op::Read(Ok(0))) => return Poll::Ready(Ok(0)),
                    _ => spent = true,
                }
            }
            let buf = self.idle_buf();
            match buf.held {
                Held::Read { pos } if pos < buf.bytes.len() => {
                    let progress = if spent {
                        None
                    } else {
                        Some(ready!(coop::poll_proceed(cx)))
                    };
                    let n = dst.len().min(buf.bytes.len() - pos);
                    dst[..n].copy_from_slice(&buf.bytes[pos..pos + n]);
                    buf.held = Held::Read { pos: pos + n };
                    if let Some(progress) = progress {
                        progress.made_progress();
                    }
                    return Poll::Ready(Ok(n));
                }
                Held::Write { .. } => self.start_write(),
                Held::Read { .. } | Held::Empty => self.start_read(dst.len()),
            }
        }
    }

    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let progress = if let State::Busy(_) = self.state {
            // The job's poll spends the unit.
            ready!(self.poll_settled(cx))?;
            None
        } else {
            Some(ready!(coop::poll_proceed(cx)))
        };
        let buf = self.idle_buf();
        if !matches!(buf.held, Held::Write { .. }) {
            // Writing begins where reading got to: back over the read-ahead.
            let rewind = buf.unread() as u64;
            buf.bytes.clear();
            buf.held = Held::Write { rewind };
        }
        let n = src.len().min(MAX_BUF_SIZE - buf.bytes.len());
        buf.bytes.extend_from_slice(&src[..n]);
        if buf.bytes.len() >= BUF_SIZE {
            self.start_write();
        }
        if let Some(progress) = progress {
            progress.made_progress();
        }
        Poll::Ready(Ok(n))
    }

    /// Waits until every buffered write is out; keeps the read-ahead.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut spent = false;
        loop {
            if let State::Busy(_) = self.state {
                ready!(self.poll_settled(cx))?;
                spent = true;
            }
            if let Held::Write { .. } = self.idle_buf().held {
                self.start_write();
                continue;
            }
            if !spent {
                // Nothing to write: an answer from memory, which spends a unit like any other.
                ready!(coop::poll_proceed(cx)).made_progress();
            }
            return Poll::Ready(Ok(()));
        }
    }

    pub(super) fn poll_seek(
        &mut self,
        cx: &mut Context<'_>,
        to: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        loop {
            if let State::Busy(_) = self.state {
                if let Some(Op::Seek(asked, res)) = ready!(self.poll_settled(cx))? {
                    if asked == to {
                        return Poll::Ready(res);
                    }
                }
            }
            let buf = self.idle_buf();
            if let Held::Write { .. } = buf.held {
                self.start_write();
                continue;
            }
            // The OS cursor is past the position by the unread read-ahead, which is dropped.
            let target = match to {
                SeekFrom::Current(off) => match off.checked_sub(buf.unread() as i64) {
                    Some(off) => SeekFrom::Current(off),
                    None => {
                        let err =
                            io::Error::new(io::ErrorKind::InvalidInput, "seek offset out of range");
                        return Poll::Ready(Err(name("seek", &self.path, err)));
                    }
                },
                other => other,
            };
            let unread = buf.unread() as u64;
            buf.held = Held::Empty;
            let back = Rewind {
                std: self.std.clone(),
                unread,
            };
            let path = self.path.clone();
            self.start(move |mut file, buf| {
                let res = retry(|| file.seek(target));
                if res.is_ok() {
                    back.done();
                } // else `back` moves the cursor back over the read-ahead as it drops.
                (Op::Seek(to, res.map_err(|e| name("seek", &path, e))), buf)
            });
        }
    }

    /// Runs `f` on the file in line with the reads and writes: after every buffered write is out
    /// and the OS cursor is back at the position (the read-ahead dropped), before any later call.
    pub(super) async fn in_line(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&StdFile) -> io::Result<()> + Send + 'static,
    ) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await?;
        let buf = self.idle_buf();
        let unread = buf.unread() as u64;
        buf.held = Held::Empty;
        let back = Rewind {
            std: self.std.clone(),
            unread,
        };
        let path = self.path.clone();
        self.start(move |file, buf| {
            let res = back
                .now()
                .and_then(|()| f(file))
                .map_err(|e| name(op, &path, e));
            (Op::InLine(res), buf)
        });
        std::future::poll_fn(|cx| match ready!(self.poll_settled(cx)) {
            Ok(Some(Op::InLine(res))) => Poll::Ready(res),
            Ok(_) => unreachable!("the job started above is the one in flight"),
            Err(e) => Poll::Ready(Err(e)),
        })
        .await
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        let State::Idle(buf) = &mut self.state else {
            // A job in flight finishes on its own (a write-back writes even if cancelled).
            return;
        };
        if !matches!(buf.held, Held::Write { .. }) {
            return;
        }
        let job = WriteBack {
            std: self.std.clone(),
            path: None,
            buf: Some(mem::replace(buf, Buf::new())),
        };
        // On the pool if there is a runtime (a cancelled job writes as it is dropped); outside
        // one, here, as `job` is dropped.
        match crate::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(move || job.run())),
            Err(_) => drop(job),
        }
    }
}

impl fmt::Debug for Buffered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("File");
        d.field("path", &self.path);
        match &self.state {
            State::Idle(buf) => d.field("buffered", &buf.held),
            State::Busy(_) => d.field("busy", &true),
        };
        d.finish()
    }
}
