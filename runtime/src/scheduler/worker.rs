//! A worker thread: its core, its find-work loop, and local scheduling.

use super::current_thread::Lender;
use super::handoff::{
    DriverSlot, DEPUTY_BUSY_LEAVES, DEPUTY_CHECK_MAX, DEPUTY_CHECK_MIN, DEPUTY_QUIET_ROUNDS,
};
use super::idle::Idle;
use super::lifo::LifoSlot;
use super::park::{ParkSignal, Parker};
use super::queue::{Injector, Local};
use super::shuffle;
use super::{
    Handle, Notified, Remote, Shared, LOCAL_QUEUE_CAPACITY, MAINTENANCE_INTERVAL, MAX_LIFO_STREAK,
};
use crate::blocking::BlockingPool;
use crate::context;
use crate::coop;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::MutexGuard;
use crate::metrics::WorkerCounters;
use crate::task::OwnedTasks;
use crate::timeline::Raw;
use crossbeam_utils::CachePadded;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A worker's own scheduling state. Touched only by its thread.
pub(crate) struct Core {
    /// How many tasks in a row came from the LIFO slot.
    lifo_streak: u8,
    local: Local<Notified>,
    /// Tasks that woke themselves while running (`yield_now`), run after other work.
    yielded: VecDeque<Notified>,
    tick: u32,
    rng: FastRand,
    /// Counted as searching in [`Idle`].
    searching: bool,
    /// Set at a maintenance tick: turn the driver without blocking before the next task.
    turn_driver: bool,
}

/// Everything a worker thread needs, reachable from its thread-local pointer.
pub(super) struct Worker {
    handle: Handle,
    index: usize,
    /// A current-thread runtime's worker, lent to each `block_on`.
    lent: bool,
    /// This worker's LIFO slot (also in its `Remote`, for the rescue): held here so that taking
    /// from it costs no lookup.
    lifo: Arc<CachePadded<LifoSlot<Notified>>>,
    /// This worker's counters (also in `Shared::counters`, for readers): held here so that a
    /// poll's increment costs no lookup.
    counters: Arc<CachePadded<WorkerCounters>>,
    core: RefCell<Core>,
    parker: Parker,
    /// The wakers of a driver turn, woken after the driver's lock is released (user code never
    /// runs under it). Kept between turns for its capacity.
    woken: RefCell<Vec<std::task::Waker>>,
}

thread_local! {
    /// The worker running on this thread, if any. Set for the whole life of a worker thread,
    /// except while a task of it is inside `block_in_place` (which restores it).
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
    /// The raw id of the task inside `block_in_place` on this thread (0: none), while
    /// `WORKER` is cleared for the block.
    static IN_PLACE_TASK: Cell<u64> = const { Cell::new(0) };
}

/// Where [`Worker::sleep`] left a worker.
enum Slept<'a> {
    /// It holds the driver and blocks in it (`was_deputy`: it took the driver over as the
    /// deputy, or just after retiring as one).
    InDriver {
        driver: MutexGuard<'a, filch_reactor::Driver>,
        was_deputy: bool,
    },
    /// It slept on its parker (as the deputy, or not) and was woken.
    OnParker { was_deputy: bool },
}

enum Found {
    Task(Notified),
    Nothing,
    Shutdown,
}

/// Per-worker thread settings.
pub(crate) struct WorkerConfig {
    pub(crate) num_workers: usize,
    pub(crate) driver: filch_reactor::Driver,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) hooks: crate::builder::ThreadHooks,
    pub(crate) blocking: BlockingPool,
    /// A current-thread runtime: no thread is started; the one worker is lent to each
    /// `block_on` instead (`current_thread.rs`).
    pub(crate) lend: bool,
}

/// The runtime's workers: threads, or the one worker a current-thread runtime lends out.
pub(crate) enum Workers {
    Threads(Vec<std::thread::JoinHandle<()>>),
    Lent(Lender),
}

