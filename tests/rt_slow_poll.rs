//! Slow polls are reported while they run, with the task's id, name and worker, and again when
//! they return; cooperative tasks never are.

use filch::{Builder, SlowPoll};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A runtime whose slow polls (over `threshold`) arrive on a channel, with the time of the report.
fn watched(threshold: Option<Duration>) -> (filch::Runtime, Receiver<(SlowPoll, Instant)>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |slow| {
            let _ = tx.lock().unwrap().send((slow.clone(), Instant::now()));
        })
        .build()
        .unwrap();
    (rt, rx)
}

#[test]
fn a_blocking_poll_is_reported_before_it_returns_and_again_after() {
    let (rt, reports) = watched(Some(Duration::from_millis(50)));
    let line = line!() + 2;
    let (id, returned) = rt.block_on(async {
        let handle = filch::task::Builder::new().name("blocker").spawn(async {
            std::thread::sleep(Duration::from_millis(300));
            Instant::now()
        });
        let id = handle.id();
        (id, handle.await.unwrap())
    });
    let (running, at) = reports
        .recv_timeout(Duration::from_secs(5))
        .expect("no report");
    assert!(at < returned, "reported only after the poll returned");
    assert!(!running.is_finished());
    assert_eq!(running.id(), id);
    assert_eq!(running.name(), Some("blocker"));
    let location = running.location().expect("the spawn location");
    assert_eq!((location.file(), location.line()), (file!(), line));
    assert!(
        running
            .to_string()
            .contains(&format!("(spawned at {}:{line}:", file!())),
        "{running}"
    );
    assert!(running.worker() < 2);
    assert!(running.elapsed() >= Duration::from_millis(50), "{running}");
    assert!(
        running.to_string().contains("\"blocker\" (spawned at "),
        "{running}"
    );
    let (finished, _) = reports
        .recv_timeout(Duration::from_secs(5))
        .expect("no second report");
    assert!(finished.is_finished());
    assert_eq!(finished.id(), id);
    assert_eq!(finished.worker(), running.worker());
    // Timed from the first reading that saw it to the last: a lower bound, and at least what
    // the first report said (how much short of 300 ms depends on when the watchdog woke: not
    // asserted, on a shared machine).
    assert!(
        finished.elapsed() >= running.elapsed(),
        "{finished} / {running}"
    );
    assert!(
        finished.elapsed() <= Duration::from_millis(300),
        "{finished}"
    );
    assert_eq!(
        finished.name(),
        Some("blocker"),
        "the name outlives the task"
    );
    assert!(
        finished.to_string().contains("returned after at least"),
        "{finished}"
    );
    drop(rt);
    assert!(reports.recv_timeout(Duration::from_millis(100)).is_err());
}

#[test]
fn a_busy_but_cooperative_task_is_never_reported() {
    let (rt, reports) = watched(Some(Duration::from_millis(50)));
    rt.block_on(async {
        filch::spawn(async {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(400) {
                // 1 ms of work, then give the worker back.
                let slice = Instant::now();
                while slice.elapsed() < Duration::from_millis(1) {
                    std::hint::spin_loop();
                }
                filch::yield_now().await;
            }
        })
        .await
        .unwrap();
    });
    // Past a whole period after the end.
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        reports.try_recv().is_err(),
        "a cooperative task was reported"
    );
}

#[test]
fn no_threshold_no_reports() {
    let (rt, reports) = watched(None);
    rt.block_on(async {
        filch::spawn(async { std::thread::sleep(Duration::from_millis(150)) })
            .await
            .unwrap();
    });
    assert!(reports.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn a_current_thread_runtime_is_watched_too() {
    let (tx, reports) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let rt = Builder::new_current_thread()
        .slow_poll_threshold(Some(Duration::from_millis(40)))
        .on_slow_poll(move |slow| {
            let _ = tx.lock().unwrap().send(slow.clone());
        })
        .build()
        .unwrap();
    rt.block_on(async {
        filch::spawn(async { std::thread::sleep(Duration::from_millis(200)) })
            .await
            .unwrap();
    });
    let first = reports
        .recv_timeout(Duration::from_secs(5))
        .expect("no report");
    assert!(!first.is_finished());
    assert_eq!(first.worker(), 0);
    assert_eq!(first.name(), None);
}
