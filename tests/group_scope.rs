//! TaskGroup::scope: the body is cancelled with the children, the body's error cancels them,
//! nested groups cancel all the way down, and no child outlives its scope.

mod common;

use common::{spin_until, DropGuard};
use filch::TaskGroup;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn count(c: &AtomicUsize) -> usize {
    c.load(Ordering::SeqCst)
}

#[test]
fn a_child_failure_cancels_the_body_and_the_siblings() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let err = filch::run(async move {
        TaskGroup::scope(|group| async move {
            let sibling = DropGuard(counted.clone());
            group.spawn(async move {
                let _sibling = sibling;
                filch::sleep(Duration::from_secs(3600)).await;
                Ok(())
            });
            group.spawn_named("bad", async {
                filch::sleep(ms(5)).await;
                Err("child failed".to_owned())
            });
            let _body = DropGuard(counted.clone());
            filch::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await
        .unwrap_err()
    });
    assert_eq!(count(&drops), 2, "the body and the sibling were dropped");
    assert_eq!(
        err.errors().collect::<Vec<_>>(),
        [&"child failed".to_owned()]
    );
}

#[test]
fn the_bodys_error_cancels_the_children_and_is_reported() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let err = filch::run(async move {
        TaskGroup::<(), String>::scope(|group| async move {
            for _ in 0..3 {
                group.spawn(common::pending_child(&counted));
            }
            Err::<(), _>("body gave up".to_owned())
        })
        .await
        .unwrap_err()
    });
    assert_eq!(count(&drops), 3);
    let failure = &err.failures()[0];
    assert_eq!(failure.task_id(), None, "the body is not a task");
    assert_eq!(
        err.to_string(),
        "a task group failed: the scope body failed: body gave up"
    );
}

