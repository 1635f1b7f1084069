//! Faults around shutdown: wakers that outlive their task and their runtime, woken from
//! destructors and from other runtimes' threads; destructors that panic; runtimes created and
//! dropped inside tasks and blocking jobs, from their own tasks, and from many threads at once. Nothing may hang, touch freed
//! memory or leak: `.ci/run` runs these under AddressSanitizer and LeakSanitizer too.

mod common;

use common::{runtime, within, DropGuard};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// A future that hands out its waker once and then stays pending; on drop runs `on_drop`.
struct Hand<F: FnMut() + Send> {
    tx: Option<mpsc::Sender<Waker>>,
    on_drop: F,
}
impl<F: FnMut() + Send + Unpin> Future for Hand<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(cx.waker().clone());
        }
        Poll::Pending
    }
}
impl<F: FnMut() + Send> Drop for Hand<F> {
    fn drop(&mut self) {
        (self.on_drop)();
    }
}

/// Task A's future, when cancelled at shutdown, wakes (by value) task B, clones and drops wakers of
/// both, and wakes itself. Nothing may leak, hang, or touch freed memory.
#[test]
fn destructors_that_wake_sibling_tasks_during_shutdown_are_harmless() {
    within(LIMIT, "wakes from destructors", || {
        for round in 0..50 {
            let rt = runtime(if round % 2 == 0 { 1 } else { 3 }, "fault-dtor-wake");
            let (tx, rx) = mpsc::channel();
            let slot: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::new()));
            let dropped = Arc::new(AtomicUsize::new(0));
            for _ in 0..8 {
                let slot = slot.clone();
                let guard = DropGuard(dropped.clone());
                let _detached = rt.spawn(Hand {
                    tx: Some(tx.clone()),
                    on_drop: move || {
                        let _g = &guard;
                        let wakers: Vec<Waker> = std::mem::take(&mut *slot.lock().unwrap());
                        for w in wakers {
                            let c = w.clone();
                            w.wake_by_ref();
                            w.wake();
                            drop(c);
                        }
                    },
                });
            }
            for _ in 0..8 {
                let w = rx.recv_timeout(LIMIT).unwrap();
                slot.lock().unwrap().push(w.clone());
                slot.lock().unwrap().push(w);
            }
            drop(rt);
            assert_eq!(dropped.load(Ordering::SeqCst), 8);
            // What was not taken by a destructor is dropped here, after the runtime.
            slot.lock().unwrap().clear();
        }
    });
}

/// A future whose destructor panics, cancelled at shutdown: the drop of the runtime must finish
/// and every other future must still be dropped.
#[test]
fn a_destructor_that_panics_at_shutdown_does_not_stop_the_others() {
    within(LIMIT, "panicking destructor", || {
        let rt = runtime(2, "fault-dtor-panic");
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for i in 0..20 {
            let guard = DropGuard(dropped.clone());
            let _detached = rt.spawn(Hand {
                tx: Some(tx.clone()),
                on_drop: move || {
                    let _g = &guard;
                    if i % 3 == 0 {
                        panic!("boom in drop {i}");
                    }
                },
            });
        }
        for _ in 0..20 {
            rx.recv_timeout(LIMIT).unwrap();
        }
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 20);
    });
}

/// Runtimes created, used and dropped inside tasks of another runtime, and a runtime dropped from
/// a task of its own while tasks and timers are live.
#[test]
fn runtimes_created_and_dropped_inside_tasks_and_by_their_own_tasks() {
    within(LIMIT, "nested runtimes", || {
        let outer = runtime(2, "fault-outer");
        outer.block_on(async {
            let mut joins = Vec::new();
            for i in 0..4 {
                joins.push(filch::spawn_blocking(move || {
                    let inner = runtime(1 + i % 2, "fault-inner");
                    let j = inner.spawn(async move {
                        filch::sleep(Duration::from_millis(5)).await;
                        i
                    });
                    // A task that never ends and holds a timer.
                    let _p = inner.spawn(async {
                        filch::sleep(Duration::from_secs(3600)).await;
                    });
                    let v = inner.block_on(j).unwrap();
                    drop(inner);
                    v
                }));
            }
            for (i, j) in joins.into_iter().enumerate() {
                assert_eq!(j.await.unwrap(), i);
            }
        });
        drop(outer);

        // Dropped from inside one of its own tasks.
        for _ in 0..10 {
            let rt = runtime(2, "fault-self-drop");
            let holder = Arc::new(Mutex::new(None::<filch::Runtime>));
            let (done_tx, done_rx) = mpsc::channel();
            let h = holder.clone();
            let _detached = rt.spawn(async {
                filch::sleep(Duration::from_secs(3600)).await;
            });
            *holder.lock().unwrap() = Some(rt);
            let rt_ref = holder.lock().unwrap();
            let j = rt_ref.as_ref().unwrap().spawn(async move {
                filch::sleep(Duration::from_millis(1)).await;
                let rt = h.lock().unwrap().take();
                drop(rt);
                done_tx.send(()).unwrap();
            });
            drop(rt_ref);
            done_rx.recv_timeout(LIMIT).unwrap();
            drop(j);
        }
        // Let the detached workers exit before the leak check at exit.
        std::thread::sleep(Duration::from_millis(300));
    });
}

