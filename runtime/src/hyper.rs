//! `FilchExecutor`: hyper's executor on filch's tasks (the `hyper` feature).
//!
//! hyper spawns through its `Executor` trait where a connection needs a task of its own: an
//! HTTP/2 connection's streams and its client's background connection task, and hyper-util's
//! `auto` server builder (which may speak HTTP/2). The timer and the socket impls need no
//! scheduler, so they live in filch-reactor (`filch_reactor::hyper`).

use std::future::Future;

/// hyper's [`Executor`](::hyper::rt::Executor) on filch: each future hyper hands it becomes a
/// task of the current runtime ([`filch::spawn`](crate::spawn)), detached. What
/// `TokioExecutor` from hyper-util is on tokio; give it to `http2::Builder::new(...)`, hyper-util's
/// `auto::Builder::new(...)` or an HTTP/2 client.
///
/// hyper calls it from inside a connection's task, where a runtime is current.
///
/// # Panics
/// `execute` panics outside a filch runtime, as [`filch::spawn`](crate::spawn) does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
///
/// filch::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     filch::hyper::FilchExecutor::new().execute(async move { tx.send(42).unwrap() });
///     filch::sleep(std::time::Duration::from_millis(10)).await;
///     assert_eq!(rx.try_recv(), Ok(42));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct FilchExecutor;

impl FilchExecutor {
    /// An executor that spawns on whichever runtime is current when hyper calls it.
    pub fn new() -> FilchExecutor {
        FilchExecutor
    }
}

impl<F> ::hyper::rt::Executor<F> for FilchExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper's connection futures report their own errors and end by themselves.
        drop(crate::spawn(future));
    }
}
