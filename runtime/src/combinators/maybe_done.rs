//! The pieces the `join!`, `try_join!` and `select!` macros expand to. Public only so that the
//! macros can name them (`$crate::__private`); not part of the API.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use std::future::poll_fn;
pub use std::pin::pin;
pub use std::task::Poll as PollState;

/// A future, then its output, then nothing: lets `join!` keep polling the unfinished futures
/// while holding on to the outputs of the finished ones.
#[derive(Debug)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future.
    pub fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Future(future)
    }

    /// Takes the output of a finished future.
    ///
    /// # Panics
    /// If the future has not finished, or its output was already taken.
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: a pinned `Future` is never moved: it is checked for before anything is taken
        // out, and only `Done` (an output, which is not pinned) is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Future(_) => panic!("join!: output taken before the future finished"),
            MaybeDone::Gone => panic!("join!: output taken twice"),
            MaybeDone::Done(_) => match std::mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(output) => output,
                _ => unreachable!("checked above"),
            },
        }
    }
}

impl<F: Future> Future for MaybeDone<F> {
    type Output = ();

    /// `Ready` once the inner future has finished (its output is stored).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the inner future is pinned in place (structural pinning) and dropped in place
        // when replaced by its output; nothing else here moves it.
        let this = unsafe { self.get_unchecked_mut() };
        if let MaybeDone::Future(future) = this {
            // SAFETY: as above: `future` lives inside the pinned `MaybeDone` and never moves.
            let output = std::task::ready!(unsafe { Pin::new_unchecked(future) }.poll(cx));
            *this = MaybeDone::Done(output);
        }
        Poll::Ready(())
    }
}

impl<F, T, E> MaybeDone<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Polls like `poll`, but hands out an `Err` output at once (for `try_join!`).
    pub fn poll_try(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        // SAFETY: as in `poll`.
        let this = unsafe { self.get_unchecked_mut() };
        if let MaybeDone::Future(future) = this {
            // SAFETY: as in `poll`.
            match std::task::ready!(unsafe { Pin::new_unchecked(future) }.poll(cx)) {
                Ok(value) => *this = MaybeDone::Done(Ok(value)),
                Err(err) => {
                    *this = MaybeDone::Gone;
                    return Poll::Ready(Err(err));
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes the `Ok` value of a future that finished with one.
    pub fn take_ok(self: Pin<&mut Self>) -> T {
        match self.take_output() {
            Ok(value) => value,
            Err(_) => unreachable!("try_join!: Err outputs are handed out as they come"),
        }
    }
}

/// Where `select!` starts polling: a random branch of `n`, so that no branch always wins.
///
/// Called once per `select!` evaluated, so it is kept cheap: a `const` thread-local (no lazy
/// initialisation check), seeded on first use, and a multiply-shift instead of a division.
pub fn select_start(n: usize) -> usize {
    thread_local! {
        static RNG: Cell<u64> = const { Cell::new(0) };
    }
    RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            x = seed();
        }
        // xorshift64: a fast generator, good enough to pick a starting branch.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        // The high 32 bits scaled to 0..n (Lemire's multiply-shift).
        (((x >> 32) * n as u64) >> 32) as usize
    })
}

/// A non-zero seed, distinct per thread: std's per-process random keys (from the OS) hashed with
/// an address on this thread's stack.
#[cold]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_usize(std::ptr::addr_of!(hasher) as usize);
    hasher.finish() | 1
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    //! Polled by hand so that Miri checks the pin projections.
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn maybe_done_keeps_the_output_until_taken() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut ready = false;
        let mut fut = std::pin::pin!(MaybeDone::new(std::future::poll_fn(|_| {
            if std::mem::replace(&mut ready, true) {
                Poll::Ready(String::from("out"))
            } else {
                Poll::Pending
            }
        })));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert_eq!(fut.as_mut().take_output(), "out");
    }

    #[test]
    fn poll_try_hands_out_the_error_at_once() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut ok = std::pin::pin!(MaybeDone::new(async { Ok::<_, String>(vec![1]) }));
        let mut err = std::pin::pin!(MaybeDone::new(async { Err::<u8, _>(String::from("e")) }));
        assert_eq!(ok.as_mut().poll_try(&mut cx), Poll::Ready(Ok(())));
        assert_eq!(
            err.as_mut().poll_try(&mut cx),
            Poll::Ready(Err("e".to_owned()))
        );
        assert_eq!(ok.as_mut().take_ok(), [1]);
    }

    #[test]
    fn select_start_covers_every_branch() {
        let mut seen = [false; 4];
        for _ in 0..1000 {
            seen[select_start(4)] = true;
        }
        assert_eq!(seen, [true; 4]);
    }
}
