//! `join!`, `try_join!` and `select!`: outputs, short-circuits, fairness, `biased;`,
//! preconditions, refutable patterns and control flow in handlers.

mod common;

use common::DropGuard;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn join_returns_every_output_in_the_order_written() {
    let out = filch::run(async {
        filch::join!(
            async {
                filch::sleep(Duration::from_millis(20)).await;
                1u8
            },
            async { "b" },
            async {
                filch::yield_now().await;
                vec![3]
            },
        )
    });
    assert_eq!(out, (1, "b", vec![3]));
}

#[test]
fn join_runs_its_futures_concurrently() {
    // Each future waits for a message from the other before it can finish: only a join that
    // polls both at once completes (awaiting them one after the other would hang, which `within`
    // turns into a failure).
    let out = common::within(Duration::from_secs(10), "join!", || {
        filch::run(async {
            let (to_b, from_a) = futures_channel::oneshot::channel::<u8>();
            let (to_a, from_b) = futures_channel::oneshot::channel::<u8>();
            filch::join!(
                async move {
                    to_b.send(1).unwrap();
                    from_b.await.unwrap()
                },
                async move {
                    let got = from_a.await.unwrap();
                    to_a.send(got + 1).unwrap();
                    got
                },
            )
        })
    });
    assert_eq!(out, (2, 1));
}

#[test]
fn try_join_stops_at_the_first_error_and_drops_the_rest() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(drops.clone());
    let out = filch::run(async move {
        filch::try_join!(
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<u8, String>(0)
            },
            async {
                filch::sleep(Duration::from_millis(5)).await;
                Err::<u8, _>("second failed".to_owned())
            },
        )
    });
    assert_eq!(out, Err("second failed".to_owned()));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the pending future was dropped"
    );
    let ok = filch::run(async { filch::try_join!(async { Ok::<_, ()>(1) }, async { Ok(2) }) });
    assert_eq!(ok, Ok((1, 2)));
}

#[test]
fn select_runs_the_handler_of_the_first_future_to_finish_and_drops_the_others() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(drops.clone());
    let got = filch::run(async move {
        filch::select! {
            _ = async move { let _g = guard; filch::sleep(Duration::from_secs(60)).await } => 0,
            v = async { filch::sleep(Duration::from_millis(5)).await; 7 } => v * 6,
        }
    });
    assert_eq!(got, 42);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn select_is_fair_between_ready_branches() {
    let mut wins = [0u32; 2];
    filch::run(async {
        for _ in 0..2000 {
            let i = filch::select! {
                _ = async {} => 0,
                _ = async {} => 1,
            };
            wins[i] += 1;
        }
    });
    // A random start gives each branch about 1000; a fixed order would give 2000/0.
    assert!(wins[0] > 700 && wins[1] > 700, "{wins:?}");
}

#[test]
fn biased_select_polls_in_the_order_written() {
    let polled_second = AtomicUsize::new(0);
    filch::run(async {
        for _ in 0..500 {
            let i = filch::select! {
                biased;
                _ = async {} => 0,
                _ = async { polled_second.fetch_add(1, Ordering::Relaxed); } => 1,
            };
            assert_eq!(i, 0);
        }
    });
    assert_eq!(
        polled_second.load(Ordering::Relaxed),
        0,
        "the second branch was never polled"
    );
}

#[test]
fn a_refutable_pattern_that_does_not_match_disables_its_branch() {
    let got = filch::run(async {
        filch::select! {
            Some(v) = async { None::<u32> } => v,
            Some(v) = async { filch::sleep(Duration::from_millis(5)).await; Some(9) } => v + 1,
        }
    });
    assert_eq!(got, 10);
}

#[test]
fn preconditions_and_else() {
    let got = filch::run(async {
        let enabled = false;
        filch::select! {
            v = async { 1 }, if enabled => v,
            Some(v) = async { None::<i32> } => v,
            else => -1,
        }
    });
    assert_eq!(got, -1);
}

#[test]
#[should_panic(expected = "every branch is disabled and there is no `else` branch")]
fn select_without_else_panics_when_every_branch_is_disabled() {
    filch::run(async {
        filch::select! {
            Ok(v) = async { Err::<u8, ()>(()) } => v,
        }
    });
}

#[test]
fn handlers_can_await_break_and_borrow_what_the_futures_borrowed() {
    let sum = filch::run(async {
        let mut values = vec![1, 2, 3];
        let mut sum = 0;
        loop {
            filch::select! {
                Some(v) = async { values.pop() } => {
                    filch::yield_now().await;
                    sum += v;
                    // The future borrowed `values`; it is dropped before the handler runs.
                    values.retain(|_| true);
                }
                else => break,
            }
        }
        sum
    });
    assert_eq!(sum, 6);
}

#[test]
fn select_in_a_loop_keeps_a_pinned_future_across_iterations() {
    let ticks = filch::run(async {
        let deadline = filch::sleep(Duration::from_millis(60));
        let mut deadline = std::pin::pin!(deadline);
        let mut ticks = 0u32;
        loop {
            filch::select! {
                _ = &mut deadline => break ticks,
                _ = filch::sleep(Duration::from_millis(2)) => ticks += 1,
            }
        }
    });
    assert!(ticks >= 2, "{ticks}");
}
