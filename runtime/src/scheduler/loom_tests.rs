//! Loom models of the park/unpark protocol: whatever the interleaving of a push, the workers'
//! searching and parking, and their wake-ups, a queued task is always run — no wake-up is lost.
//!
//! The workers here follow `Worker::find_task` and `Worker::park` step for step, with the real
//! [`Idle`], the real parker contract (loom's twin of crossbeam's `Parker`) and the loom stand-in of
//! the injector; a lost wake-up shows up as a deadlock, which loom reports. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib scheduler::loom_tests`.

use super::idle::Idle;
use super::park::{ParkSignal, Parker, Unparker};
use super::queue::{Injector, Local};
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

struct Model {
    idle: Idle,
    injector: Injector<usize>,
    unparkers: Vec<Unparker>,
    shutdown: AtomicBool,
    /// Tasks run so far, with a condvar the pushers wait on.
    done: Mutex<usize>,
    done_cv: Condvar,
    runs: AtomicUsize,
}

impl Model {
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify(|_| false, None) {
            self.unparkers[index].unpark();
        }
    }

    fn push(&self, task: usize) {
        self.injector.push(task);
        self.notify_parked();
    }

    fn run(&self, task: usize) {
        if task == WAITS_FOR_ANOTHER {
            // A long poll that waits for other work to be run meanwhile.
            self.wait_done(1);
        }
        self.runs.fetch_add(1, SeqCst);
        *lock(&self.done) += 1;
        self.done_cv.notify_all();
    }

    fn wait_done(&self, n: usize) {
        let mut done = lock(&self.done);
        while *done < n {
            done = self.done_cv.wait(done).unwrap();
        }
    }
}

/// A task whose poll does not return until another task has run.
const WAITS_FOR_ANOTHER: usize = usize::MAX;

/// One worker: its LIFO slot, then find work (injector, then steal as a searcher), or park.
/// `lifo` starts the worker as one just unparked as a searcher that finds a task in its LIFO slot
/// (put there by its own driver turn).
fn worker(model: Arc<Model>, index: usize, parker: Parker, mut lifo: Option<usize>) {
    let local = Local::new();
    let mut searching = lifo.is_some() && model.idle.try_transition_to_searching();
    loop {
        if model.shutdown.load(SeqCst) {
            return;
        }
        let mut task = lifo.take();
        if task.is_none() {
            task = model.injector.steal_batch_and_pop(&local);
        }
        if task.is_none() {
            if !searching && model.idle.try_transition_to_searching() {
                searching = true;
            }
            if searching {
                task = model.injector.steal_batch_and_pop(&local);
            }
        }
        if let Some(task) = task {
            if searching {
                searching = false;
                if model.idle.transition_worker_from_searching() && !model.injector.is_empty() {
                    model.notify_parked();
                }
            }
            model.run(task);
            while let Some(task) = local.pop() {
                model.run(task);
            }
            continue;
        }
        let was_searching = std::mem::take(&mut searching);
        if model.idle.transition_worker_to_parked(index, was_searching)
            && !model.injector.is_empty()
        {
            model.notify_parked();
        }
        if model.shutdown.load(SeqCst) {
            return;
        }
        parker.park();
        searching = model.idle.transition_worker_from_parked(index);
    }
}

fn start(workers: usize) -> (Arc<Model>, Vec<thread::JoinHandle<()>>) {
    start_with_lifo(workers, None)
}

/// As `start`, with `lifo` in worker 0's LIFO slot.
fn start_with_lifo(
    workers: usize,
    lifo: Option<usize>,
) -> (Arc<Model>, Vec<thread::JoinHandle<()>>) {
    let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
    let model = Arc::new(Model {
        idle: Idle::new(workers),
        injector: Injector::new(),
        unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
        shutdown: AtomicBool::new(false),
        done: Mutex::new(0),
        done_cv: Condvar::new(),
        runs: AtomicUsize::new(0),
    });
    let threads = parkers
        .into_iter()
        .enumerate()
        .map(|(i, parker)| {
            let model = model.clone();
            let lifo = if i == 0 { lifo } else { None };
            thread::spawn(move || worker(model, i, parker, lifo))
        })
        .collect();
    (model, threads)
}

fn stop(model: &Model, threads: Vec<thread::JoinHandle<()>>) {
    model.shutdown.store(true, SeqCst);
    for unparker in &model.unparkers {
        unparker.unpark();
    }
    for t in threads {
        t.join().unwrap();
    }
}

fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Two workers going idle while one task arrives from outside.
#[test]
fn remote_push_reaches_one_of_two_idle_workers() {
    check(|| {
        let (model, threads) = start(2);
        model.push(1);
        model.wait_done(1);
        stop(&model, threads);
        assert_eq!(model.runs.load(SeqCst), 1);
    });
}

/// One worker, two pushes from two threads, racing its parking.
#[test]
fn concurrent_pushes_reach_a_parking_worker() {
    check(|| {
        let (model, threads) = start(1);
        let m = model.clone();
        let pusher = thread::spawn(move || m.push(2));
        model.push(1);
        pusher.join().unwrap();
        model.wait_done(2);
        stop(&model, threads);
        assert_eq!(model.runs.load(SeqCst), 2);
    });
}

/// A worker blocks in the driver (modelled by a second parker standing in for the driver's waker
/// token) while another thread unparks it: the wake is routed to the driver, never lost.
#[test]
fn unpark_reaches_a_worker_blocked_in_the_driver() {
    check(|| {
        let parker = Parker::new();
        let driver = Parker::new();
        let signal = Arc::new(ParkSignal::new(parker.unparker().clone()));
        let wake_driver = driver.unparker().clone();
        let s = signal.clone();
        let notifier = thread::spawn(move || s.unpark(|| wake_driver.unpark()));
        // Returns only once woken (or at once if the notification came first).
        let _ = signal.park_in_driver(|| driver.park());
        notifier.join().unwrap();
    });
}

/// The same on the worker's own parker, parking twice: one notification ends exactly one park.
#[test]
fn unpark_reaches_a_worker_on_its_parker() {
    check(|| {
        let parker = Parker::new();
        let signal = Arc::new(ParkSignal::new(parker.unparker().clone()));
        let s = signal.clone();
        let notifier = thread::spawn(move || {
            s.unpark(|| unreachable!("the worker is not in the driver"));
        });
        signal.park_on_parker(&parker);
        notifier.join().unwrap();
    });
}

/// Regression: a worker unparked as a searcher ran the task in its LIFO slot while still counted
/// as searching, so a push from outside woke nobody (someone "was searching") and, with that task
/// waiting for the pushed one, the runtime deadlocked. The searcher now stops searching before
/// it runs any task it found, from whichever queue.
#[test]
fn a_task_run_from_the_lifo_slot_does_not_hide_new_work_from_idle_workers() {
    check(|| {
        let (model, threads) = start_with_lifo(2, Some(WAITS_FOR_ANOTHER));
        model.push(1);
        model.wait_done(2);
        stop(&model, threads);
        assert_eq!(model.runs.load(SeqCst), 2);
    });
}
