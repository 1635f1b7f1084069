//! `join_all` and `try_join_all`: input order, linear polling, short-circuit, and drops.

mod common;

use common::DropGuard;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

type BoxedResult = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

/// Counts every poll of the future it wraps.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn outputs_come_back_in_input_order_whatever_the_completion_order() {
    filch::run(async {
        // The first future finishes last.
        let out = filch::join_all((0..5u64).map(|i| async move {
            filch::sleep(Duration::from_millis(5 * (5 - i))).await;
            i
        }))
        .await;
        assert_eq!(out, [0, 1, 2, 3, 4]);
        let empty: Vec<u8> = filch::join_all(Vec::<std::future::Ready<u8>>::new()).await;
        assert!(empty.is_empty());
    });
}

/// 100,000 children that each wake once cost exactly two polls each: the first, and the one after
/// their wake-up. A join_all that polls every child whenever one wakes would need billions.
#[test]
fn each_child_is_polled_only_when_woken() {
    const N: usize = 100_000;
    filch::run(async {
        let polls = Arc::new(AtomicUsize::new(0));
        let children = (0..N).map(|i| Counted {
            inner: Box::pin(async move {
                filch::yield_now().await;
                i
            }),
            polls: polls.clone(),
        });
        let out = filch::join_all(children).await;
        assert_eq!(out.len(), N);
        assert!(out.iter().enumerate().all(|(i, &v)| i == v));
        assert_eq!(polls.load(SeqCst), 2 * N);
    });
}

#[test]
fn try_join_all_stops_at_the_first_error_and_drops_the_rest() {
    filch::run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut futures: Vec<BoxedResult> = Vec::new();
        for _ in 0..10 {
            let guard = DropGuard(drops.clone());
            futures.push(Box::pin(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok(0)
            }));
        }
        futures.push(Box::pin(async {
            filch::sleep(Duration::from_millis(5)).await;
            Err("boom".to_owned())
        }));
        let r = filch::try_join_all(futures).await;
        assert_eq!(r, Err("boom".to_owned()));
        assert_eq!(
            drops.load(SeqCst),
            10,
            "the pending futures were not dropped"
        );

        let ok = filch::try_join_all((1..=3).map(|i| async move { Ok::<_, String>(i) })).await;
        assert_eq!(ok, Ok(vec![1, 2, 3]));
    });
}

#[test]
fn join_all_of_spawned_tasks_runs_them_in_parallel_and_keeps_order() {
    filch::run(async {
        let handles: Vec<_> = (0..64u64)
            .map(|i| filch::spawn(async move { i * 2 }))
            .collect();
        let out: Vec<u64> = filch::join_all(handles)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(out, (0..64).map(|i| i * 2).collect::<Vec<_>>());
    });
}

#[test]
fn dropping_join_all_drops_every_child() {
    filch::run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let children: Vec<_> = (0..5)
            .map(|_| {
                let guard = DropGuard(drops.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                }
            })
            .collect();
        let r = filch::timeout(Duration::from_millis(5), filch::join_all(children)).await;
        assert!(r.is_err());
        assert_eq!(drops.load(SeqCst), 5);
    });
}

struct NoopWaker;

impl std::task::Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// A child that counts its polls, and panics if it is child 0.
async fn panics_if_first(index: usize, polls: Arc<AtomicUsize>) -> usize {
    polls.fetch_add(1, SeqCst);
    assert!(index != 0, "child 0 panics");
    index
}

/// Regression (a suspicion settled): the children woken but not yet polled when another child
/// panicked were dropped from the wake queue, and a caller that caught the panic and polled again
/// never ran them. They now go back to the queue and run on the next poll.
#[test]
fn children_woken_before_a_sibling_panicked_still_run_on_the_next_poll() {
    let polls = Arc::new(AtomicUsize::new(0));
    let all = filch::join_all((0..3).map(|i| panics_if_first(i, polls.clone())));
    let mut all = std::pin::pin!(all);
    let waker = std::task::Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    let first =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| all.as_mut().poll(&mut cx)));
    assert!(first.is_err(), "child 0's panic comes out of the poll");
    assert_eq!(
        polls.load(SeqCst),
        1,
        "children 1 and 2 were not polled yet"
    );
    // The panicked child is not polled again unless woken; the other two finish now.
    assert!(all.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        polls.load(SeqCst),
        3,
        "children 1 and 2 ran on the second poll"
    );
}

/// Found by the study's semaphore row: `join_all` over many join handles polled every queued
/// child in each of its polls, even after the cooperative budget was spent, so each child past
/// the 128th was told `Pending` by the budget and queued again: O(n) child polls per parent poll,
/// O(n²/128) in all. It now stops when the budget is spent. 10,000 handles of finished tasks:
/// each is polled a small constant number of times.
#[test]
fn join_all_stops_polling_children_once_the_budget_is_spent() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    struct Counted<F>(F, Arc<AtomicUsize>);
    impl<F: Future + Unpin> Future for Counted<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.1.fetch_add(1, SeqCst);
            Pin::new(&mut self.0).poll(cx)
        }
    }

    const N: usize = 10_000;
    let rt = filch::Builder::new().worker_threads(1).build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let sum = rt.block_on(rt.spawn({
        let polls = polls.clone();
        async move {
            let handles: Vec<_> = (0..N).map(|i| filch::spawn(async move { i })).collect();
            // All finished before the first poll: every child is ready at once.
            while !handles.iter().all(|h| h.is_finished()) {
                filch::yield_now().await;
            }
            let counted = handles
                .into_iter()
                .map(|h| Counted(h, polls.clone()))
                .collect::<Vec<_>>();
            filch::join_all(counted)
                .await
                .into_iter()
                .map(Result::unwrap)
                .sum::<usize>()
        }
    }));
    assert_eq!(sum.unwrap(), N * (N - 1) / 2);
    let polls = polls.load(SeqCst);
    assert!(
        polls <= 3 * N,
        "{polls} child polls for {N} children: polled past the spent budget"
    );
}

/// The budget limits polls of leaf resources; children that touch none (here: plain values) owe it
/// nothing. A `join_all` polled only after a sibling in the same task has spent the whole budget
/// (a busy `select!` branch that works its budget down on every turn) must still run them.
/// Regression: the budget check ran before the first child, so such a `join_all` answered
/// `Pending` on every poll and never ran a child at all.
#[test]
fn join_all_entered_with_a_spent_budget_still_runs_children_that_spend_none() {
    filch::run(async {
        let mut all = filch::join_all((0..4u32).map(|i| async move { i }));
        let gathered = std::future::poll_fn(|cx| {
            // Spend the budget down to nothing, as a busy sibling would: the last `consume_budget`
            // answers `Pending` and wakes the task, so it is polled again, with a fresh budget
            // that is spent again before the `join_all` is reached.
            loop {
                let mut spend = std::pin::pin!(filch::task::consume_budget());
                if spend.as_mut().poll(cx).is_pending() {
                    break;
                }
            }
            Pin::new(&mut all).poll(cx)
        });
        let out = filch::timeout(Duration::from_secs(2), gathered)
            .await
            .expect("join_all never ran its children: every poll found the budget spent");
        assert_eq!(out, [0, 1, 2, 3]);
    });
}
