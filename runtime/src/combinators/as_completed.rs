//! `as_completed`: run futures as tasks, take their outputs as they finish.

use super::join_all::Gather;
use crate::task::{JoinError, JoinHandle};
use futures_core::Stream;
use std::fmt;
use std::future::{poll_fn, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns every future of `iter` as a task and hands back their outputs in the order they
/// finish — asyncio's `as_completed`.
///
/// Because each future is a task, all of them make progress on the workers while the consumer is
/// busy with an earlier output. Take the outputs with [`next`](AsCompleted::next) or through the
/// [`Stream`] trait. Each output is a `Result`: `Err` if the task panicked (or the runtime shut
/// down).
///
/// Dropping the `AsCompleted` aborts the tasks whose outputs were not taken yet.
///
/// # Panics
/// Outside a runtime, as [`filch::spawn`](crate::spawn).
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     let mut done = filch::as_completed([30u64, 10, 20].map(|ms| async move {
///         filch::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = done.next().await {
///         order.push(ms.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[track_caller]
pub fn as_completed<I>(iter: I) -> AsCompleted<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: Send + 'static,
    <I::Item as IntoFuture>::Output: Send + 'static,
{
    let handles = iter
        .into_iter()
        .map(|future| crate::spawn(future.into_future()))
        .collect();
    AsCompleted {
        tasks: Gather::new(handles),
    }
}

/// The outputs of tasks in the order they finish; see [`as_completed`].
#[must_use = "dropping an AsCompleted aborts its tasks"]
pub struct AsCompleted<T> {
    tasks: Gather<JoinHandle<T>>,
}

impl<T> AsCompleted<T> {
    /// The output of the next task to finish, or `None` once every output was taken.
    ///
    /// Cancel-safe: if the returned future is dropped before it completes (in `select!`), no
    /// output is lost; the next call hands it out.
    pub async fn next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_next_output(cx)).await
    }

    /// How many outputs are still to come.
    pub fn len(&self) -> usize {
        self.tasks.remaining()
    }

    /// True once every output was taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn poll_next_output(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.tasks
            .poll_next(cx)
            .map(|next| next.map(|(_, output)| output))
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // `Gather` pins its children in its own allocation, so `AsCompleted` is `Unpin`.
        self.poll_next_output(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        for handle in self.tasks.pending() {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tasks.fmt("AsCompleted", f)
    }
}