#[test]
fn the_scope_waits_for_children_after_the_body_returns() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let value = filch::run(async move {
        let value = TaskGroup::<(), ()>::scope(|group| async move {
            for i in 0..5 {
                let finished = f.clone();
                group.spawn(async move {
                    filch::sleep(ms(10 * i)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
            }
            Ok("body done")
        })
        .await
        .unwrap();
        assert_eq!(count(&finished), 5);
        value
    });
    assert_eq!(value, "body done");
}

#[test]
fn children_can_spawn_siblings_through_a_cloned_scope() {
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    filch::run(async move {
        let c2 = c.clone();
        TaskGroup::<(), ()>::scope(|group| async move {
            let inner = group.clone();
            let counter = c2;
            group.spawn(async move {
                for _ in 0..10 {
                    let counter = counter.clone();
                    inner.spawn(async move {
                        filch::yield_now().await;
                        counter.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                Ok(())
            });
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            count(&c),
            10,
            "the scope waited for the grandchildren-as-siblings"
        );
    });
}

#[test]
fn dropping_a_scope_cancels_nested_groups_all_the_way_down() {
    // parent scope -> child task -> nested scope -> grandchildren. Dropping the parent scope's
    // future drops every grandchild.
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let (d, s, d0) = (drops.clone(), started.clone(), drops.clone());
    filch::run(async move {
        let parent = TaskGroup::<(), ()>::scope(move |group| async move {
            for _ in 0..2 {
                let (d, s) = (d.clone(), s.clone());
                group.spawn(async move {
                    TaskGroup::<(), ()>::scope(|nested| async move {
                        for _ in 0..3 {
                            let guard = DropGuard(d.clone());
                            let started = s.clone();
                            nested.spawn(async move {
                                let _guard = guard;
                                started.fetch_add(1, Ordering::SeqCst);
                                filch::sleep(Duration::from_secs(3600)).await;
                                Ok(())
                            });
                        }
                        std::future::pending::<Result<(), ()>>().await
                    })
                    .await
                    .map_err(|_| ())
                });
            }
            std::future::pending::<Result<(), ()>>().await
        });
        let timed_out = filch::timeout(ms(50), parent).await;
        assert!(timed_out.is_err());
        assert!(
            spin_until(Duration::from_secs(5), || count(&d0) == 6),
            "{}",
            count(&d0)
        );
    });
    assert_eq!(count(&started), 6);
    assert_eq!(count(&drops), 6);
}

#[test]
fn a_failing_grandchild_fails_the_nested_group_which_fails_the_parent() {
    let err = filch::run(async {
        TaskGroup::<(), String>::scope(|group| async move {
            group.spawn_named("nested", async {
                TaskGroup::<(), String>::scope(|nested| async move {
                    nested.spawn_named("leaf", async { Err("leaf failed".to_owned()) });
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())
            });
            Ok(())
        })
        .await
        .unwrap_err()
    });
    let text = err.to_string();
    assert!(
        text.contains("\"nested\" failed: a task group failed: "),
        "{text}"
    );
    assert!(text.contains("\"leaf\" failed: leaf failed"), "{text}");
}

#[test]
fn scope_cancel_stops_everything() {
    let err = filch::run(async {
        TaskGroup::<(), ()>::scope(|group| async move {
            group.spawn(async {
                std::future::pending::<()>().await;
                Ok(())
            });
            group.cancel();
            std::future::pending::<Result<(), ()>>().await
        })
        .await
        .unwrap_err()
    });
    assert!(err.is_cancelled());
}

#[test]
fn a_supervisor_scope_keeps_the_body_and_children_running() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let err = filch::run(async move {
        TaskGroup::<(), String>::supervisor()
            .run(|group| async move {
                group.spawn(async { Err("one".to_owned()) });
                let d2 = d.clone();
                group.spawn(async move {
                    filch::sleep(ms(20)).await;
                    d2.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                filch::sleep(ms(10)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await
            .unwrap_err()
    });
    assert_eq!(
        count(&done),
        2,
        "neither the body nor the sibling was cancelled"
    );
    assert_eq!(err.len(), 1);
}

#[test]
fn a_scope_handle_kept_past_its_scope_cannot_spawn() {
    let kept = Arc::new(Mutex::new(None));
    let k = kept.clone();
    let err = filch::run(async move {
        TaskGroup::<(), ()>::scope(|group| async move {
            *k.lock().unwrap() = Some(group);
            Ok(())
        })
        .await
        .unwrap();
        let leaked = kept.lock().unwrap().take().unwrap();
        // Spawning through it panics with a clear message (here inside a task, to observe it).
        filch::spawn(async move { leaked.spawn(async { Ok(()) }) })
            .await
            .unwrap_err()
    });
    assert!(err.is_panic());
    assert!(
        err.to_string()
            .contains("spawn called after the group finished"),
        "{err}"
    );
}

#[test]
fn a_body_that_cancels_its_own_childless_scope_is_dropped() {
    // Regression: the scope registered its waker only when children were left, so a body that
    // called `cancel()` with no child running, then pended, hung the scope for ever.
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let err = common::within(
        Duration::from_secs(10),
        "self-cancelling scope",
        move || {
            filch::run(async move {
                TaskGroup::<(), ()>::scope(|group| async move {
                    let _body = DropGuard(d);
                    filch::yield_now().await;
                    group.cancel();
                    std::future::pending::<Result<(), ()>>().await
                })
                .await
                .unwrap_err()
            })
        },
    );
    assert!(err.is_cancelled());
    assert_eq!(count(&dropped), 1);
}

#[test]
fn a_child_failing_while_the_body_runs_its_first_poll_still_cancels_the_body() {
    // The child fails on another worker while the body is still in its first poll (before the
    // scope ever returned Pending): the body must still be dropped.
    for _ in 0..50 {
        let out = common::within(Duration::from_secs(10), "first-poll failure", || {
            filch::run(async {
                TaskGroup::<(), &str>::scope(|group| async move {
                    let failed = Arc::new(AtomicUsize::new(0));
                    let f = failed.clone();
                    group.spawn(async move {
                        f.store(1, Ordering::SeqCst);
                        Err("child failed")
                    });
                    // Busy until the child has failed, without yielding.
                    spin_until(Duration::from_secs(5), || {
                        failed.load(Ordering::SeqCst) == 1
                    });
                    std::future::pending::<Result<(), &str>>().await
                })
                .await
                .unwrap_err()
            })
        });
        assert_eq!(out.errors().collect::<Vec<_>>(), [&"child failed"]);
    }
}