/// Creates the shared state and starts the worker threads.
pub(crate) fn start(config: WorkerConfig) -> io::Result<(Handle, Workers)> {
    let n = config.num_workers;
    let mut cores = Vec::with_capacity(n);
    let mut remotes = Vec::with_capacity(n);
    for i in 0..n {
        let local = Local::new();
        let parker = Parker::new();
        let lifo = Arc::new(CachePadded::new(LifoSlot::new()));
        remotes.push(Remote {
            stealer: local.stealer(),
            park: ParkSignal::new(parker.unparker().clone()),
            lifo: lifo.clone(),
        });
        let core = Core {
            lifo_streak: 0,
            local,
            yielded: VecDeque::new(),
            tick: 0,
            rng: FastRand::new(i as u64),
            searching: false,
            turn_driver: false,
        };
        cores.push((core, parker, lifo));
    }
    let handle = Handle {
        shared: Arc::new(Shared {
            remotes: remotes.into_boxed_slice(),
            injector: Injector::new(),
            idle: Arc::new(Idle::new(n)),
            owned: OwnedTasks::new(4 * n),
            shutdown: AtomicBool::new(false),
            blocking: config.blocking,
            driver_handle: config.driver.handle().clone(),
            driver: DriverSlot::new(config.driver),
            block_on_busy: std::sync::atomic::AtomicUsize::new(0),
            clock_epoch: std::sync::atomic::AtomicU64::new(0),
            clock_jumping: std::sync::atomic::AtomicBool::new(false),
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
            counters: (0..n).map(|_| Default::default()).collect(),
            started: std::time::Instant::now(),
            timeline: crate::timeline::Recorder::new(n),
        }),
    };

    // A timer or socket registered while nobody blocks in the driver (a worker left it with
    // nothing to watch, the others sleep on their parkers) must not wait for a long poll to end:
    // hand the driver to a sleeping worker. The common case (every worker awake) costs one load.
    let idle = handle.shared.idle.clone();
    let shared = Arc::downgrade(&handle.shared);
    handle.shared.driver_handle.set_unwatched_hook(move || {
        if !idle.any_parked() {
            return;
        }
        if let Some(shared) = shared.upgrade() {
            if shared.driver.has_deputy() {
                // It looks at the driver within `DEPUTY_CHECK_MAX`.
                return;
            }
            shared.hand_off_driver(false);
        }
    });

    if config.lend {
        let (core, parker, lifo) = cores.pop().expect("one worker");
        debug_assert!(cores.is_empty());
        let worker = Worker {
            handle: handle.clone(),
            index: 0,
            lent: true,
            lifo,
            counters: handle.shared.counters[0].clone(),
            core: RefCell::new(core),
            parker,
            woken: RefCell::new(Vec::new()),
        };
        return Ok((handle, Workers::Lent(Lender::new(worker))));
    }

    let mut threads = Vec::with_capacity(n);
    for (index, (core, parker, lifo)) in cores.into_iter().enumerate() {
        let mut builder =
            std::thread::Builder::new().name(format!("{}-worker-{index}", config.thread_name));
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        let worker = Worker {
            handle: handle.clone(),
            index,
            lent: false,
            lifo,
            counters: handle.shared.counters[index].clone(),
            core: RefCell::new(core),
            parker,
            woken: RefCell::new(Vec::new()),
        };
        let hooks = config.hooks.clone();
        match builder.spawn(move || hooks.run(|| worker.run_thread())) {
            Ok(thread) => threads.push(thread),
            Err(err) => {
                // Stop the ones already started; the rest were never counted.
                handle.shared.begin_shutdown();
                for t in threads {
                    let _ = t.join();
                }
                handle.shared.finish_shutdown();
                return Err(err);
            }
        }
    }
    Ok((handle, Workers::Threads(threads)))
}

/// Whether the current thread is a worker of `handle`'s runtime.
pub(crate) fn in_worker_of(handle: &Handle) -> bool {
    with_worker(|w| w.is_some_and(|w| w.handle.ptr_eq(handle)))
}

fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = WORKER.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: the pointer is set by `run_thread` (or a lent worker's `block_on`) to a `Worker`
    // on its own stack frame and cleared before that frame ends (`block_in_place` clears it
    // for a while and sets it back, from inside that frame), and only this thread reads it.
    f(unsafe { ptr.as_ref() })
}

