//! `task::Builder`: spawn a task with options, for now its name.

use super::{name, JoinHandle, SpawnMeta};
use crate::{context, Handle};
use std::future::Future;
use std::sync::Arc;

/// Spawns a task with a name, which then appears in its [`JoinError`](crate::JoinError) and, in
/// a [`TaskGroup`](crate::TaskGroup), in the [`GroupError`](crate::GroupError).
///
/// ```
/// filch::run(async {
///     let handle = filch::task::Builder::new()
///         .name("worker-1")
///         .spawn(async { 7 });
///     assert_eq!(handle.await.unwrap(), 7);
/// });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a task::Builder does nothing until `spawn` is called"]
pub struct Builder {
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The task's name.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns the task on the current runtime, like [`filch::spawn`](crate::spawn).
    ///
    /// # Panics
    /// Outside a runtime, as [`filch::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // The id (and the name's entry) is made inside: outside a runtime, nothing is recorded.
        let name = self.name;
        // Read here: the closure below would end the `#[track_caller]` chain.
        let meta = SpawnMeta::here();
        match context::with_current(|inner| inner.spawn(future, name::id_for(name), meta)) {
            Some(join) => join,
            None => panic!(
                "task::Builder::spawn called outside of a filch runtime: call it from a task or \
                 from inside `filch::run(...)` / `Runtime::block_on(...)`, or use \
                 `task::Builder::spawn_on` with a `Handle`"
            ),
        }
    }

    /// Spawns the task on the runtime of `handle`, like [`Handle::spawn`].
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle
            .inner
            .spawn(future, name::id_for(self.name), SpawnMeta::here())
    }
}
