//! `wait`: asyncio's `wait(tasks, return_when=...)`, with an optional timeout.

use super::join_all::Gather;
use crate::task::{JoinError, JoinHandle};
use filch_reactor::Sleep;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// When [`wait`] returns, as asyncio's `return_when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task finishes.
    FirstCompleted,
    /// As soon as any task fails — returns `Err`, panics or is cancelled — or, if none fails,
    /// when all have finished.
    FirstError,
    /// When every task has finished.
    AllCompleted,
}

/// Waits on spawned tasks until `when` says to stop (or the [`timeout`](Wait::timeout) passes),
/// and returns what finished and what is still running — asyncio's `wait`.
///
/// The tasks return `Result<T, E>`, so that [`ReturnWhen::FirstError`] can see their errors;
/// tasks that cannot fail return `Ok::<_, std::convert::Infallible>(value)`. Every task that has
/// finished by the time `wait` returns is in [`Waited::done`], in the order they were seen to
/// finish; the others are in [`Waited::pending`], still running: await them, `wait` on them again,
/// or abort them. Each comes with its position in `handles`.
///
/// Cancel-safe only in the sense that dropping a `Wait` detaches the tasks (they keep running);
/// the results gathered so far are lost with it.
///
/// ```
/// use filch::ReturnWhen;
/// use std::time::Duration;
///
/// filch::run(async {
///     let handles = [50u64, 5, 500].map(|ms| filch::spawn(async move {
///         filch::sleep(Duration::from_millis(ms)).await;
///         Ok::<_, std::io::Error>(ms)
///     }));
///     let waited = filch::wait(handles, ReturnWhen::FirstCompleted).await;
///     assert_eq!(waited.done.len(), 1);
///     let (index, result) = &waited.done[0];
///     assert_eq!((*index, result.as_ref().unwrap().as_ref().unwrap()), (1, &5));
///     assert_eq!(waited.pending.len(), 2);
///     for (_, handle) in waited.pending {
///         handle.abort();
///     }
/// });
/// ```
pub fn wait<I, T, E>(handles: I, when: ReturnWhen) -> Wait<T, E>
where
    I: IntoIterator<Item = JoinHandle<Result<T, E>>>,
{
    Wait {
        tasks: Gather::new(handles.into_iter().collect()),
        when,
        timeout: None,
        done: Vec::new(),
    }
}

/// A finished task's result, as awaiting its handle gives it.
pub type TaskResult<T, E> = Result<Result<T, E>, JoinError>;

/// What [`wait`] returns.
#[derive(Debug)]
pub struct Waited<T, E> {
    /// The tasks that finished, each with its position in the input and its result, in the order
    /// they were seen to finish.
    pub done: Vec<(usize, TaskResult<T, E>)>,
    /// The tasks still running, each with its position in the input, in input order.
    pub pending: Vec<(usize, JoinHandle<Result<T, E>>)>,
}

/// The future of [`wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T, E> {
    tasks: Gather<JoinHandle<Result<T, E>>>,
    when: ReturnWhen,
    timeout: Option<Pin<Box<Sleep>>>,
    done: Vec<(usize, TaskResult<T, E>)>,
}

impl<T, E> Wait<T, E> {
    /// Returns after `duration` at the latest, with whatever has finished by then —
    /// asyncio's `wait(..., timeout=...)`.
    ///
    /// # Panics
    /// When awaited outside a runtime (there is no timer).
    pub fn timeout(mut self, duration: Duration) -> Wait<T, E> {
        self.timeout = Some(Box::pin(filch_reactor::sleep(duration)));
        self
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Waited<T, E> {
        let mut pending = Vec::new();
        // Reading the outputs is not new work: outside the cooperative budget, or a `wait` over
        // many finished tasks would spend the budget and report the rest as pending
        // (regression: 200 finished handles gave 128 done, 72 pending).
        crate::coop::unconstrained(|| {
            for (index, mut handle) in self.tasks.take_pending() {
                // Tasks that finished meanwhile count as done, as in asyncio.
                if handle.is_finished() {
                    if let Poll::Ready(result) = Pin::new(&mut handle).poll(cx) {
                        self.done.push((index, result));
                        continue;
                    }
                }
                pending.push((index, handle));
            }
        });
        Waited {
            done: std::mem::take(&mut self.done),
            pending,
        }
    }
}

// Nothing in a `Wait` is pinned: the outputs are plain values, the handles are `Unpin` and the
// timer is boxed.
impl<T, E> Unpin for Wait<T, E> {}

impl<T, E> Future for Wait<T, E> {
    type Output = Waited<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Waited<T, E>> {
        let this = &mut *self;
        loop {
            match this.tasks.poll_next(cx) {
                Poll::Ready(Some((index, result))) => {
                    let failed = !matches!(result, Ok(Ok(_)));
                    this.done.push((index, result));
                    let stop = match this.when {
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstError => failed,
                        ReturnWhen::AllCompleted => false,
                    };
                    if stop {
                        return Poll::Ready(this.finish(cx));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(this.finish(cx)),
                Poll::Pending => break,
            }
        }
        if let Some(timeout) = &mut this.timeout {
            // Outside the budget, as `filch::timeout` checks its deadline: handles that kept
            // the budget spent must not keep the timeout from firing.
            if crate::coop::unconstrained(|| timeout.as_mut().poll(cx)).is_ready() {
                return Poll::Ready(this.finish(cx));
            }
        }
        Poll::Pending
    }
}

impl<T, E> fmt::Debug for Wait<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tasks.fmt("Wait", f)
    }
}
