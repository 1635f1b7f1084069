//! `timeout` and `timeout_at`: the output in time, `Elapsed` after, and the inner future dropped.

mod common;

use common::DropGuard;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn output_arrives_in_time() {
    filch::run(async {
        let r = filch::timeout(Duration::from_secs(5), async {
            filch::sleep(Duration::from_millis(5)).await;
            "done"
        })
        .await;
        assert_eq!(r, Ok("done"));
    });
}

#[test]
fn elapsed_drops_the_inner_future_before_returning() {
    filch::run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = DropGuard(drops.clone());
        let start = Instant::now();
        let mut t = pin!(filch::timeout(Duration::from_millis(20), async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        let r = (&mut t).await;
        assert!(r.is_err());
        assert!(start.elapsed() >= Duration::from_millis(20), "fired early");
        // The Timeout itself is still alive here: the inner future went first.
        assert_eq!(drops.load(SeqCst), 1);
        // Polling again keeps answering Elapsed.
        let again = std::future::poll_fn(|cx| std::task::Poll::Ready(t.as_mut().poll(cx))).await;
        assert!(matches!(again, std::task::Poll::Ready(Err(_))));
    });
}

#[test]
fn a_ready_future_wins_even_past_the_deadline() {
    filch::run(async {
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(filch::timeout_at(past, async { 3 }).await, Ok(3));
        let r = filch::timeout_at(past, std::future::pending::<()>()).await;
        assert!(r.is_err());
    });
}

#[test]
fn elapsed_is_an_error_and_converts_to_timed_out() {
    filch::run(async {
        let e = filch::timeout(Duration::ZERO, std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn timeout_of_a_spawned_task_lets_the_task_run_on() {
    filch::run(async {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let mut task = filch::spawn(async move {
            filch::sleep(Duration::from_millis(30)).await;
            f.fetch_add(1, SeqCst);
        });
        // Timing out the *wait* on a handle does not cancel the task.
        assert!(filch::timeout(Duration::from_millis(1), &mut task)
            .await
            .is_err());
        task.await.unwrap();
        assert_eq!(finished.load(SeqCst), 1);
    });
}

/// Regression (tokio's `timeout_is_not_exhausted_by_future`): a future that stays ready spends
/// the whole cooperative budget on every poll; the deadline's check was budgeted too, was refused
/// every time, and the timeout never fired. Here the future reads a stream whose peer has closed:
/// every read is ready at once with 0 bytes, and spends a unit of budget.
#[test]
fn a_future_that_uses_up_the_budget_still_times_out() {
    common::within(Duration::from_secs(30), "budget-exhausting timeout", || {
        filch::run(async {
            let listener = filch::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = filch::spawn(filch::net::TcpStream::connect(addr));
            let (peer, _) = listener.accept().await.unwrap();
            let mut stream = client.await.unwrap().unwrap();
            drop(peer);
            let reads = filch::spawn(async move {
                let spin = async {
                    let mut buf = [0u8; 16];
                    loop {
                        // Always ready: the peer is gone, so every read returns 0 at once.
                        let _ = stream.read(&mut buf).await;
                    }
                };
                filch::timeout(Duration::from_millis(1), spin).await
            });
            assert!(reads.await.unwrap().is_err(), "the timeout fired");
        });
    });
}

/// Regression (the far-deadline hang): on a 2-worker runtime with no other timer pending,
/// `timeout(10 ms, sleep(decades))` returned the first time and never the second: the far entry
/// was linked into the wheel's current top-level slot and the driver looped on it.
#[test]
fn a_timeout_around_a_sleep_decades_away_returns_every_time() {
    common::within(Duration::from_secs(30), "far-deadline timeout", || {
        let rt = filch::Builder::new().worker_threads(2).build().unwrap();
        for far in [
            Duration::MAX,
            Duration::from_secs(86_400 * 365 * 25),
            Duration::from_secs(86_400 * 800),
            Duration::from_millis((1 << 36) - 1),
        ] {
            for _ in 0..3 {
                let short = move || filch::timeout(Duration::from_millis(10), filch::sleep(far));
                assert!(rt.block_on(async { short().await }).is_err());
                let task = rt.spawn(async move { short().await });
                assert!(rt.block_on(task).unwrap().is_err());
            }
        }
    });
}
