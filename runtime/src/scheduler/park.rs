//! Putting a thread to sleep until there is work: crossbeam-utils' `Parker` in normal builds, a
//! modelled twin with the same contract under loom.
//!
//! The contract (a single token, like `std::thread::park`): `unpark` makes the token available;
//! `park` consumes the token, blocking until there is one. An `unpark` before the `park` is never
//! lost: the `park` returns at once. `park` may also return spuriously, so callers re-check their
//! condition.

#[cfg(not(filch_loom))]
pub(crate) use crossbeam_utils::sync::{Parker, Unparker};

#[cfg(filch_loom)]
mod model {
    use crate::loom::lock;
    use crate::loom::sync::{Arc, Condvar, Mutex};

    struct Inner {
        token: Mutex<bool>,
        cond: Condvar,
    }

    pub(crate) struct Parker {
        inner: Arc<Inner>,
    }

    #[derive(Clone)]
    pub(crate) struct Unparker {
        inner: Arc<Inner>,
    }

    impl Parker {
        pub(crate) fn new() -> Parker {
            Parker {
                inner: Arc::new(Inner {
                    token: Mutex::new(false),
                    cond: Condvar::new(),
                }),
            }
        }
        /// Unlike crossbeam's (which lends one), returns a new handle; callers clone either way.
        pub(crate) fn unparker(&self) -> Unparker {
            Unparker {
                inner: self.inner.clone(),
            }
        }
        pub(crate) fn park(&self) {
            let mut token = lock(&self.inner.token);
            while !*token {
                token = self.inner.cond.wait(token).unwrap();
            }
            *token = false;
        }
    }

    impl Unparker {
        pub(crate) fn unpark(&self) {
            *lock(&self.inner.token) = true;
            self.inner.cond.notify_one();
        }
    }
}

#[cfg(filch_loom)]
pub(crate) use model::{Parker, Unparker};
