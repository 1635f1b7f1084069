//! The reactor's synchronization primitives: `std`'s, or loom's model-checked twins under
//! `--cfg filch_loom` (the readiness protocol in `io/scheduled_io.rs` has a loom model).

#[cfg(not(filch_loom))]
pub(crate) use std::sync;

#[cfg(filch_loom)]
pub(crate) use loom::sync;

/// Locks `mutex`, ignoring poisoning: no user code runs under the reactor's locks except waker
/// calls, which are made after the locks are released.
pub(crate) fn lock<T>(mutex: &sync::Mutex<T>) -> sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
