//! `filch::sync`'s locks and limits: `Mutex`, `RwLock`, `Semaphore`, `Barrier`, `OnceCell`. Mutual
//! exclusion across awaits, owned guards, cancel safety, the cooperative budget.

use filch::sync::{Barrier, Mutex, OnceCell, RwLock, Semaphore};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// 50 tasks each increment a counter 100 times with a yield between the read and the write,
/// holding the guard across it: no increment is lost, and no two tasks are ever inside at once.
#[test]
fn a_mutex_excludes_across_awaits() {
    let (count, max_inside) = filch::run(async {
        let counter = Arc::new(Mutex::new(0u32));
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (counter, inside, max_inside) =
                    (counter.clone(), inside.clone(), max_inside.clone());
                filch::spawn(async move {
                    for _ in 0..100 {
                        let mut guard = counter.lock().await;
                        let now = inside.fetch_add(1, SeqCst) + 1;
                        max_inside.fetch_max(now, SeqCst);
                        let read = *guard;
                        filch::yield_now().await;
                        *guard = read + 1;
                        inside.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in filch::join_all(tasks).await {
            t.unwrap();
        }
        let count = *counter.lock().await;
        (count, max_inside.load(SeqCst))
    });
    assert_eq!(count, 5_000);
    assert_eq!(max_inside, 1);
}

#[test]
fn owned_guards_move_into_tasks_and_try_lock_sees_them() {
    filch::run(async {
        let m = Arc::new(Mutex::new(vec![1]));
        let guard = m.clone().lock_owned().await;
        assert!(m.try_lock().is_none());
        assert!(m.clone().try_lock_owned().is_none());
        let t = filch::spawn(async move {
            let mut guard = guard;
            guard.push(2);
            filch::sleep(Duration::from_millis(5)).await;
        });
        // Waits for the guard the task holds.
        let v = m.lock().await.clone();
        assert_eq!(v, [1, 2]);
        t.await.unwrap();
        assert_eq!(format!("{:?}", m.try_lock().unwrap()), "[1, 2]");
        let m = Arc::try_unwrap(m).unwrap();
        assert_eq!(m.into_inner(), [1, 2]);
    });
}

/// Cancel safety: a `lock()` that loses a `select!` (or a timeout) holds nothing afterwards, and
/// the lock is usable by the next task.
#[test]
fn a_lock_that_loses_a_race_holds_nothing() {
    filch::run(async {
        let m = Arc::new(Mutex::new(0));
        let holder = m.clone().lock_owned().await;
        for _ in 0..100 {
            let timed_out = filch::timeout(Duration::from_micros(50), m.lock()).await;
            assert!(timed_out.is_err());
        }
        drop(holder);
        *filch::timeout(Duration::from_secs(5), m.lock())
            .await
            .expect("a cancelled lock() kept its place or the lock") += 1;
        assert_eq!(*m.try_lock().unwrap(), 1);
    });
}

/// The budget: on one worker, a task that locks a free mutex in a loop still lets a queued task
/// run before the loop ends.
#[test]
fn locking_a_free_mutex_in_a_loop_still_yields_the_worker() {
    let rt = filch::Builder::new().worker_threads(1).build().unwrap();
    let midway = rt.block_on(rt.spawn(async {
        let other_ran = Arc::new(AtomicBool::new(false));
        let other = filch::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.store(true, SeqCst) }
        });
        let m = Mutex::new(0u32);
        let mut midway = false;
        for i in 0..5_000 {
            *m.lock().await += 1;
            midway |= i < 4_000 && other_ran.load(SeqCst);
        }
        other.await.unwrap();
        midway
    }));
    assert!(midway.unwrap(), "Mutex::lock did not spend the budget");
}

#[test]
fn readers_share_and_a_writer_excludes() {
    filch::run(async {
        let lock = Arc::new(RwLock::new(0));
        let r1 = lock.read().await;
        let r2 = lock.try_read().expect("readers share");
        assert!(lock.try_write().is_none());
        let writer = filch::spawn({
            let lock = lock.clone();
            async move {
                *lock.write().await += 1;
            }
        });
        filch::sleep(Duration::from_millis(5)).await;
        assert!(!writer.is_finished(), "a writer got in past two readers");
        assert_eq!(*r1 + *r2, 0);
        drop((r1, r2));
        writer.await.unwrap();
        let w = lock.clone().write_owned().await;
        assert!(lock.try_read().is_none());
        drop(w);
        assert_eq!(*lock.clone().read_owned().await, 1);
    });
}

/// At most `n` tasks hold a permit at once, every task gets one eventually, and owned permits
/// go back when the task that holds them ends.
#[test]
fn a_semaphore_limits_concurrency() {
    let max = filch::run(async {
        let sem = Arc::new(Semaphore::new(4));
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
                filch::spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    max.fetch_max(inside.fetch_add(1, SeqCst) + 1, SeqCst);
                    if i % 3 == 0 {
                        filch::sleep(Duration::from_micros(300)).await;
                    } else {
                        filch::yield_now().await;
                    }
                    inside.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for t in filch::join_all(tasks).await {
            t.unwrap();
        }
        assert_eq!(sem.available_permits(), 4);
        max.load(SeqCst)
    });
    assert!(max <= 4, "{max} tasks held a permit at once");
    assert!(max >= 2, "the permits were never used concurrently ({max})");
}

#[test]
fn permits_can_be_forgotten_added_and_tried() {
    filch::run(async {
        let sem = Arc::new(Semaphore::new(1));
        let p = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_none());
        p.forget();
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(2);
        let a = sem.try_acquire_owned().unwrap();
        let b = sem.acquire().await;
        assert!(sem.try_acquire().is_none());
        // Cancel safety: an acquire that times out holds no permit.
        assert!(filch::timeout(Duration::from_millis(2), sem.acquire())
            .await
            .is_err());
        drop((a, b));
        assert_eq!(sem.available_permits(), 2);
    });
}

/// Three rounds of five tasks: each round releases all five together, with one leader.
#[test]
fn a_barrier_releases_rounds_with_one_leader_each() {
    filch::run(async {
        let barrier = Arc::new(Barrier::new(5));
        let arrived = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let (barrier, arrived) = (barrier.clone(), arrived.clone());
                filch::spawn(async move {
                    let mut leaders = 0;
                    for round in 0..3 {
                        arrived.fetch_add(1, SeqCst);
                        let r = barrier.wait().await;
                        // Nobody passes before the whole round arrived.
                        assert!(arrived.load(SeqCst) >= (round + 1) * 5);
                        leaders += usize::from(r.is_leader());
                    }
                    leaders
                })
            })
            .collect();
        let leaders: usize = filch::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert_eq!(leaders, 3);
    });
}

/// Racing initialisers: exactly one runs; a failing one leaves the cell empty for the next.
#[test]
fn a_once_cell_runs_one_initialiser() {
    filch::run(async {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let failed: Result<&u32, &str> = cell.get_or_try_init(|| async { Err("no") }).await;
        assert_eq!(failed, Err("no"));
        assert!(!cell.initialized());
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (cell, runs) = (cell.clone(), runs.clone());
                filch::spawn(async move {
                    *cell
                        .get_or_init(|| async move {
                            runs.fetch_add(1, SeqCst);
                            filch::sleep(Duration::from_millis(2)).await;
                            i
                        })
                        .await
                })
            })
            .collect();
        let values: Vec<u32> = filch::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(runs.load(SeqCst), 1);
        assert!(values.iter().all(|v| *v == values[0]));
        assert_eq!(cell.set(99), Err(99));
        assert_eq!(cell.get(), Some(&values[0]));
    });
}
