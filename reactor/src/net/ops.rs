//! What every stream type shares: the `read_exact`/`write_all` loops over a poll function, and
//! the wait for a non-blocking `connect` to finish.

use crate::io::registration::PollEvented;
use crate::io::Interest;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// Reads until `buf` is full; `UnexpectedEof` if the stream ends first.
pub(crate) async fn read_exact(
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    mut buf: &mut [u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| poll_read(cx, buf)).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended before the buffer was full",
            ));
        }
        buf = &mut std::mem::take(&mut buf)[n..];
    }
    Ok(())
}

/// Writes all of `buf`; `WriteZero` if the stream stops taking bytes.
pub(crate) async fn write_all(
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
    mut buf: &[u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the stream took no bytes",
            ));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Waits for a non-blocking `connect` on `io` to finish (the steps mio's `TcpStream::connect`
/// documents): once the socket is writable, a pending socket error (`take_error`) is the
/// connect's failure, `ConnectionRefused` for a port nobody listens on; otherwise the socket is
/// connected if `peer_addr` answers, and still connecting if it says `NotConnected`, which is
/// turned into `WouldBlock` so that `poll_io` forgets the readiness and waits for the next edge.
pub(crate) async fn wait_connected<E, A>(
    io: &PollEvented<E>,
    take_error: impl Fn(&E) -> io::Result<Option<io::Error>>,
    peer_addr: impl Fn(&E) -> io::Result<A>,
) -> io::Result<()>
where
    E: mio::event::Source,
{
    poll_fn(|cx| {
        io.poll_io(cx, Interest::WRITABLE, |sock| {
            if let Some(e) = take_error(sock)? {
                return Err(e);
            }
            match peer_addr(sock) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
    })
    .await
}

/// Shuts the write direction down for `poll_close`: a socket whose peer is already gone
/// (`NotConnected`, as macOS reports it) is as closed as it gets, so that is success.
pub(crate) fn close_write(shutdown: io::Result<()>) -> Poll<io::Result<()>> {
    match shutdown {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
        result => Poll::Ready(result),
    }
}