/// Schedules `task` on the current worker if it belongs to `shared`'s runtime; otherwise gives it
/// back, for the injector.
pub(super) fn schedule_local(
    shared: &Shared,
    task: Notified,
    is_yield: bool,
) -> Result<(), Notified> {
    with_worker(|worker| {
        let Some(worker) = worker.filter(|w| ptr::eq(&*w.handle.shared, shared)) else {
            return Err(task);
        };
        // Busy only while the worker itself is inside its scheduling code (say, dropping a task
        // there woke another one): use the injector then.
        let Ok(mut core) = worker.core.try_borrow_mut() else {
            return Err(task);
        };
        if is_yield {
            core.yielded.push_back(task);
            return Ok(());
        }
        if let Some(prev) = worker.lifo().put(task) {
            worker.push_local(&mut core, prev);
            drop(core);
            // Not this worker itself: it may be registered as parked while it turns the driver,
            // and it will run its queue as soon as the turn ends.
            worker
                .handle
                .shared
                .notify_parked_except(Some(worker.index));
        }
        Ok(())
    })
}

impl Worker {
    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// This worker's LIFO slot: the task it runs next (`lifo.rs`).
    #[inline]
    fn lifo(&self) -> &LifoSlot<Notified> {
        &self.lifo
    }

    fn run_thread(self) {
        struct Exit<'a>(&'a Worker);
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                let _ = WORKER.try_with(|w| w.set(ptr::null()));
                self.0.asleep();
                self.0.drain_core();
                self.0.shared().worker_exited();
            }
        }
        WORKER.with(|w| w.set(&self));
        let _exit = Exit(&self);
        let _enter = context::enter(self.handle.clone());
        self.awake();
        while let Some(task) = self.next_task() {
            self.run_task(task);
        }
    }

    /// Polls `task`, counted, with its id published for the slow-poll watchdog.
    #[inline]
    fn run_task(&self, task: Notified) {
        let counters = &self.counters;
        counters.polls.add(1);
        // Relaxed: the watchdog only compares readings taken a period apart.
        let id = task.id().to_raw();
        counters.current_task.store(id, Ordering::Relaxed);
        if counters.recording.load(Ordering::Relaxed) {
            self.run_recorded(task, id);
        } else {
            task.run();
        }
        counters.current_task.store(0, Ordering::Relaxed);
    }

    /// `run_task` while a timeline is recorded: the poll, timed.
    #[cold]
    #[inline(never)]
    fn run_recorded(&self, task: Notified, id: u64) {
        let shared = self.shared();
        if task.id().is_named() {
            shared.timeline.ring(self.index).note_name(id);
        }
        let start = shared.now_ns();
        task.run();
        let end = shared.now_ns();
        self.record(Raw::Poll {
            task: id,
            start,
            end,
        });
    }

    /// Appends to this worker's timeline ring (a recording is on).
    fn record(&self, event: Raw) {
        self.shared().timeline.ring(self.index).push(event);
    }

    /// The clock, if a timeline is being recorded.
    fn recording_now(&self) -> Option<u64> {
        self.counters
            .recording
            .load(Ordering::Relaxed)
            .then(|| self.shared().now_ns())
    }

    fn counters(&self) -> &WorkerCounters {
        &self.counters
    }

    /// Metrics: a busy stretch begins (the worker starts, or wakes up).
    fn awake(&self) {
        self.counters.awake(self.shared().now_ns());
        crate::watchdog::worker_awake();
    }

    /// Metrics: a busy stretch ends (the worker parks, or exits); the budget's count of forced
    /// yields on this thread is added to the worker's.
    fn asleep(&self) {
        self.counters.asleep(self.shared().now_ns());
        self.publish_forced_yields();
    }

    fn publish_forced_yields(&self) {
        let forced = coop::take_forced_yields();
        if forced > 0 {
            self.counters().forced_yields.add(forced);
        }
    }

    /// The next task to run, parking as needed; `None` once the runtime shuts down.
    fn next_task(&self) -> Option<Notified> {
        loop {
            match self.try_next() {
                Found::Task(task) => return Some(task),
                Found::Shutdown => return None,
                Found::Nothing => {
                    if !self.park() {
                        return None;
                    }
                }
            }
        }
    }

    /// The next task to run without parking: a task, nothing (the caller parks), or shutdown.
    fn try_next(&self) -> Found {
        loop {
            let found = self.find_task(&mut self.core.borrow_mut());
            if std::mem::take(&mut self.core.borrow_mut().turn_driver) {
                // Outside the core's borrow: the tasks it wakes go to this worker's queues...
                self.turn_driver_now();
                // ...and the tasks that yielded before the turn may run again (behind those).
                self.release_yielded();
                if let Found::Nothing = found {
                    // ...so look there again before parking: parking with tasks in the local
                    // queue would strand them (regression: a timer-heavy run hung this way).
                    continue;
                }
            }
            return found;
        }
    }

    /// A current-thread runtime's `block_on`: this thread is the runtime's worker until `future`
    /// completes. It polls `future` whenever it is woken, and in between runs tasks, turns the
    /// driver and parks exactly as a worker thread does. Once woken, `future` is polled after at
    /// most a batch of tasks ([`MAINTENANCE_INTERVAL`]), as tokio's current-thread scheduler
    /// does: soon, yet a `future` that yields in a loop cannot starve the tasks. A `future` that
    /// woke itself (yielded) runs again only after a non-blocking driver turn, as a yielded task.
    ///
    /// The root's waker sets a flag and, from another thread, unparks the worker through its
    /// `ParkSignal` (which keeps a token, so a wake between the flag check and the park is not
    /// lost). From this thread it only sets the flag: the loop reads it before it parks.
    pub(super) fn block_on<F: Future>(&self, future: F) -> F::Output {
        struct Leave<'a>(&'a Worker);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.asleep();
                let _ = WORKER.try_with(|w| w.set(ptr::null()));
            }
        }
        WORKER.with(|w| {
            debug_assert!(w.get().is_null(), "checked by the caller");
            w.set(self);
        });
        self.awake();
        // Forced yields counted on this thread outside this runtime (a multi-thread runtime's
        // `block_on` future) are not this runtime's.
        let _ = coop::take_forced_yields();
        let _leave = Leave(self);
        let root = Arc::new(RootWaker {
            woken: std::sync::atomic::AtomicBool::new(true),
            handle: self.handle.clone(),
            worker: self as *const Worker as usize,
        });
        let waker = Waker::from(root.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            // Whether the root woke itself while polled (it yielded): it must not run again
            // before the driver has been turned, as a yielded task would not.
            let mut yielded = false;
            if root.woken.swap(false, Ordering::Acquire) {
                if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                    return output;
                }
                yielded = root.woken.load(Ordering::Acquire);
            }
            // Then a batch of tasks, whether or not the root is woken meanwhile: a root that
            // yields in a loop (waiting for a task to do something) must not starve them.
            let mut shutdown = false;
            for _ in 0..MAINTENANCE_INTERVAL {
                match self.try_next() {
                    Found::Task(task) => self.run_task(task),
                    Found::Shutdown => {
                        shutdown = true;
                        break;
                    }
                    Found::Nothing => {
                        // Acquire: pairs with the Release store in `RootWaker::wake`.
                        if root.woken.load(Ordering::Acquire) {
                            if yielded {
                                self.turn_driver_now();
                                self.release_yielded();
                            }
                            break;
                        }
                        if !self.park() {
                            shutdown = true;
                            break;
                        }
                        if root.woken.load(Ordering::Acquire) {
                            break;
                        }
                    }
                }
            }
            if shutdown {
                // Not reached through the public API (dropping the runtime needs it unborrowed),
                // but if the runtime is going away, no task runs any more: wait for the root alone.
                while !root.woken.load(Ordering::Acquire) {
                    self.shared().remotes[self.index]
                        .park
                        .park_on_parker(&self.parker);
                }
            }
        }
    }

    /// A lent worker's exit, at its runtime's shutdown: as a worker thread's.
    pub(super) fn exit_lent(&self) {
        self.drain_core();
        self.shared().worker_exited();
    }

    fn find_task(&self, core: &mut Core) -> Found {
        let shared = self.shared();
        core.tick = core.tick.wrapping_add(1);
        if core.tick % MAINTENANCE_INTERVAL == 0 {
            if self.handle.is_shutdown() {
                return Found::Shutdown;
            }
            self.publish_forced_yields();
            core.turn_driver = shared.driver_handle.has_work();
            if !core.yielded.is_empty() {
                while let Some(task) = core.yielded.pop_front() {
                    self.push_local(core, task);
                }
                shared.notify_parked();
            }
            if let Some(task) = shared.injector.steal_batch_and_pop(&core.local) {
                return self.found(core, task);
            }
        }

        if shuffle::chance(16) {
            // Shuffle builds: a driver turn at a random tick.
            core.turn_driver = true;
        }
        if let Some(task) = self.lifo().take() {
            // Shuffle builds: sometimes the LIFO task goes behind the queue at once.
            if core.lifo_streak < MAX_LIFO_STREAK && !shuffle::chance(4) {
                core.lifo_streak += 1;
                self.counters().lifo_hits.add(1);
                // Through `found`: a worker unparked as a searcher may find a task its own driver
                // turn put here, and must not stay "searching" while it runs it (every push
                // would then skip waking an idle worker: a lost wake-up if the task waits for
                // that work).
                return self.found(core, task);
            }
            // Fairness point: the task goes behind the queue, and behind a batch of remote tasks
            // if the queue held nothing else.
            if core.local.is_empty() {
                shared
                    .injector
                    .steal_batches(&core.local, LOCAL_QUEUE_CAPACITY / 2);
            }
            self.push_local(core, task);
        }
        core.lifo_streak = 0;

        if let Some(task) = core.local.pop() {
            return self.found(core, task);
        }
        if let Some(task) = shared.injector.steal_batch_and_pop(&core.local) {
            return self.found(core, task);
        }
        if !core.yielded.is_empty() {
            // A yielded task runs again only after the driver has been turned: a task that loops
            // on `yield_now` while it waits for a socket or a timer must let the driver see that
            // readiness (regression: it saw it only at the next maintenance turn). `next_task`
            // turns the driver without blocking and releases the yielded tasks to the local
            // queue. With no source or timer registered there is nothing to see, and no syscall.
            if shared.driver_handle.has_work() {
                core.turn_driver = true;
                return Found::Nothing;
            }
            let task = core.yielded.pop_front().expect("checked non-empty");
            return self.found(core, task);
        }
        match self.steal(core) {
            Some(task) => self.found(core, task),
            None => Found::Nothing,
        }
    }

    /// A task was found: stop searching, and if we were the last searcher and there is more work
    /// queued, wake another worker to take it. Every `Found::Task` goes through here: a worker
    /// never runs a task while counted as searching.
    fn found(&self, core: &mut Core, task: Notified) -> Found {
        if core.searching {
            core.searching = false;
            let shared = self.shared();
            // The work check comes after the SeqCst decrement, as in `park`: a task pushed
            // concurrently is either seen here or its pusher sees no searcher and notifies.
            if shared.idle.transition_worker_from_searching() && shared.has_work() {
                shared.notify_parked();
            }
        }
        Found::Task(task)
    }

    fn steal(&self, core: &mut Core) -> Option<Notified> {
        let shared = self.shared();
        if !core.searching {
            if !shared.idle.try_transition_to_searching() {
                return None;
            }
            core.searching = true;
        }
        let n = shared.remotes.len();
        let start = core.rng.below(n);
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let counters = self.counters();
            counters.steal_attempts.add(1);
            if let Some(task) = shared.remotes[victim]
                .stealer
                .steal_batch_and_pop(&core.local)
            {
                // The local queue was empty (`find_task` looked there first).
                let tasks = 1 + core.local.len();
                counters.steals.add(tasks as u64);
                if let Some(at) = self.recording_now() {
                    self.record(Raw::Steal {
                        from: victim,
                        tasks,
                        at,
                    });
                }
                return Some(task);
            }
        }
        shared.injector.steal_batch_and_pop(&core.local)
    }

    /// Sleeps until unparked. False if the runtime is shutting down.
    fn park(&self) -> bool {
        let shared = self.shared();
        self.counters().parks.add(1);
        self.asleep();
        let was_searching = std::mem::take(&mut self.core.borrow_mut().searching);
        // Whatever this worker started (tasks, jobs, wake-ups) is visible by now.
        shared.bump_clock_epoch();
        if shared
            .idle
            .transition_worker_to_parked(self.index, was_searching)
            && shared.has_work()
        {
            shared.notify_parked();
        }
        if self.handle.is_shutdown() {
            return false;
        }
        let park = &shared.remotes[self.index].park;
        let slept_at = self.recording_now();
        let mut in_driver = false;
        let (hand_off, searching) = match self.sleep(park) {
            Slept::InDriver {
                mut driver,
                was_deputy,
            } => {
                in_driver = true;
                let mut woken = self.woken.borrow_mut();
                let turned = park.park_in_driver(|| {
                    if shared.driver_handle.is_clock_paused() {
                        shared.paused_turn(&mut driver, &mut woken, || park.is_notified())
                    } else {
                        driver.turn(None, &mut woken)
                    }
                });
                // Awake again before the driver is let go and the tasks it woke are scheduled
                // (to this worker's LIFO slot, which no idle check sees): a worker that takes the
                // driver next must not find every worker parked while those tasks wait, or a
                // paused clock would jump under them (regression: tasks woken together at one
                // virtual instant ran a round or more late on 2 and 8 workers).
                let searching = shared.idle.transition_worker_from_parked(self.index);
                let requested = shared.driver.release(driver);
                shared.driver_handle.wake_turn(&mut woken);
                // Leaving the driver to run tasks: someone else should watch it now, if it has
                // anything to watch. (A request made while this worker blocked there came from a
                // worker that parked meanwhile; it is answered the same way.) Unless a deputy
                // sleeps: then this worker comes back to the driver once its tasks are done,
                // and the deputy covers a long poll (`handoff.rs`, "The deputy").
                if was_deputy && turned.is_none() {
                    // It took the driver over from its deputy's watch but was notified before
                    // blocking in it: it leaves at once, to run tasks, and whoever counted on
                    // the deputy must be covered as if it had been woken on its parker.
                    shared.deputy_resigned();
                }
                let hand_off = if requested {
                    Some(true)
                } else if turned.is_some() && shared.driver.has_deputy() {
                    if turned.is_some_and(|woken| woken > 0) {
                        shared.driver.note_leave();
                    }
                    None
                } else {
                    turned.map(|_| false)
                };
                (hand_off, searching)
            }
            Slept::OnParker { was_deputy } => {
                let searching = shared.idle.transition_worker_from_parked(self.index);
                // Counted as unparked by now (by its notifier, or just above).
                shared.wait_for_clock_jump();
                if was_deputy {
                    shared.deputy_resigned();
                }
                (None, searching)
            }
        };
        self.core.borrow_mut().searching = searching;
        self.counters().unparks.add(1);
        if let Some(start) = slept_at {
            let end = shared.now_ns();
            self.record(Raw::Park {
                start,
                end,
                in_driver,
            });
        }
        self.awake();
        if self.handle.is_shutdown() {
            return false;
        }
        // After leaving the sleepers' list, so that the hand-off does not pick this worker. A
        // claimed request is answered whatever the work hints say (`hand_off_driver`): they may
        // not show yet the timer whose registration made the request (regression, found by the
        // loom model `a_deputy_woken_for_work_leaves_the_driver_watched`).
        if let Some(answering) = hand_off {
            shared.hand_off_driver(answering);
        }
        true
    }

    /// Puts this worker (registered as parked) to sleep: in the driver if it is free, as the
    /// deputy if the driver is taken and there is none, or else on its parker, having asked the
    /// driver's holder to hand it over when it lets go (unless a deputy watches it): a busy
    /// worker's non-blocking turn must not leave the driver unwatched (`handoff.rs`).
    fn sleep<'a>(&'a self, park: &ParkSignal) -> Slept<'a> {
        let shared = self.shared();
        if let Some(driver) = shared.driver.try_take() {
            return Slept::InDriver {
                driver,
                was_deputy: false,
            };
        }
        // Whether this worker was the deputy and retired: whoever counted on it until then must
        // still be covered if it leaves the driver at once (see `Worker::park`).
        let mut retired = false;
        if shared.deputy_allowed() && shared.driver.try_become_deputy(self.index) {
            let mut timeout = DEPUTY_CHECK_MIN;
            let mut quiet = 0;
            let mut leaves = shared.driver.leaves();
            loop {
                if park.park_on_parker_timeout(&self.parker, timeout) {
                    shared.driver.resign_deputy();
                    return Slept::OnParker { was_deputy: true };
                }
                if let Some(driver) = shared.driver.try_take() {
                    // Its holder has been away for a whole timeout: take over.
                    shared.driver.resign_deputy();
                    return Slept::InDriver {
                        driver,
                        was_deputy: true,
                    };
                }
                // Worth its wake-ups only while the holder leaves the driver more often than
                // the deputy wakes: each leave it covers would have cost a hand-off.
                let now = shared.driver.leaves();
                if now.wrapping_sub(leaves) >= DEPUTY_BUSY_LEAVES {
                    quiet = 0;
                } else {
                    quiet += 1;
                }
                leaves = now;
                timeout = (timeout * 2).min(DEPUTY_CHECK_MAX);
                if quiet >= DEPUTY_QUIET_ROUNDS || !shared.deputy_allowed() {
                    // Quiet: retire, and sleep as any other worker.
                    shared.driver.resign_deputy();
                    retired = true;
                    break;
                }
            }
        }
        // Read after this worker registered as parked: a deputy that resigns after this read
        // sees this worker parked (`Shared::deputy_resigned`).
        let driver = if shared.driver.has_deputy() {
            shared.driver.try_take()
        } else {
            shared.driver.take_or_request()
        };
        if let Some(driver) = driver {
            // A retired deputy that takes the driver here is in the take-over's place: if it is
            // notified before it blocks, a sleeper that left no request while it watched, and a
            // holder that handed nothing over, must still be covered (found by review: it
            // then ran a task with the driver free and that sleeper asleep).
            return Slept::InDriver {
                driver,
                was_deputy: retired,
            };
        }
        // With the clock paused, the worker blocked in the driver decides whether the runtime
        // is idle; this worker going to sleep may be what makes it so.
        shared.clock_may_advance();
        park.park_on_parker(&self.parker);
        Slept::OnParker { was_deputy: false }
    }

    /// A maintenance turn: fire due timers and dispatch ready I/O without blocking, unless
    /// another worker is in the driver already.
    fn turn_driver_now(&self) {
        let shared = self.shared();
        if let Some(mut driver) = shared.driver.try_take() {
            let start = self.recording_now();
            let mut woken = self.woken.borrow_mut();
            driver.turn(Some(std::time::Duration::ZERO), &mut woken);
            let requested = shared.driver.release(driver);
            if let Some(start) = start {
                let end = shared.now_ns();
                self.record(Raw::Turn { start, end });
            }
            shared.driver_handle.wake_turn(&mut woken);
            drop(woken);
            // A worker that went to sleep during the turn (or a hand-off that found the driver
            // taken) asked for someone to watch it.
            if requested {
                shared.hand_off_driver(true);
            }
        }
    }

    /// After a driver turn: the tasks that yielded before it go to the back of the local queue.
    fn release_yielded(&self) {
        let mut core = self.core.borrow_mut();
        let core = &mut *core;
        if core.yielded.is_empty() {
            return;
        }
        while let Some(task) = core.yielded.pop_front() {
            self.push_local(core, task);
        }
    }

    /// Pushes to the back of the local queue, first spilling half of a full queue to the injector.
    fn push_local(&self, core: &mut Core, task: Notified) {
        if core.local.len() >= LOCAL_QUEUE_CAPACITY {
            for _ in 0..LOCAL_QUEUE_CAPACITY / 2 {
                match core.local.pop() {
                    Some(t) => self.shared().injector.push(t),
                    None => break,
                }
            }
        }
        core.local.push(task);
    }

    /// On exit: give up every queued task reference. The tasks themselves are cancelled when the
    /// runtime closes its owned-task list.
    fn drain_core(&self) {
        let mut tasks = Vec::new();
        {
            let mut core = self.core.borrow_mut();
            tasks.extend(self.lifo().take());
            tasks.extend(core.yielded.drain(..));
            while let Some(task) = core.local.pop() {
                tasks.push(task);
            }
            if core.searching {
                core.searching = false;
                let _ = self.shared().idle.transition_worker_from_searching();
            }
        }
        // Outside the borrow: dropping a reference can free a task.
        drop(tasks);
    }
}

