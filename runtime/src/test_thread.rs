//! `run_test`: how `#[filch::test(timeout = "...")]` bounds a test, even one whose body blocks
//! its thread. Not part of the API: the macro's expansion calls it through `filch::__private`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// Runs `body` (which builds the test's runtime and `block_on`s the test's future) and returns
/// its value, failing the test named `name` if it takes longer than `timeout`.
///
/// Without a timeout, `body` runs right here, on the test's thread. With one, it runs on a new
/// thread (named like the test's, so panic messages read the same) while this thread waits for
/// it with `recv_timeout`: a body that blocks its thread, not only one whose future never wakes,
/// is caught. On a timeout this panics with "test `name` timed out after …" and leaves the
/// stuck thread behind (a thread cannot be stopped from outside; the test process ends it). A
/// panic in `body` is resumed here with its original payload, so `#[should_panic(expected =
/// "…")]` sees the body's message.
///
/// # Panics
/// On a timeout, when `body` panics, or when the OS refuses a thread.
#[track_caller]
pub fn run_test<R, F>(name: &'static str, timeout: Option<Duration>, body: F) -> R
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let Some(timeout) = timeout else {
        return body();
    };
    let (tx, rx) = mpsc::channel();
    let thread_name = thread::current().name().unwrap_or(name).to_owned();
    let thread = thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(body));
            // Fails only after a timeout, when nobody waits any more.
            let _ = tx.send(outcome);
        })
        .unwrap_or_else(|err| panic!("test `{name}`: cannot start the test's thread: {err}"));
    match rx.recv_timeout(timeout) {
        Ok(outcome) => {
            // The thread has nothing left to do but exit: wait for it, so that its thread-locals
            // are gone when the test ends, as they would be without a timeout.
            let _ = thread.join();
            match outcome {
                Ok(value) => value,
                Err(payload) => panic::resume_unwind(payload),
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("test `{name}` timed out after {timeout:?}"),
        Err(RecvTimeoutError::Disconnected) => {
            unreachable!("test `{name}`: the test's thread ended without reporting")
        }
    }
}
