//! `wait`: FirstCompleted, FirstError, AllCompleted and the timeout.

use filch::ReturnWhen;
use std::time::Duration;

type Task = filch::JoinHandle<Result<u64, String>>;

fn sleeper(ms: u64, fail: bool) -> Task {
    filch::spawn(async move {
        filch::sleep(Duration::from_millis(ms)).await;
        if fail {
            Err(format!("{ms} failed"))
        } else {
            Ok(ms)
        }
    })
}

fn values(done: Vec<(usize, filch::TaskResult<u64, String>)>) -> Vec<(usize, Result<u64, String>)> {
    done.into_iter().map(|(i, r)| (i, r.unwrap())).collect()
}

#[test]
fn first_completed_returns_the_first_task_and_the_rest_still_running() {
    filch::run(async {
        let waited = filch::wait(
            [
                sleeper(1_000, false),
                sleeper(5, false),
                sleeper(2_000, false),
            ],
            ReturnWhen::FirstCompleted,
        )
        .await;
        assert_eq!(values(waited.done), [(1, Ok(5))]);
        let pending: Vec<usize> = waited.pending.iter().map(|(i, _)| *i).collect();
        assert_eq!(pending, [0, 2]);
        // The pending handles are live tasks: wait on them again.
        let rest = filch::wait(
            waited.pending.into_iter().map(|(_, h)| h),
            ReturnWhen::AllCompleted,
        )
        .await;
        assert_eq!(values(rest.done), [(0, Ok(1_000)), (1, Ok(2_000))]);
        assert!(rest.pending.is_empty());
    });
}

#[test]
fn first_error_returns_at_the_first_err_or_panic() {
    filch::run(async {
        let waited = filch::wait(
            [sleeper(5, false), sleeper(30, true), sleeper(60_000, false)],
            ReturnWhen::FirstError,
        )
        .await;
        assert_eq!(
            values(waited.done),
            [(0, Ok(5)), (1, Err("30 failed".to_owned()))]
        );
        assert_eq!(waited.pending.len(), 1);
        waited.pending[0].1.abort();

        let panicking: Task = filch::spawn(async { panic!("boom") });
        let waited = filch::wait([sleeper(60_000, false), panicking], ReturnWhen::FirstError).await;
        assert_eq!(waited.done.len(), 1);
        assert!(waited.done[0].1.as_ref().unwrap_err().is_panic());
        waited.pending[0].1.abort();
    });
}

#[test]
fn first_error_without_errors_waits_for_all() {
    filch::run(async {
        let waited = filch::wait(
            [sleeper(20, false), sleeper(5, false)],
            ReturnWhen::FirstError,
        )
        .await;
        assert_eq!(values(waited.done), [(1, Ok(5)), (0, Ok(20))]);
        assert!(waited.pending.is_empty());
    });
}

#[test]
fn all_completed_waits_for_every_task() {
    filch::run(async {
        let waited = filch::wait(
            (0..50).map(|i| sleeper(i % 7, i % 5 == 0)),
            ReturnWhen::AllCompleted,
        )
        .await;
        assert_eq!(waited.done.len(), 50);
        let errors = waited
            .done
            .iter()
            .filter(|(_, r)| r.as_ref().unwrap().is_err())
            .count();
        assert_eq!(errors, 10);
    });
}

#[test]
fn the_timeout_returns_what_finished_by_then() {
    filch::run(async {
        let waited = filch::wait(
            [sleeper(5, false), sleeper(10_000, false)],
            ReturnWhen::AllCompleted,
        )
        .timeout(Duration::from_millis(100))
        .await;
        assert_eq!(values(waited.done), [(0, Ok(5))]);
        assert_eq!(waited.pending.len(), 1);
        assert!(!waited.pending[0].1.is_finished());
        waited.pending[0].1.abort();
    });
}

#[test]
fn tasks_that_finished_together_are_all_done() {
    filch::run(async {
        let handles: Vec<Task> = (0..3).map(|i| filch::spawn(async move { Ok(i) })).collect();
        // Let all three finish before waiting.
        while !handles.iter().all(|h| h.is_finished()) {
            filch::yield_now().await;
        }
        let waited = filch::wait(handles, ReturnWhen::FirstCompleted).await;
        assert_eq!(waited.done.len(), 3);
        assert!(waited.pending.is_empty());
    });
}

/// Regression: reading the outputs of finished tasks spent the cooperative budget, so `wait` over
/// 200 finished handles reported 128 done and 72 pending. Every finished task is in `done`.
#[test]
fn every_finished_task_is_reported_done_however_many() {
    filch::run(async {
        for when in [
            ReturnWhen::AllCompleted,
            ReturnWhen::FirstCompleted,
            ReturnWhen::FirstError,
        ] {
            let tasks: Vec<Task> = (0..200u64)
                .map(|i| filch::spawn(async move { Ok(i) }))
                .collect();
            // Let every task finish before `wait` looks at them.
            while !tasks.iter().all(|t| t.is_finished()) {
                filch::sleep(Duration::from_millis(1)).await;
            }
            let waited = filch::wait(tasks, when).await;
            assert_eq!(waited.done.len(), 200, "{when:?}");
            assert!(waited.pending.is_empty(), "{when:?}");
        }
    });
}
