//! `ReadUninit`: the syscall behind every stream read, into a buffer that may be uninitialised.
//!
//! A stream read (`PollEvented::poll_read_stream_uninit`) reads into the caller's buffer plus one
//! spare byte, to learn whether it drained the socket. The caller's buffer may be uninitialised:
//! hyper hands its readers the spare capacity of its read buffer, and zeroing that before every
//! read would cost a `memset` per read for nothing, since the kernel overwrites it. `std`'s
//! `read_vectored` takes `&mut [u8]` only, so on Unix the read is `readv(2)` on the descriptor
//! through libc (mio has no call for it), with `iovec`s built from raw pointers, which the kernel
//! writes through without ever reading. Elsewhere the buffer is zeroed first and `std` reads it.

use std::io;
use std::mem::MaybeUninit;

/// A stream source that can read into an uninitialised buffer plus a spare byte.
pub(crate) trait ReadUninit {
    /// Reads into `dst`, then `spare`, in one syscall; returns how many bytes it read in all
    /// (more than `dst.len()` means `spare` was filled too).
    ///
    /// # Guarantee
    ///
    /// On `Ok(n)` the first `min(n, dst.len())` bytes of `dst` are initialised; no other byte of
    /// `dst` is written, and no uninitialised byte is ever written into `dst`.
    fn read_uninit(&self, dst: &mut [MaybeUninit<u8>], spare: &mut u8) -> io::Result<usize>;
}

#[cfg(unix)]
impl<S: std::os::fd::AsFd> ReadUninit for S {
    fn read_uninit(&self, dst: &mut [MaybeUninit<u8>], spare: &mut u8) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let iov = [
            libc::iovec {
                iov_base: dst.as_mut_ptr().cast(),
                iov_len: dst.len(),
            },
            libc::iovec {
                iov_base: (spare as *mut u8).cast(),
                iov_len: 1,
            },
        ];
        // `readv` writes at most each `iovec`'s length into it, in order, and never reads it, so
        // that `dst` is uninitialised does not matter; the bytes it writes are the bytes read,
        // which makes the first `n` of `dst` initialised (the guarantee above).
        // SAFETY: each `iovec` is exclusively borrowed memory valid for writes of its length;
        // `iov` outlives the call and the descriptor stays open while `self` is borrowed.
        let n = unsafe { libc::readv(self.as_fd().as_raw_fd(), iov.as_ptr(), 2) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

#[cfg(not(unix))]
impl<S> ReadUninit for S
where
    for<'a> &'a S: io::Read,
{
    fn read_uninit(&self, dst: &mut [MaybeUninit<u8>], spare: &mut u8) -> io::Result<usize> {
        // No raw vectored read here: zero the buffer and let `std` read into it.
        dst.fill(MaybeUninit::new(0));
        // SAFETY: every byte of `dst` was initialised just above, and `MaybeUninit<u8>` has the
        // layout of `u8`; `std` writes only bytes it read.
        let dst = unsafe { &mut *(dst as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let mut bufs = [
            io::IoSliceMut::new(dst),
            io::IoSliceMut::new(std::slice::from_mut(spare)),
        ];
        io::Read::read_vectored(&mut &*self, &mut bufs)
    }
}
