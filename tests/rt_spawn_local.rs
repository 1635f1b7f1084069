//! `spawn_local`: tasks with non-`Send` futures and outputs, run by the thread in `block_on` on
//! both flavours; woken from anywhere; cancelled (on their own thread) when the `block_on`
//! ends; a clear panic where no `block_on` runs.

mod common;

use common::{panic_message, within};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, ThreadId};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn runtimes() -> Vec<(&'static str, filch::Runtime)> {
    vec![
        (
            "current_thread",
            filch::Builder::new_current_thread().build().unwrap(),
        ),
        (
            "multi_thread",
            filch::Builder::new().worker_threads(2).build().unwrap(),
        ),
    ]
}

#[test]
fn local_tasks_share_an_rc_and_run_on_the_block_on_thread() {
    within(LIMIT, "spawn_local: Rc", || {
        for (flavor, rt) in runtimes() {
            let caller = thread::current().id();
            let (sum, threads) = rt.block_on(async {
                let total = Rc::new(Cell::new(0u64));
                let threads = Rc::new(RefCell::new(Vec::new()));
                let handles: Vec<_> = (1..=1000u64)
                    .map(|i| {
                        let total = total.clone();
                        let threads = threads.clone();
                        filch::spawn_local(async move {
                            if i % 3 == 0 {
                                filch::yield_now().await;
                            }
                            total.set(total.get() + i);
                            threads.borrow_mut().push(thread::current().id());
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
                let threads = threads.borrow().clone();
                (total.get(), threads)
            });
            assert_eq!(sum, 500_500, "{flavor}");
            assert!(threads.iter().all(|t| *t == caller), "{flavor}");
        }
    });
}

#[test]
fn a_non_send_output_comes_back_through_the_join_handle() {
    within(LIMIT, "spawn_local: Rc output", || {
        for (flavor, rt) in runtimes() {
            let value = rt.block_on(async {
                let handle = filch::spawn_local(async { Rc::new(41) });
                let rc = handle.await.unwrap();
                *rc + 1
            });
            assert_eq!(value, 42, "{flavor}");
        }
    });
}

#[test]
fn local_tasks_are_woken_from_workers_and_plain_threads() {
    within(LIMIT, "spawn_local: remote wakes", || {
        for (flavor, rt) in runtimes() {
            let got = rt.block_on(async {
                let marker = Rc::new(());
                let (tx, rx) = futures_channel::oneshot::channel::<u32>();
                let from_thread = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    tx.send(1).unwrap();
                });
                let local = {
                    let marker = marker.clone();
                    filch::spawn_local(async move {
                        let _marker = marker;
                        // Woken by a regular task (a worker on the multi-thread flavour)...
                        let a = filch::spawn(async {
                            filch::sleep(Duration::from_millis(5)).await;
                            1u32
                        })
                        .await
                        .unwrap();
                        // ...and by a plain thread.
                        let b = rx.await.unwrap();
                        a + b
                    })
                };
                let got = local.await.unwrap();
                from_thread.join().unwrap();
                got
            });
            assert_eq!(got, 2, "{flavor}");
        }
    });
}

#[test]
fn on_a_current_thread_runtime_any_task_may_spawn_local() {
    within(LIMIT, "spawn_local: from a task", || {
        let rt = filch::Builder::new_current_thread().build().unwrap();
        let got = rt.block_on(async {
            filch::spawn(async {
                // A Send task spawning a non-Send one: fine, all run on this thread.
                let handle = filch::spawn_local(async {
                    let rc = Rc::new(5);
                    filch::yield_now().await;
                    *rc
                });
                handle.await.unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(got, 5);
    });
}

#[test]
fn spawn_local_on_a_worker_thread_panics_with_a_clear_message() {
    within(LIMIT, "spawn_local: on a worker", || {
        let rt = filch::Builder::new().worker_threads(2).build().unwrap();
        let err = rt
            .block_on(async {
                filch::spawn(async {
                    drop(filch::spawn_local(async {}));
                })
                .await
            })
            .unwrap_err();

        let message = panic_message(&*err.into_panic());
        assert!(
            message.contains("spawn_local called outside a block_on"),
            "{message}"
        );
        assert!(message.contains("filch::spawn"), "{message}");
    });
}

#[test]
fn spawn_local_outside_a_runtime_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| {
        drop(filch::spawn_local(async {}));
    })
    .unwrap_err();
    let message = panic_message(&*err);
    assert!(
        message.contains("spawn_local called outside a block_on"),
        "{message}"
    );
}

/// Counts its drops and records the thread it was dropped on.
struct DropsOn {
    dropped: Arc<AtomicUsize>,
    tx: mpsc::Sender<ThreadId>,
    _not_send: Rc<()>,
}

impl Drop for DropsOn {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(thread::current().id());
    }
}

#[test]
fn local_tasks_left_when_block_on_returns_are_cancelled_on_its_thread() {
    within(LIMIT, "spawn_local: cancelled at the end", || {
        for (flavor, rt) in runtimes() {
            let dropped = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = mpsc::channel();
            let caller = thread::current().id();
            let (handles, waker_rx) = rt.block_on({
                let dropped = dropped.clone();
                async move {
                    let (waker_tx, waker_rx) = mpsc::channel();
                    let mut handles = Vec::new();
                    for i in 0..10 {
                        let guard = DropsOn {
                            dropped: dropped.clone(),
                            tx: tx.clone(),
                            _not_send: Rc::new(()),
                        };
                        let waker_tx = waker_tx.clone();
                        handles.push(filch::spawn_local(async move {
                            let _guard = guard;
                            if i == 0 {
                                // Leave a waker behind, to be woken after the block_on.
                                std::future::poll_fn(|cx| {
                                    let _ = waker_tx.send(cx.waker().clone());
                                    std::task::Poll::<()>::Pending
                                })
                                .await;
                            }
                            filch::sleep(Duration::from_secs(3600)).await;
                        }));
                    }
                    filch::sleep(Duration::from_millis(5)).await;
                    (handles, waker_rx)
                }
            });
            assert_eq!(dropped.load(Ordering::SeqCst), 10, "{flavor}");
            for _ in 0..10 {
                assert_eq!(
                    rx.recv().unwrap(),
                    caller,
                    "{flavor}: dropped on another thread"
                );
            }
            for handle in handles {
                assert!(handle.is_finished());
                assert!(rt.block_on(handle).unwrap_err().is_cancelled(), "{flavor}");
            }
            // A waker of a cancelled local task, woken from another thread: harmless.
            let waker = waker_rx.recv().unwrap();
            thread::spawn(move || waker.wake()).join().unwrap();
        }
    });
}

#[test]
fn aborting_a_local_task_drops_its_future_on_its_thread() {
    within(LIMIT, "spawn_local: abort", || {
        for (flavor, rt) in runtimes() {
            let dropped = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = mpsc::channel();
            let caller = thread::current().id();
            rt.block_on({
                let dropped = dropped.clone();
                async move {
                    let guard = DropsOn {
                        dropped,
                        tx,
                        _not_send: Rc::new(()),
                    };
                    let handle = filch::spawn_local(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await;
                    });
                    filch::yield_now().await;
                    // Aborted from a plain thread: the drop still happens here.
                    thread::scope(|s| s.spawn(|| handle.abort()).join()).unwrap();
                    assert!(handle.await.unwrap_err().is_cancelled());
                }
            });
            assert_eq!(dropped.load(Ordering::SeqCst), 1, "{flavor}");
            assert_eq!(rx.recv().unwrap(), caller, "{flavor}");
        }
    });
}

#[test]
fn a_block_on_future_that_yields_in_a_loop_does_not_starve_local_tasks() {
    within(LIMIT, "spawn_local: fairness", || {
        for (_flavor, rt) in runtimes() {
            rt.block_on(async {
                let flag = Rc::new(Cell::new(false));
                let set = flag.clone();
                let _task = filch::spawn_local(async move {
                    for _ in 0..100 {
                        filch::yield_now().await;
                    }
                    set.set(true);
                });
                while !flag.get() {
                    filch::yield_now().await;
                }
            });
        }
    });
}

#[test]
fn a_panicking_local_task_is_reported_and_the_others_go_on() {
    within(LIMIT, "spawn_local: panic", || {
        for (flavor, rt) in runtimes() {
            let (err, ok) = rt.block_on(async {
                let bad = filch::spawn_local(async {
                    let _rc = Rc::new(());
                    panic!("local boom");
                });
                let good = filch::spawn_local(async { Rc::new(3) });
                (bad.await.unwrap_err(), *good.await.unwrap())
            });
            assert_eq!(panic_message(&*err.into_panic()), "local boom", "{flavor}");
            assert_eq!(ok, 3, "{flavor}");
        }
    });
}

#[test]
fn local_tasks_follow_a_paused_clock() {
    within(LIMIT, "spawn_local: paused clock", || {
        let rt = filch::Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        let slept = rt.block_on(async {
            let start = filch::time::now();
            let handle = filch::spawn_local(async move {
                let _rc = Rc::new(());
                filch::sleep(Duration::from_secs(3600)).await;
                filch::time::now() - start
            });
            handle.await.unwrap()
        });
        assert_eq!(slept, Duration::from_secs(3600));
    });
}
