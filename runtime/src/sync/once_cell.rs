//! `OnceCell`: a value initialised once, by the first task that asks.

use std::fmt;
use std::future::Future;

/// A cell written at most once, asynchronously (tokio's `OnceCell`): the first
/// [`get_or_init`](OnceCell::get_or_init) runs its initialiser; the others wait for it and share
/// the value. If an initialiser fails ([`get_or_try_init`](OnceCell::get_or_try_init)) or is
/// dropped before it finished, the next caller runs its own.
///
/// Built on [async-lock](https://docs.rs/async-lock)'s `OnceCell`. Reads of a set cell are a load,
/// not a wait, and do not spend the cooperative budget.
///
/// ```
/// use filch::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
///
/// filch::run(async {
///     let a = CONFIG.get_or_init(|| async { String::from("loaded") }).await;
///     let b = CONFIG.get_or_init(|| async { unreachable!("already set") }).await;
///     assert_eq!((a.as_str(), b.as_str()), ("loaded", "loaded"));
/// });
/// ```
pub struct OnceCell<T> {
    inner: async_lock::OnceCell<T>,
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub const fn new() -> OnceCell<T> {
        OnceCell {
            inner: async_lock::OnceCell::new(),
        }
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.inner.get()
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.inner.is_initialized()
    }

    /// The value, running `init` to make it if the cell is empty; callers that come while another
    /// initialises wait for it.
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.inner.get_or_init(init).await
    }

    /// As [`get_or_init`](OnceCell::get_or_init), with an initialiser that may fail: its error is
    /// returned and the cell stays empty.
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.inner.get_or_try_init(init).await
    }

    /// Waits until another task has set the value.
    pub async fn wait(&self) -> &T {
        self.inner.wait().await
    }

    /// Sets the value if the cell is empty and nobody is initialising it; otherwise hands `value`
    /// back.
    pub fn set(&self, value: T) -> Result<(), T> {
        self.inner.try_set(value)
    }

    /// The value, through exclusive access.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell {
            inner: async_lock::OnceCell::from(value),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceCell").field(&self.get()).finish()
    }
}
