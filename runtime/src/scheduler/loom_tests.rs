//! Loom models of the park/unpark protocol: whatever the interleaving of a push, the workers'
//! searching and parking, and their wake-ups, a queued task is always run — no wake-up is lost.
//!
//! The workers here follow `Worker::find_task` and `Worker::park` step for step, with the real
//! [`Idle`], the real parker contract (loom's twin of crossbeam's `Parker`) and the loom stand-in of
//! the injector; a lost wake-up shows up as a deadlock, which loom reports. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-runtime --release --lib scheduler::loom_tests`.

use super::handoff::DriverSlot;
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
        if let Some(index) = self.idle.worker_to_notify(|_| 0, None) {
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

/// The driver as the hand-off model sees it: a wheel with at most one timer, and a blocking turn
/// that ends when the timer is due (modelled as "registered"), on an unpark, or at shutdown.
#[derive(Default)]
struct Wheel {
    timer: bool,
    fired: bool,
    /// A thread is blocked in the driver (the real `sleeping_until != 0`).
    blocked: bool,
    unparked: bool,
    shutdown: bool,
}

struct HandoffModel {
    slot: DriverSlot<()>,
    idle: Idle,
    signals: Vec<ParkSignal>,
    wheel: Mutex<Wheel>,
    wheel_cv: Condvar,
    /// `Timers::len`, read without the wheel's lock by `has_work`.
    registered: AtomicBool,
}

impl HandoffModel {
    fn driver_unpark(&self) {
        lock(&self.wheel).unparked = true;
        self.wheel_cv.notify_all();
    }

    fn fire(&self, wheel: &mut Wheel) {
        if wheel.timer {
            wheel.timer = false;
            wheel.fired = true;
            self.registered.store(false, SeqCst);
            self.wheel_cv.notify_all();
        }
    }

    fn blocking_turn(&self) {
        let mut wheel = lock(&self.wheel);
        wheel.blocked = true;
        while !(wheel.timer || wheel.unparked || wheel.shutdown) {
            wheel = self.wheel_cv.wait(wheel).unwrap();
        }
        wheel.blocked = false;
        wheel.unparked = false;
        self.fire(&mut wheel);
    }

    fn non_blocking_turn(&self) {
        let mut wheel = lock(&self.wheel);
        self.fire(&mut wheel);
    }

    /// `Shared::hand_off_driver`, step for step.
    fn hand_off(&self, answering: bool) {
        if !answering && (!self.registered.load(SeqCst) || !self.idle.any_parked()) {
            return;
        }
        match self.slot.take_or_request() {
            None => return,
            Some(guard) => {
                let _ = self.slot.release(guard);
            }
        }
        if let Some(index) = self.idle.any_worker_to_notify() {
            self.signals[index].unpark(|| self.driver_unpark());
        }
    }

    /// `Sleep`'s first poll: insert, then wake a blocked driver or call the unwatched hook.
    fn register_timer(&self) {
        let blocked = {
            let mut wheel = lock(&self.wheel);
            wheel.timer = true;
            self.registered.store(true, SeqCst);
            wheel.blocked
        };
        if blocked {
            self.driver_unpark();
        } else if self.idle.any_parked() {
            self.hand_off(false);
        }
    }
}

/// An idle worker: `Worker::park` step for step, until the timer has fired.
fn idle_worker(model: &HandoffModel, index: usize, parker: &Parker) {
    let mut searching = false;
    loop {
        {
            let wheel = lock(&model.wheel);
            if wheel.fired || wheel.shutdown {
                return;
            }
        }
        let _ = model
            .idle
            .transition_worker_to_parked(index, std::mem::take(&mut searching));
        let signal = &model.signals[index];
        let hand_off = match model.slot.take_or_request() {
            Some(guard) => {
                let turned = signal.park_in_driver(|| model.blocking_turn());
                let requested = model.slot.release(guard);
                turned.is_some() || requested
            }
            None => {
                signal.park_on_parker(parker);
                false
            }
        };
        searching = model.idle.transition_worker_from_parked(index);
        if searching {
            let _ = model.idle.transition_worker_from_searching();
            searching = false;
        }
        if hand_off {
            model.hand_off(false);
        }
    }
}

/// Suspicion settled: a busy worker's non-blocking maintenance turn used to leave the driver
/// unwatched. A worker that went to sleep while the turn held the driver slept on its parker, the
/// busy worker let the driver go without handing it off, and a timer registered then (or during
/// the turn, which published "a driver is blocked") was watched by nobody. Here worker 0 makes one
/// non-blocking turn and then runs a poll that never ends; worker 1 goes idle; a third thread
/// registers a timer. Whatever the interleaving, the timer fires (or loom reports a deadlock).
#[test]
fn a_driver_released_by_a_busy_worker_is_handed_to_a_parked_one() {
    check(|| {
        let parkers: Vec<Parker> = (0..2).map(|_| Parker::new()).collect();
        let model = Arc::new(HandoffModel {
            slot: DriverSlot::new(()),
            idle: Idle::new(2),
            signals: parkers
                .iter()
                .map(|p| ParkSignal::new(p.unparker().clone()))
                .collect(),
            wheel: Mutex::new(Wheel::default()),
            wheel_cv: Condvar::new(),
            registered: AtomicBool::new(false),
        });
        let mut parkers = parkers.into_iter();
        let _busy_parker = parkers.next().unwrap();
        let idle_parker = parkers.next().unwrap();

        let m = model.clone();
        let busy = thread::spawn(move || {
            // A maintenance tick, then a poll that never ends (the thread just stops here).
            if let Some(guard) = m.slot.try_take() {
                m.non_blocking_turn();
                if m.slot.release(guard) {
                    m.hand_off(true);
                }
            }
        });
        let m = model.clone();
        let idle = thread::spawn(move || idle_worker(&m, 1, &idle_parker));
        let m = model.clone();
        let registrant = thread::spawn(move || m.register_timer());

        {
            let mut wheel = lock(&model.wheel);
            while !wheel.fired {
                wheel = model.wheel_cv.wait(wheel).unwrap();
            }
            wheel.shutdown = true;
        }
        model.wheel_cv.notify_all();
        model.signals[1].unpark(|| model.driver_unpark());
        busy.join().unwrap();
        registrant.join().unwrap();
        idle.join().unwrap();
    });
}
