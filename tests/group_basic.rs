//! TaskGroup: values in spawn order, waiting for every child, sibling cancellation, every error
//! reported with names, the panic policy, supervisor, limit, cancel and bad input.

mod common;

use common::DropGuard;
use filch::{GroupError, TaskGroup};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn join_returns_the_values_in_spawn_order_after_every_child_finished() {
    let finished = Arc::new(AtomicUsize::new(0));
    let seen = finished.clone();
    let values = filch::run(async move {
        let group = TaskGroup::new();
        for i in (0..20u64).rev() {
            let finished = seen.clone();
            group.spawn(async move {
                filch::sleep(ms(i)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(i)
            });
        }
        assert!(!group.is_empty());
        let values = group.join().await.unwrap();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            20,
            "join returned before every child finished"
        );
        values
    });
    assert_eq!(values, (0..20).rev().collect::<Vec<_>>());
    assert_eq!(finished.load(Ordering::SeqCst), 20);
}

#[test]
fn the_first_failure_cancels_the_siblings_and_join_waits_for_their_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let err = filch::run(async move {
        let group = TaskGroup::<(), String>::new();
        for _ in 0..10 {
            group.spawn(common::pending_child(&counted));
        }
        group.spawn_named("failing", async {
            filch::sleep(ms(5)).await;
            Err("boom".to_owned())
        });
        let err = group.join().await.unwrap_err();
        // Every sibling's future was dropped before join returned.
        assert_eq!(counted.load(Ordering::SeqCst), 10);
        err
    });
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    assert_eq!(err.len(), 1);
    assert!(!err.is_cancelled());
    let failure = &err.failures()[0];
    assert_eq!(failure.name(), Some("failing"));
    assert_eq!(failure.as_error(), Some(&"boom".to_owned()));
    assert!(failure.task_id().is_some());
    let text = err.to_string();
    assert!(text.contains("\"failing\" failed: boom"), "{text}");
}

#[test]
fn every_error_comes_back_in_the_order_it_happened() {
    // Children that fail before the cancellation reaches them still report their errors.
    let err = filch::run(async {
        let group = TaskGroup::<(), String>::new();
        let gate = Arc::new(std::sync::Barrier::new(2));
        for name in ["a", "b"] {
            let gate = gate.clone();
            group.spawn_named(name, async move {
                // Both children are mid-poll, on both workers, when they fail.
                gate.wait();
                Err(format!("{name} failed"))
            });
        }
        group.join().await.unwrap_err()
    });
    assert_eq!(err.len(), 2, "{err}");
    let mut errors: Vec<&String> = err.errors().collect();
    errors.sort();
    assert_eq!(errors, ["a failed", "b failed"]);
    let order: Vec<_> = err
        .failures()
        .iter()
        .map(|f| f.as_error().unwrap().clone())
        .collect();
    assert_eq!(order.len(), 2);
    assert!(err.to_string().starts_with("a task group failed 2 times: "));
}

#[test]
fn a_panic_is_reported_in_the_group_error_and_cancels_the_siblings() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(drops.clone());
    let err = filch::run(async move {
        let group = TaskGroup::<(), String>::new();
        group.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        });
        group.spawn_named("buggy", async { panic!("index out of range") });
        group.join().await.unwrap_err()
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(err.has_panic());
    let failure = &err.failures()[0];
    assert!(failure.is_panic());
    assert_eq!(failure.as_error(), None);
    assert!(err.to_string().contains("task"), "{err}");
    assert!(err
        .to_string()
        .contains("\"buggy\" panicked with message \"index out of range\""));
    // The workers survived the panic.
    assert_eq!(
        filch::run(async { filch::spawn(async { 1 }).await.unwrap() }),
        1
    );
}

#[test]
fn resume_panic_turns_a_child_panic_into_the_awaiting_tasks_panic() {
    let caught = std::panic::catch_unwind(|| {
        filch::run(async {
            let group = TaskGroup::<(), ()>::new();
            group.spawn(async { panic!("child bug") });
            let _ = group.join().await.map_err(GroupError::resume_panic);
        })
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"child bug"));
}

