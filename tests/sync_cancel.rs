//! `sync::CancellationToken`: clones share the token, children follow their parent (not the other
//! way), the drop guard, waiters woken across threads, a `cancelled` that loses a `select!`, many
//! children made and dropped, and the cooperative budget.

mod common;

use filch::sync::CancellationToken;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_clone_shares_the_token() {
    let token = CancellationToken::new();
    let clone = token.clone();
    assert!(!token.is_cancelled());
    clone.cancel();
    assert!(token.is_cancelled());
    token.cancel(); // a second cancel does nothing
    assert!(clone.is_cancelled());
}

#[test]
fn cancelling_a_parent_cancels_its_children_at_every_depth() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();
    root.cancel();
    assert!(child.is_cancelled());
    assert!(grandchild.is_cancelled());
    assert!(sibling.is_cancelled());
}

#[test]
fn cancelling_a_child_leaves_its_parent_and_siblings() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();
    child.cancel();
    assert!(child.is_cancelled());
    assert!(grandchild.is_cancelled());
    assert!(!root.is_cancelled());
    assert!(!sibling.is_cancelled());
}

#[test]
fn a_child_of_a_cancelled_token_starts_cancelled() {
    let root = CancellationToken::new();
    root.cancel();
    let child = root.child_token();
    assert!(child.is_cancelled());
    assert!(child.child_token().is_cancelled());
}

/// The middle token is dropped; the grandchild still hears its grandparent's cancel.
#[test]
fn a_grandchild_follows_its_grandparent_after_its_parent_is_dropped() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    drop(child);
    root.cancel();
    assert!(grandchild.is_cancelled());
}

#[test]
fn a_drop_guard_cancels_when_dropped_unless_disarmed() {
    let token = CancellationToken::new();
    let guard = token.clone().drop_guard();
    assert!(!token.is_cancelled());
    drop(guard);
    assert!(token.is_cancelled());

    let token = CancellationToken::new();
    let child = token.child_token();
    let back = token.clone().drop_guard().disarm();
    assert!(!token.is_cancelled());
    back.cancel();
    assert!(token.is_cancelled() && child.is_cancelled());
}

/// A task holding a drop guard is aborted: the guard is dropped with it, and the token cancelled.
#[test]
fn a_drop_guard_in_an_aborted_task_cancels() {
    filch::run(async {
        let token = CancellationToken::new();
        let guard = token.clone().drop_guard();
        let task = filch::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        filch::yield_now().await;
        task.abort();
        let _ = task.await;
        token.cancelled().await;
    });
}

#[test]
fn cancelled_returns_at_once_on_a_cancelled_token_and_waits_otherwise() {
    filch::run(async {
        let token = CancellationToken::new();
        let waiter = filch::spawn({
            let child = token.child_token();
            async move { child.cancelled().await }
        });
        filch::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished());
        token.cancel();
        waiter.await.unwrap();
        token.cancelled().await;
    });
}

/// Many rounds of many waiters, on parents and children, on 4 workers, cancelled from another
/// task: every waiter wakes; a lost wake-up hangs the test.
#[test]
fn every_waiter_wakes_across_threads() {
    common::within(Duration::from_secs(30), "cancel rounds", || {
        let rt = common::runtime(4, "cancel");
        rt.block_on(async {
            let woken = Arc::new(AtomicUsize::new(0));
            for _ in 0..200 {
                let root = CancellationToken::new();
                let waiters: Vec<_> = (0..20)
                    .map(|i| {
                        let token = match i % 3 {
                            0 => root.clone(),
                            1 => root.child_token(),
                            _ => root.child_token().child_token(),
                        };
                        let woken = woken.clone();
                        filch::spawn(async move {
                            token.cancelled().await;
                            assert!(token.is_cancelled());
                            woken.fetch_add(1, Ordering::Relaxed);
                        })
                    })
                    .collect();
                let canceller = filch::spawn({
                    let root = root.clone();
                    async move {
                        filch::yield_now().await;
                        root.cancel();
                    }
                });
                canceller.await.unwrap();
                filch::join_all(waiters).await;
            }
            assert_eq!(woken.load(Ordering::Relaxed), 200 * 20);
        });
    });
}

/// `cancelled` loses a `select!` to a yield again and again; the cancel from another task is
/// still seen.
#[test]
fn a_cancelled_that_loses_a_select_still_sees_the_cancel() {
    common::within(Duration::from_secs(30), "cancel select", || {
        let rt = common::runtime(2, "cancel");
        rt.block_on(async {
            let token = CancellationToken::new();
            let canceller = filch::spawn({
                let token = token.clone();
                async move {
                    filch::sleep(Duration::from_millis(20)).await;
                    token.cancel();
                }
            });
            let mut losses = 0u32;
            loop {
                filch::select! {
                    _ = token.cancelled() => break,
                    _ = filch::yield_now() => losses += 1,
                }
            }
            canceller.await.unwrap();
            assert!(losses > 0, "cancelled never lost the select");
        });
    });
}

/// Children made and dropped in a loop (with a few kept) do not stop the parent from reaching the
/// ones alive; that the parent's list does not grow is checked inside the crate.
#[test]
fn children_made_and_dropped_in_a_loop_leave_the_live_ones_cancellable() {
    let root = CancellationToken::new();
    let mut kept = Vec::new();
    for i in 0..50_000 {
        let child = root.child_token();
        let grandchild = child.child_token();
        if i % 10_000 == 0 {
            kept.push(grandchild);
        }
    }
    assert!(kept.iter().all(|t| !t.is_cancelled()));
    root.cancel();
    assert!(kept.iter().all(CancellationToken::is_cancelled));
}

/// A task awaiting `cancelled` on a cancelled token 1,000 times never waits on its own; the budget
/// must still make it yield to the task queued behind it.
#[test]
fn a_cancelled_loop_on_a_cancelled_token_still_yields() {
    let midway = common::queued_task_runs_during(|b_ran| async move {
        let token = CancellationToken::new();
        token.cancel();
        let mut midway = false;
        for i in 0..1_000u32 {
            token.cancelled().await;
            if i < 999 && b_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: cancelled spent no budget"
    );
}
