//! `as_completed`: completion order, parallel progress, panics, and abort on drop.

mod common;

use common::{runtime, spin_until, DropGuard};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn outputs_come_in_completion_order() {
    let order = filch::run(async {
        let mut done = filch::as_completed([40u64, 0, 20, 60].map(|ms| async move {
            filch::sleep(Duration::from_millis(ms)).await;
            ms
        }));
        assert_eq!(done.len(), 4);
        let mut order = Vec::new();
        while let Some(ms) = done.next().await {
            order.push(ms.unwrap());
        }
        assert!(done.is_empty());
        order
    });
    assert_eq!(order, [0, 20, 40, 60]);
}

#[test]
fn it_is_a_stream() {
    let mut sum = filch::run(async {
        filch::as_completed((1..=100u64).map(|i| async move { i }))
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .await
    });
    sum.sort_unstable();
    assert_eq!(sum, (1..=100).collect::<Vec<_>>());
}

#[test]
fn the_tasks_make_progress_while_the_consumer_is_busy() {
    // The consumer does not poll for 100 ms; the tasks still run meanwhile (they are tasks).
    let finished = Arc::new(AtomicUsize::new(0));
    let rt = runtime(2, "as-completed");
    let seen = finished.clone();
    rt.block_on(async move {
        let mut done = filch::as_completed((0..4).map(|_| {
            let finished = seen.clone();
            async move {
                finished.fetch_add(1, Ordering::SeqCst);
            }
        }));
        let ran = spin_until(Duration::from_secs(5), || seen.load(Ordering::SeqCst) == 4);
        assert!(ran, "the tasks ran while the consumer was busy");
        while done.next().await.is_some() {}
    });
    assert_eq!(finished.load(Ordering::SeqCst), 4);
}

#[test]
fn a_panicking_task_gives_an_error_item() {
    let results = filch::run(async {
        let mut done = filch::as_completed([false, true].map(|fail| async move {
            if fail {
                panic!("task failed on purpose");
            }
            1
        }));
        let mut results = Vec::new();
        while let Some(r) = done.next().await {
            results.push(r.map_err(|e| e.is_panic()));
        }
        results
    });
    assert!(results.contains(&Ok(1)));
    assert!(results.contains(&Err(true)));
}

#[test]
fn dropping_it_aborts_the_tasks_not_yet_taken() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    filch::run(async move {
        let mut done = filch::as_completed((0..5u64).map(|i| {
            let guard = DropGuard(counted.clone());
            async move {
                let _guard = guard;
                if i > 0 {
                    filch::sleep(Duration::from_secs(3600)).await;
                }
                i
            }
        }));
        assert_eq!(done.next().await.unwrap().unwrap(), 0);
        drop(done);
        // The four sleeping tasks are cancelled (their futures dropped) without waiting an hour.
        let all = spin_until(Duration::from_secs(5), || {
            counted.load(Ordering::SeqCst) == 5
        });
        assert!(all, "aborted tasks dropped their futures");
    });
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn next_is_cancel_safe_in_select() {
    let got = filch::run(async {
        let mut done = filch::as_completed([10u64, 30].map(|ms| async move {
            filch::sleep(Duration::from_millis(ms)).await;
            ms
        }));
        let mut got = Vec::new();
        while got.len() < 2 {
            filch::select! {
                Some(r) = done.next() => got.push(r.unwrap()),
                _ = filch::sleep(Duration::from_millis(1)) => {}
            }
        }
        got
    });
    assert_eq!(got, [10, 30]);
}