#[test]
fn a_supervisor_collects_failures_and_lets_the_siblings_finish() {
    let finished = Arc::new(AtomicUsize::new(0));
    let seen = finished.clone();
    let err = filch::run(async move {
        let group = TaskGroup::<(), String>::supervisor();
        group.spawn(async { Err("early".to_owned()) });
        for _ in 0..5 {
            let finished = seen.clone();
            group.spawn(async move {
                filch::sleep(ms(20)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        group.spawn(async {
            filch::sleep(ms(40)).await;
            Err("late".to_owned())
        });
        group.join().await.unwrap_err()
    });
    assert_eq!(
        finished.load(Ordering::SeqCst),
        5,
        "no sibling was cancelled"
    );
    let errors: Vec<&String> = err.errors().collect();
    assert_eq!(errors, ["early", "late"]);
}

#[test]
fn with_limit_runs_at_most_n_children_at_once() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    let values = filch::run(async move {
        let group = TaskGroup::new().with_limit(3);
        for i in 0..30u32 {
            let (running, peak) = (r.clone(), p.clone());
            group.spawn(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Long enough for the other two to start meanwhile, even on a slow machine.
                filch::sleep(ms(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ()>(i)
            });
        }
        group.join().await.unwrap()
    });
    assert_eq!(values, (0..30).collect::<Vec<_>>());
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "the limit was reached but never passed"
    );
}

#[test]
fn a_failure_under_a_limit_drops_the_queued_children_unstarted() {
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let err = filch::run(async move {
        let group = TaskGroup::<(), &str>::new().with_limit(1);
        group.spawn(async { Err("first child failed") });
        for _ in 0..10 {
            let started = s.clone();
            group.spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        group.join().await.unwrap_err()
    });
    assert_eq!(started.load(Ordering::SeqCst), 0);
    assert_eq!(err.errors().collect::<Vec<_>>(), [&"first child failed"]);
}

#[test]
fn cancel_cancels_every_child_and_join_says_so() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let err = filch::run(async move {
        let group = TaskGroup::<(), String>::new();
        for _ in 0..4 {
            group.spawn(common::pending_child(&counted));
        }
        group.cancel();
        // Spawning into a cancelled group drops the future unpolled.
        let guard = DropGuard(counted.clone());
        group.spawn(async move {
            let _guard = guard;
            unreachable!("a cancelled group never starts a child");
        });
        group.join().await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert!(err.is_empty());
    assert_eq!(err.to_string(), "the task group was cancelled");
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn dropping_the_group_cancels_its_children() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    filch::run(async move {
        let group = TaskGroup::<(), ()>::new();
        for _ in 0..8 {
            group.spawn(common::pending_child(&counted));
        }
        drop(group);
        let all = common::spin_until(Duration::from_secs(5), || {
            counted.load(Ordering::SeqCst) == 8
        });
        assert!(all, "every child was cancelled");
    });
}

#[test]
fn dropping_the_join_future_cancels_the_children() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    filch::run(async move {
        let group = TaskGroup::<(), ()>::new();
        for _ in 0..3 {
            group.spawn(common::pending_child(&counted));
        }
        let timed_out = filch::timeout(ms(10), group.join()).await;
        assert!(timed_out.is_err());
        assert!(common::spin_until(Duration::from_secs(5), || counted
            .load(Ordering::SeqCst)
            == 3));
    });
}

#[test]
fn names_appear_in_join_errors_too() {
    let err = filch::run(async {
        filch::task::Builder::new()
            .name("fetch-7")
            .spawn(async { panic!("timeout") })
            .await
            .unwrap_err()
    });
    assert_eq!(err.name(), Some("fetch-7"));
    assert_eq!(
        err.to_string(),
        format!(
            "task {} \"fetch-7\" panicked with message \"timeout\"",
            err.id()
        )
    );
}

#[test]
#[should_panic(expected = "TaskGroup::spawn called outside of a filch runtime")]
fn spawning_outside_a_runtime_panics_with_a_clear_message() {
    let group = TaskGroup::<(), ()>::new();
    group.spawn(async { Ok(()) });
}

#[test]
#[should_panic(expected = "TaskGroup::with_limit(0)")]
fn a_zero_limit_is_refused() {
    let _ = TaskGroup::<(), ()>::new().with_limit(0);
}

#[test]
fn values_can_come_back_through_a_mutex_in_scope_form() {
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    let n = filch::run(async move {
        TaskGroup::scope(|group| async move {
            for i in 0..5 {
                let out = o.clone();
                group.spawn(async move {
                    out.lock().unwrap().push(i);
                    Ok::<_, ()>(())
                });
            }
            Ok(5)
        })
        .await
        .unwrap()
    });
    let mut got = out.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!((n, got), (5, vec![0, 1, 2, 3, 4]));
}

#[test]
fn rounds_of_groups_never_lose_the_wake_up_of_their_last_child() {
    // Children end on both workers while the joining task registers its waker: every round must
    // finish (a lost wake-up would hang a round; `within` turns a hang into a failure).
    common::within(Duration::from_secs(60), "group rounds", || {
        let rt = common::runtime(2, "group-rounds");
        for round in 0..300u64 {
            let values = rt.block_on(async move {
                let group = TaskGroup::new().with_limit(8);
                for i in 0..40u64 {
                    group.spawn(async move {
                        if (i + round) % 3 == 0 {
                            filch::yield_now().await;
                        }
                        Ok::<_, ()>(i)
                    });
                }
                group.join().await.unwrap()
            });
            assert_eq!(values.len(), 40);
        }
    });
}

/// Regression: children spawned on one runtime and joined from another used to come back as
/// `Ok([])` when their runtime was dropped under them, though none of them finished. A child
/// cancelled by its runtime's shutdown makes the group end with a cancellation.
#[test]
fn children_that_die_with_their_runtime_make_the_group_fail_as_cancelled() {
    for supervisor in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let children = common::runtime(2, "group-children");
        let group = children.block_on(async {
            let group = if supervisor {
                TaskGroup::<(), String>::supervisor()
            } else {
                TaskGroup::<(), String>::new()
            };
            for _ in 0..3 {
                group.spawn(common::pending_child(&drops));
            }
            group
        });
        let joiner = common::runtime(1, "group-joiner");
        let join = joiner.spawn(group.join());
        drop(children);
        let result = common::within(Duration::from_secs(30), "join after shutdown", move || {
            joiner.block_on(join).unwrap()
        });
        let err = result.expect_err("no child finished, so the group cannot succeed");
        assert!(err.is_cancelled(), "supervisor={supervisor}: {err}");
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }
}

/// Found by the soak run: a failure cancelled a sibling that owned a nested group, and the nested
/// group's children were only scheduled for cancellation, so they outlived the outer `join` for
/// a moment. A cancelled group now drops its idle children in place: when `join` returns, every
/// grandchild is gone too.
#[test]
fn when_join_returns_the_grandchildren_of_a_cancelled_child_are_gone() {
    for workers in [1, 2] {
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = drops.clone();
        let rt = common::runtime(workers, "group-grandchildren");
        let dropped_at_join = rt.block_on(async move {
            let outer = TaskGroup::<(), String>::new();
            for _ in 0..3 {
                let counted = counted.clone();
                outer.spawn(async move {
                    let inner = TaskGroup::<(), String>::new();
                    for _ in 0..5 {
                        inner.spawn(common::pending_child(&counted));
                    }
                    inner.join().await.map(drop).map_err(|e| e.to_string())
                });
            }
            outer.spawn(async {
                filch::sleep(ms(5)).await;
                Err("fails".to_owned())
            });
            let err = outer.join().await.unwrap_err();
            assert_eq!(err.failures().len(), 1, "{err}");
            counted.load(Ordering::SeqCst)
        });
        assert_eq!(dropped_at_join, 15, "{workers} workers");
        assert_eq!(drops.load(Ordering::SeqCst), 15);
    }
}
