//! `unconstrained` and `consume_budget`: the cooperative budget from a task's side.

use crate::coop;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The future returned by [`unconstrained`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

/// Runs `future` outside the cooperative budget: the sockets, timers, join handles and `sync`
/// primitives it polls never answer `Pending` to make it yield (tokio's
/// `task::unconstrained`).
///
/// For a future that must not be interrupted between two ready resources (a hand-written batch
/// loop that yields by itself). A future that loops over always-ready resources under it keeps
/// its worker for as long as it loops: the other tasks on that worker wait.
///
/// ```
/// filch::run(async {
///     let handles: Vec<_> = (0..1_000).map(|i| filch::spawn(async move { i })).collect();
///     let sum: u64 = filch::task::unconstrained(async move {
///         let mut sum = 0;
///         for h in handles {
///             sum += h.await.unwrap();
///         }
///         sum
///     })
///     .await;
///     assert_eq!(sum, 499_500);
/// });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { inner: future }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        coop::unconstrained(|| inner.poll(cx))
    }
}

/// Spends one unit of the task's cooperative budget, yielding first if the budget is spent
/// (tokio's `task::consume_budget`): for a loop that does its work without touching a resource
/// that would spend the budget for it, so that it still gives the worker back now and then
/// without yielding on every iteration.
///
/// ```
/// filch::run(async {
///     let mut total = 0u64;
///     for i in 0..100_000u64 {
///         total += i; // CPU work, no await
///         filch::task::consume_budget().await; // yields once every 128 iterations
///     }
///     assert_eq!(total, 4_999_950_000);
/// });
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(|cx| coop::poll_proceed(cx).map(coop::Progress::made_progress)).await
}