/// Eight plain threads each build, use and drop runtimes over and over at the same time, with
/// tasks that sleep, a listener that is never accepted from, and a task left pending: every
/// runtime's tasks finish with their own values, every drop completes (the pending task and its
/// listener are cancelled), and nothing leaks (LeakSanitizer in CI).
#[test]
fn runtimes_built_and_dropped_from_many_threads_at_once() {
    within(LIMIT, "runtimes from many threads", || {
        let threads: Vec<_> = (0..8usize)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..10usize {
                        let rt = runtime(1 + (t + round) % 3, "fault-many");
                        let value = rt.block_on(async move {
                            let listener = filch::net::TcpListener::bind("127.0.0.1:0")
                                .await
                                .expect("bind on loopback");
                            let _pending = filch::spawn(async move {
                                let _listener = listener;
                                filch::sleep(Duration::from_secs(3600)).await;
                            });
                            let joins: Vec<_> = (0..10usize)
                                .map(|i| {
                                    filch::spawn(async move {
                                        filch::sleep(Duration::from_micros(100 * i as u64)).await;
                                        i
                                    })
                                })
                                .collect();
                            let mut sum = 0;
                            for join in joins {
                                sum += join.await.unwrap();
                            }
                            sum + t * 1000 + round
                        });
                        assert_eq!(value, 45 + t * 1000 + round);
                        drop(rt);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a runtime thread panicked");
        }
    });
}

/// A waker of a task of runtime A kept after A is dropped, woken and dropped on a worker of
/// runtime B and on a blocking thread of B (the last reference to A's state goes there).
#[test]
fn the_last_reference_to_a_runtime_can_go_on_another_runtimes_threads() {
    within(LIMIT, "late wakers", || {
        for _ in 0..20 {
            let a = runtime(1, "fault-late-a");
            let (tx, rx) = mpsc::channel();
            let _detached = a.spawn(Hand {
                tx: Some(tx.clone()),
                on_drop: || {},
            });
            let _detached = a.spawn(Hand {
                tx: Some(tx),
                on_drop: || {},
            });
            let w1 = rx.recv_timeout(LIMIT).unwrap();
            let w2 = rx.recv_timeout(LIMIT).unwrap();
            drop(a);
            let b = runtime(2, "fault-late-b");
            let j1 = b.spawn(async move {
                w1.wake();
            });
            let j2 = b.spawn_blocking(move || {
                w2.wake_by_ref();
                drop(w2);
            });
            b.block_on(async {
                j1.await.unwrap();
                j2.await.unwrap();
            });
        }
    });
}

/// A future whose destructor panics: dropped in place by `panic!` inside `Drop`.
struct PanicsOnDrop(Arc<AtomicUsize>);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("a destructor that panics");
    }
}

/// Aborting a task whose future panics in its destructor: the panic is contained and reported
/// through the join handle, and the worker that dropped it runs the next task.
#[test]
fn a_destructor_that_panics_at_abort_is_reported_and_the_worker_survives() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let rt = runtime(1, "fault-abort-panic");
    let err = within(LIMIT, "abort panic", move || {
        rt.block_on(async move {
            let guard = PanicsOnDrop(counted);
            let task = filch::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            filch::yield_now().await;
            task.abort();
            let err = task.await.unwrap_err();
            // The only worker is still there.
            assert_eq!(filch::spawn(async { 7 }).await.unwrap(), 7);
            err
        })
    });
    assert!(err.is_panic(), "{err}");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// A group's siblings cancelled by a failure, their destructors panicking: every destructor
/// runs, the panics come back in the group's error, and the workers survive.
#[test]
fn destructors_that_panic_at_group_cancellation_are_reported_and_the_workers_survive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    let rt = runtime(2, "fault-group-panic");
    let err = within(LIMIT, "group cancel panic", move || {
        rt.block_on(async move {
            let group = filch::TaskGroup::<(), String>::new();
            for _ in 0..4 {
                let guard = PanicsOnDrop(counted.clone());
                group.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok(())
                });
            }
            group.spawn(async {
                filch::sleep(Duration::from_millis(5)).await;
                Err("the failure".to_owned())
            });
            let err = group.join().await.unwrap_err();
            assert_eq!(filch::spawn(async { 7 }).await.unwrap(), 7);
            err
        })
    });
    assert_eq!(drops.load(Ordering::SeqCst), 4, "every destructor ran");
    let panics = err.failures().iter().filter(|f| f.is_panic()).count();
    assert_eq!(panics, 4, "{err}");
    assert!(err.failures().iter().any(|f| !f.is_panic()), "{err}");
}