/// A small xorshift generator for picking steal victims.
pub(crate) struct FastRand(u64);

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        FastRand(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 32) as usize * n) >> 32
    }
}

/// [`crate::task::block_in_place`]: hands this worker's queued tasks to the others, then runs
/// `f` here.
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    with_worker(|worker| {
        // Not a worker (a multi-thread runtime's `block_on`, a plain thread): nothing waits
        // behind this thread.
        let Some(worker) = worker else { return f() };
        assert!(
            !worker.lent,
            "filch::task::block_in_place called on a current-thread runtime: its one thread \
             runs every task, so they would all wait; use filch::spawn_blocking, or a \
             multi-thread runtime"
        );
        // Borrowed already: a `block_in_place` inside another one, whose hand-over holds.
        let Ok(mut core) = worker.core.try_borrow_mut() else {
            return f();
        };
        worker.hand_over(&mut core);
        // A declared block: not a slow poll, and nothing left to rescue.
        struct Restore<'a>(&'a WorkerCounters, u64);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.current_task.store(self.1, Ordering::Relaxed);
            }
        }
        let counters = worker.counters();
        let task = counters.current_task.load(Ordering::Relaxed);
        let _restore = Restore(counters, task);
        // Still inside the task's poll (if in one): marked, not cleared, so that the watchdog
        // does not take the block for the poll's end (`watchdog::IN_PLACE`).
        let marked = if task == 0 {
            0
        } else {
            task | crate::watchdog::IN_PLACE
        };
        counters.current_task.store(marked, Ordering::Relaxed);
        // While `f` runs, this thread is no worker: `f` may `block_on` (this runtime's handle,
        // or another runtime, as tokio allows), and what it wakes or spawns goes to the
        // injector, for the other workers (the core stays borrowed too, and is released if `f`
        // panics). Its spawns still name the blocked task as their parent (`IN_PLACE_TASK`).
        struct Rejoin<'a>(&'a Worker, u64);
        impl Drop for Rejoin<'_> {
            fn drop(&mut self) {
                let _ = IN_PLACE_TASK.try_with(|t| t.set(self.1));
                let _ = WORKER.try_with(|w| w.set(self.0));
            }
        }
        let outer = IN_PLACE_TASK.with(|t| t.replace(task & !crate::watchdog::IN_PLACE));
        WORKER.with(|w| w.set(ptr::null()));
        let _rejoin = Rejoin(worker, outer);
        f()
    })
}

impl Worker {
    /// `block_in_place`: every task queued on this worker goes to the injector, a parked
    /// worker is woken for them, and the driver is handed over if nobody watches it.
    fn hand_over(&self, core: &mut Core) {
        let shared = self.shared();
        let mut tasks: Vec<Notified> = self.lifo().take().into_iter().collect();
        tasks.extend(core.yielded.drain(..));
        while let Some(task) = core.local.pop() {
            tasks.push(task);
        }
        for task in tasks {
            shared.push_remote(task);
        }
        shared.hand_off_driver(false);
    }
}

/// Whether the current thread is a worker of any runtime.
pub(crate) fn in_any_worker() -> bool {
    with_worker(|w| w.is_some())
}

/// The waker of a current-thread runtime's `block_on` future.
struct RootWaker {
    woken: std::sync::atomic::AtomicBool,
    handle: Handle,
    /// The address of the lent worker, to tell whether a wake comes from its own thread.
    worker: usize,
}

impl Wake for RootWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: pairs with the Acquire loads in `Worker::block_on`.
        self.woken.store(true, Ordering::Release);
        let on_own_thread =
            with_worker(|w| w.is_some_and(|w| ptr::eq(w, self.worker as *const Worker)));
        if !on_own_thread {
            // The worker sleeps on its parker or in the driver, or is about to: the signal's
            // token makes its next park return at once if it is not asleep yet.
            self.handle.shared.unpark_worker(0);
        }
    }
}

/// The task being polled on this thread's worker (of any runtime), if any: the parent of a task
/// spawned now, for the task dump.
#[inline]
pub(crate) fn current_task_id() -> Option<crate::task::Id> {
    with_worker(|w| {
        let task = match w {
            Some(w) => w.counters.current_task.load(Ordering::Relaxed),
            // Inside `block_in_place` (which leaves the worker for the block): the blocked
            // task, still the one running here.
            None => IN_PLACE_TASK.try_with(Cell::get).unwrap_or(0),
        };
        crate::task::Id::from_raw(task & !crate::watchdog::IN_PLACE)
    })
}
