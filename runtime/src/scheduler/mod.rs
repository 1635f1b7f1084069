//! The work-stealing scheduler.
//!
//! # Roles
//!
//! - **Workers**: `N` threads (default: `available_parallelism()`), each owning a `Core`: a LIFO
//!   slot, a FIFO local queue (crossbeam `Worker`, at most [`LOCAL_QUEUE_CAPACITY`] tasks before half
//!   spill to the injector), a list of tasks that yielded, a tick counter and a random generator.
//!   The core is reachable from the worker's thread only, through a thread-local pointer, so that a
//!   task woken or spawned on a worker goes straight into that worker's queues.
//! - **The injector**: one crossbeam `Injector` for tasks scheduled from any other thread.
//! - **`Idle`**: counts searching and awake workers and lists the parked ones; it decides whom to
//!   wake (see `idle.rs` for the protocol and why no wake-up is lost). Among parked workers, one
//!   sleeping on its parker is woken first, then the driver's deputy (see "The driver"), then
//!   the one blocked in the driver (which I/O wakes soon anyway); a worker never notifies itself.
//! - **The owned-task list**: every live task, so shutdown can cancel the ones that no queue holds.
//!
//! # Where a task goes when it becomes runnable
//!
//! | from | goes to | then |
//! |---|---|---|
//! | spawned or woken on a worker of this runtime | the LIFO slot; the task it displaces goes to the back of the local queue | if a task was displaced, wake a parked worker if no one is searching |
//! | woke itself while it ran (`yield_now`) | the worker's yielded list: it runs after the local queue *and the injector* are empty, and not before the driver has been turned | moved to the local queue (stealable) after each driver turn and every maintenance tick |
//! | anywhere else (`block_on`, another thread, another runtime) | the injector | wake a parked worker if no one is searching |
//!
//! The LIFO slot makes a message ping-pong between two tasks run back to back on one warm core; a
//! task may take the slot at most [`MAX_LIFO_STREAK`] times in a row, after which it goes to the back
//! of the queue (and, if the queue was empty, a batch is first taken from the injector), so such a
//! pair cannot starve the other tasks or remote spawns.
//!
//! # Find-work order (one tick per task run)
//!
//! 1. Every [`MAINTENANCE_INTERVAL`] ticks: check for shutdown, make yielded tasks stealable, and
//!    take from the injector *first*, so remote tasks are never starved by local ones.
//! 2. The LIFO slot (subject to the streak limit).
//! 3. The local queue.
//! 4. A batch from the injector.
//! 5. The yielded list: yielded tasks are lower priority than remote spawns and local wake-ups,
//!    and they wait for a driver turn: if the driver has sources or timers, the worker first
//!    turns it without blocking, then moves the yielded tasks to its local queue, behind what
//!    the turn woke (tokio's "defer until park"). So a task that loops on `yield_now` while it
//!    waits for a socket or a timer lets its own worker see that readiness at once.
//!    Without sources or timers there is nothing to see, and a yielded task runs again at once.
//! 6. Search: if fewer than half the workers are searching, become a searcher and steal half of a
//!    random victim's queue (`steal_batch_and_pop`), trying each victim once, then the injector.
//!    A searcher that finds work stops searching and, if it was the last one and more work is
//!    queued, wakes another worker.
//! 7. Park: register as parked (re-checking every queue if it was the last searcher), then block
//!    in the I/O driver if no other worker holds it (until I/O, the next timer, or an unpark), or
//!    else sleep on the worker's `Parker` (see `park.rs`).
//!
//! # The driver
//!
//! There is no reactor thread. An idle worker that takes the driver's lock blocks in
//! `Driver::turn`; the tasks it wakes go to its own queues, woken after the lock is released (no
//! user code runs under it). Busy workers also turn the driver without blocking every maintenance
//! tick (when nobody holds it), so CPU-bound tasks cannot starve I/O and timers either.
//!
//! Someone must watch the driver whenever it has sources or timers and a worker is idle, or one
//! long poll would stall every timer and socket. `handoff.rs` holds the rule: a worker leaving the
//! driver to run tasks hands it to a parked worker; whoever finds the driver taken while wanting
//! it watched (a worker going to sleep, a hand-off) leaves a request that the holder answers when
//! it lets go, so a busy worker's non-blocking turn never leaves it unwatched; and a timer or
//! socket registered while no thread blocks in the driver calls the reactor's "unwatched" hook,
//! which hands it off the same way (one atomic load when no worker is parked). While the driver
//! is busy, one parked worker sleeps as the **deputy** instead, on a 1–4 ms timeout: the holder
//! then hands nothing over (it comes back once its tasks are done, as tokio's does) and the deputy
//! takes the driver if it finds it free, so a long poll delays timers by at most one timeout and
//! a busy server pays no thread wake-up per driver turn (`handoff.rs`, "The deputy").
//!
//! # Shutdown
//!
//! `Runtime` drop or `shutdown_timeout`: set the shutdown flag (every later remote push drains the
//! injector itself), unpark every worker; each worker notices at its next maintenance tick or park,
//! drops the tasks in its queues and exits; the runtime waits for the workers (up to the timeout),
//! closes the owned-task list and cancels every task left in it (dropping the futures), drains the
//! injector, shuts the driver down (sockets still held outside tasks then answer with an error),
//! and shuts the blocking pool down.

mod current_thread;
mod handoff;
mod idle;
mod lifo;
mod park;
mod queue;
mod shuffle;
mod worker;

#[cfg(all(test, filch_loom))]
mod loom_tests;

use park::ParkSignal;
pub(crate) use park::{Parker, Unparker};
pub(crate) use worker::{
    block_in_place, current_task_id, in_any_worker, in_worker_of, start, WorkerConfig, Workers,
};

use crate::blocking::BlockingPool;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::metrics::{RuntimeMetrics, WorkerCounters, WorkerMetrics};
use crate::task::{self, Id, JoinHandle, OwnedTasks, Schedule, SpawnMeta, Task};
use crossbeam_utils::CachePadded;
use filch_reactor::Driver;
use handoff::DriverSlot;
use idle::Idle;
use lifo::LifoSlot;
use queue::{Injector, Stealer};
use std::future::Future;
// Not modelled by loom (the loom models drive `Idle`, the queues and the parker directly), so the
// shared state itself and the exit counter use std.
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// How many times in a row a task may run from the LIFO slot.
pub(crate) const MAX_LIFO_STREAK: u8 = 3;
/// Ticks between maintenance steps (a prime, as in Go's and tokio's schedulers, so it does not
/// beat with periodic workloads).
pub(crate) const MAINTENANCE_INTERVAL: u32 = 61;
/// Tasks a local queue holds before half of them spill to the injector.
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 256;

type Notified = task::Notified<TaskScheduler>;

/// The state all workers and handles share.
pub(crate) struct Shared {
    remotes: Box<[Remote]>,
    injector: Injector<Notified>,
    idle: Arc<Idle>,
    pub(crate) owned: OwnedTasks<TaskScheduler>,
    shutdown: AtomicBool,
    pub(crate) blocking: BlockingPool,
    /// The reactor. Taken (`try_lock`) by an idle worker, which blocks in it instead of parking,
    /// and by busy workers for a non-blocking turn every maintenance tick; see `handoff.rs` for
    /// how it is never left unwatched.
    driver: DriverSlot<Driver>,
    pub(crate) driver_handle: filch_reactor::Handle,
    /// `block_on` futures being polled right now (multi-thread runtimes poll them outside the
    /// workers): while one is, a paused clock does not auto-advance.
    pub(crate) block_on_busy: std::sync::atomic::AtomicUsize,
    /// Bumped just before anything that holds a paused clock back ends (a worker parks, a
    /// blocking job or a `block_on` poll ends), after whatever it started meanwhile is visible:
    /// the idle check reads it before and after its other reads, so that a chain of hand-offs
    /// running through it (a job wakes a task and ends, a worker picks the task up...) cannot
    /// make every read see "idle" while the runtime never was (see `idle_for_clock`).
    pub(crate) clock_epoch: std::sync::atomic::AtomicU64,
    /// Set by the driver's holder from just before its idle check until its jump of a paused
    /// clock is over; see `wait_for_clock_jump`.
    clock_jumping: std::sync::atomic::AtomicBool,
    /// Number of worker threads that have exited, for a bounded wait at shutdown.
    exited: Mutex<usize>,
    exited_cv: Condvar,
    /// Each worker's counters, written by that worker only (`metrics.rs`).
    pub(crate) counters: Box<[Arc<CachePadded<WorkerCounters>>]>,
    /// The origin of the counters' timestamps.
    started: Instant,
    /// The timeline's rings (`timeline.rs`), written only while a recording is on.
    pub(crate) timeline: crate::timeline::Recorder,
}

/// What [`Shared::jump_if_idle`] did.
enum Jump {
    /// The clock jumped and timers fired: the caller wakes these many wakers.
    Fired(usize),
    /// Something changed while it looked: look again (a non-blocking turn, then the checks).
    LookAgain,
    /// The runtime is busy, or no timer is pending: block in the driver until I/O or an
    /// unpark.
    NotIdle,
}

/// What other threads need of a worker: its stealer, and how to wake it.
struct Remote {
    stealer: Stealer<Notified>,
    park: ParkSignal,
    /// The worker's LIFO slot: its own, except for a rescue (`lifo.rs`); the worker holds it
    /// too. Padded: the worker writes it at every wake-up it makes.
    lifo: Arc<CachePadded<LifoSlot<Notified>>>,
}

impl lifo::Pointer for Notified {
    fn into_ptr(self) -> std::ptr::NonNull<()> {
        self.into_raw().cast()
    }

    unsafe fn from_ptr(ptr: std::ptr::NonNull<()>) -> Notified {
        // SAFETY: the caller's pointer came from `into_ptr`, so it is a `Notified` reference
        // given up, of a task of this scheduler; it is turned back once.
        unsafe { Notified::from_raw(ptr.cast()) }
    }
}

/// The scheduler as tasks know it: a cheap, cloneable reference to the shared state.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// Binds `future` as a new task and schedules it.
    pub(crate) fn spawn<F>(&self, future: F, id: Id, meta: SpawnMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let scheduler = TaskScheduler(self.shared.clone());
        let (join, notified) = self.shared.owned.bind(future, scheduler, id, meta);
        if let Some(notified) = notified {
            self.shared.schedule_task(notified, false);
        }
        join
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shared.is_shutdown()
    }

    /// Something that held a paused clock back has ended (a blocking job, a `block_on` poll):
    /// the runtime may now be idle, so the worker blocked in the driver must look again.
    pub(crate) fn clock_may_advance(&self) {
        self.shared.clock_may_advance();
    }

    /// Same runtime?
    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// A task's way back to its runtime: each task cell owns a counted reference to the shared state,
/// so the state outlives every task of the runtime, whoever frees the task and whenever.
///
/// That costs a reference-count increment at spawn and a decrement when the cell is freed, and it
/// is what makes a wake-up during shutdown safe by construction: a thread that wakes a task holds
/// a reference to the task for the whole `schedule` call (see `transition_to_notified_by_val`),
/// the task holds the runtime's state, so the injector push and the unpark that follow the state
/// change can never touch freed memory, however late they run. (An earlier design kept a plain
/// pointer and argued that every task completes before shutdown frees the state; the argument held
/// at the instant of the state change, not for the push after it: a use-after-free.)
///
/// No reference cycle comes of it: shutdown closes the owned-task list, drains the injector and the
/// workers' queues and fires or drops every timer and I/O waker, so nothing the shared state owns
/// still points to a task once the runtime is gone.
pub(crate) struct TaskScheduler(Arc<Shared>);

impl TaskScheduler {
    fn shared(&self) -> &Shared {
        &self.0
    }
}

impl Schedule for TaskScheduler {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared().owned.remove(task)
    }

    fn schedule(&self, task: Notified) {
        self.shared().schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.shared().schedule_task(task, true);
    }
}

impl Shared {
    fn schedule_task(&self, task: Notified, is_yield: bool) {
        if shuffle::chance(8) {
            // Shuffle builds: the enqueue comes late, as after a preemption.
            std::thread::yield_now();
        }
        // Shuffle builds: sometimes the injector even from a worker, as from another thread.
        let local = if shuffle::chance(4) {
            Err(task)
        } else {
            worker::schedule_local(self, task, is_yield)
        };
        if let Err(task) = local {
            self.push_remote(task);
        }
    }

    fn push_remote(&self, task: Notified) {
        self.injector.push(task);
        // SeqCst: pairs with the SeqCst swap in `begin_shutdown`: either that side's drain (in
        // `finish_shutdown`) sees this task, or this load sees the flag and drains it here.
        if self.shutdown.load(Ordering::SeqCst) {
            self.drain_injector();
        } else {
            self.notify_parked();
            if shuffle::chance(8) {
                // Shuffle builds: a spurious wake-up of whoever sleeps.
                if let Some(index) = self.idle.any_worker_to_notify() {
                    self.unpark_worker(index);
                }
            }
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    fn notify_parked(&self) {
        self.notify_parked_except(None);
    }

    /// As [`notify_parked`](Self::notify_parked), never choosing worker `except`.
    fn notify_parked_except(&self, except: Option<usize>) {
        // A worker asleep on its parker first, then the deputy (waking it for work may cost a
        // second wake-up to find a new one), then the one blocked in the driver.
        let rank = |index: usize| {
            if !self.remotes[index].park.is_on_parker() {
                0
            } else if self.driver.is_deputy(index) {
                1
            } else {
                2
            }
        };
        if let Some(index) = self.idle.worker_to_notify(rank, except) {
            self.unpark_worker(index);
        }
    }

    /// Wakes worker `index`, on its parker or in the driver, wherever it sleeps.
    fn unpark_worker(&self, index: usize) {
        self.remotes[index]
            .park
            .unpark(|| self.driver_handle.unpark());
    }

    /// Makes sure someone watches the driver: if it has sources or timers, a worker is parked and
    /// nobody holds the driver, wake a parked worker so that it blocks in it; if someone holds
    /// it, leave them a request to do so when they let go (`handoff.rs`). Called by a worker that
    /// leaves the driver to run tasks, by anyone who let it go with a request pending, by a
    /// resigning deputy (`deputy_resigned`), and when a timer or source is registered while
    /// nobody blocks in it. This is what keeps one long poll
    /// from stalling every timer and socket of the runtime.
    ///
    /// `answering`: the caller claimed a request (a worker went to sleep on its parker because
    /// the caller held the driver). A parked worker is then woken whatever the work hints say:
    /// they are read without synchronizing with a timer registered meanwhile, and a woken worker
    /// at worst blocks in an idle driver instead of on its parker.
    fn hand_off_driver(&self, answering: bool) {
        if !answering && (!self.driver_handle.has_work() || !self.idle.any_parked()) {
            return;
        }
        match self.driver.take_or_request() {
            // Its holder hands it off when it lets go.
            None => return,
            // Free: we are handing it off, which answers any request made meanwhile.
            Some(guard) => {
                let _ = self.driver.release(guard);
            }
        }
        if let Some(index) = self.idle.any_worker_to_notify() {
            self.unpark_worker(index);
        }
    }

    /// Stuck-worker rescue: worker `index` has been inside one poll for longer than the rescue
    /// threshold (the watchdog saw it; `watchdog.rs`). The task in its LIFO slot goes to the
    /// injector, where any other worker may take it (a parked one is woken for it), and if its
    /// local queue holds tasks, a parked worker is woken to steal them. The driver needs little:
    /// a worker never holds it while it polls a task, and whoever left it to run tasks handed it
    /// over or left the deputy watching (`handoff.rs`); if the driver is free with work and a
    /// worker sleeps, it is handed over here all the same, so that nothing waits for the
    /// deputy's timeout (a held driver is left alone: a request would cost its holder a
    /// hand-off at every reading). Returns whether a task was taken from the slot.
    ///
    /// Called by the watchdog thread, at every reading while the poll lasts. If the poll has just
    /// ended, the worker and the rescue race for the slot's task and one of them gets it
    /// (`lifo.rs`); the stuck task itself is never touched.
    pub(crate) fn rescue(&self, index: usize) -> bool {
        let remote = &self.remotes[index];
        let rescued = remote.lifo.rescue();
        let taken = rescued.is_some();
        if let Some(task) = rescued {
            self.counters[index].rescued.add(1);
            self.push_remote(task);
        }
        if !remote.stealer.is_empty() {
            self.notify_parked_except(Some(index));
        }
        if self.driver_handle.has_work() && self.idle.any_parked() {
            if let Some(guard) = self.driver.try_take() {
                // A request made meanwhile is answered by the wake-up below.
                let _ = self.driver.release(guard);
                if let Some(index) = self.idle.any_worker_to_notify() {
                    self.unpark_worker(index);
                }
            }
        }
        taken
    }

    /// A deputy woken for work has resigned (`handoff.rs`, "The deputy"): a holder that left
    /// the driver without handing it over, or a sleeper that left no request, counted on it.
    /// If anyone is parked, make sure the driver is watched as if they had asked: if it is free,
    /// wake a parked worker into it; if it is held, leave a request for its holder.
    fn deputy_resigned(&self) {
        if self.idle.any_parked() {
            self.hand_off_driver(true);
        }
    }

    /// Whether a worker going to sleep may become the deputy: never with a paused clock (whose
    /// idle check watches who sleeps where) or with a single worker.
    fn deputy_allowed(&self) -> bool {
        self.remotes.len() > 1 && !self.driver_handle.is_clock_paused()
    }

    /// See [`Handle::clock_may_advance`].
    fn clock_may_advance(&self) {
        if self.driver_handle.is_clock_paused() {
            self.driver_handle.unpark();
        }
    }

    /// Whether a paused clock may jump to the next deadline: every worker is parked, no queue
    /// holds a task, no blocking job is queued or running, no `block_on` future is being
    /// polled and the caller was not notified (a current-thread runtime's `block_on` future was
    /// woken). (I/O: the caller has just turned the driver without blocking and found nothing.)
    /// Each of these, when it ends, unparks the driver (`clock_may_advance`, and a worker
    /// parking on its parker) so that its holder looks again: the check cannot miss the moment
    /// the runtime goes idle.
    ///
    /// The reads are not one snapshot: a blocking job that wakes a task and then ends, read as
    /// ended after its task was read as not queued, looked idle (regression:
    /// `the_clock_never_moves_between_a_blocking_job_and_its_awaiter`), and no order of the
    /// reads fits every hand-off (a worker wakes a `block_on` future, then parks). So each of
    /// them bumps `clock_epoch` before it ends, after what it started is visible: if the epoch
    /// did not move across the reads, anything busy at the last read was busy at the first one
    /// too, hence throughout, and its own read saw it.
    ///
    /// The caller reads `clock_epoch` before its non-blocking driver turn (the check's look at
    /// I/O, which must come after the epoch's first read, as the reads here do) and again after
    /// this returns.
    fn idle_for_clock(&self, notified: impl Fn() -> bool) -> bool {
        self.idle.all_parked()
            && !self.has_work()
            && self.blocking.in_flight() == 0
            && self.block_on_busy.load(Ordering::SeqCst) == 0
            && !notified()
    }

    /// Something that holds a paused clock back has just begun, counted where the idle check
    /// reads it (a worker unparked, a blocking job about to run, a `block_on` future about to
    /// be polled): if the driver's holder is between its idle check and the end of its jump,
    /// waits for the jump, so that what runs next reads the clock after the jump, never once
    /// before it and again after it (found by an attack test: a `spawn_blocking` job started
    /// from another thread saw the clock move under it).
    ///
    /// Why it is enough (Dekker's pattern, all SeqCst): the holder sets `clock_jumping`, then
    /// reads the counts; the beginning was counted (on whatever thread: the count happens
    /// before this call), then this reads `clock_jumping`. If the holder read the count before
    /// it was made, this read comes after the flag was set, and waits for the jump; if it read
    /// it after, it saw the runtime busy and does not jump. One load when no jump is under way.
    pub(crate) fn wait_for_clock_jump(&self) {
        while self.clock_jumping.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    /// Something that holds a paused clock back is about to end: see `clock_epoch`.
    pub(crate) fn bump_clock_epoch(&self) {
        self.clock_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// A blocking driver turn while the clock is paused: I/O first, then, if the runtime is
    /// idle, the clock jumps to the next deadline and the timers due then fire; otherwise the
    /// turn waits for I/O or an unpark only. `notified`: whether the worker was unparked (it
    /// has work, or the runtime shuts down).
    ///
    /// An unpark that is not for this worker (`clock_may_advance`: something that held the
    /// clock back has ended) only makes it look again, without leaving the driver: leaving
    /// would hand the driver to a parked worker, whose waking would make the runtime look busy
    /// at the next check, and so on for ever (found by `tests/time_paused.rs`).
    fn paused_turn(
        &self,
        driver: &mut Driver,
        woken: &mut Vec<std::task::Waker>,
        notified: impl Fn() -> bool,
    ) -> usize {
        // Notified: the worker has work (the current-thread runtime's `block_on` future was woken,
        // which `Idle` does not count) or the runtime shuts down.
        let must_return = || notified() || self.has_work() || !self.driver_handle.is_clock_paused();
        loop {
            // Read before the non-blocking turn, which is the idle check's look at I/O: a task
            // that wrote to a socket and parked after the turn (so that the turn saw nothing
            // ready) bumped the epoch after this read (regression: a socket ping-pong saw the
            // clock jump between a write and the read it made ready).
            let epoch = self.clock_epoch.load(Ordering::SeqCst);
            let n = driver.turn(Some(std::time::Duration::ZERO), woken);
            // This turn may have consumed the driver wake-up of an unpark meant for this worker
            // (regression: the blocking turn below then waited for ever): check for one before
            // blocking again.
            if n > 0 || must_return() {
                return n;
            }
            // Fenced (see `wait_for_clock_jump`): from before the idle check until the jump is
            // over, whatever begins waits for the jump.
            self.clock_jumping.store(true, Ordering::SeqCst);
            let jump = self.jump_if_idle(driver, woken, &notified, epoch);
            self.clock_jumping.store(false, Ordering::SeqCst);
            match jump {
                Jump::Fired(n) => return n,
                Jump::LookAgain => continue,
                Jump::NotIdle => {}
            }
            let n = driver.turn(None, woken);
            if n > 0 || must_return() {
                return n;
            }
        }
    }

    /// The idle check of [`paused_turn`](Shared::paused_turn) and, if the runtime is idle, the
    /// jump of the clock (under `clock_jumping`).
    fn jump_if_idle(
        &self,
        driver: &mut Driver,
        woken: &mut Vec<std::task::Waker>,
        notified: &impl Fn() -> bool,
        epoch: u64,
    ) -> Jump {
        let idle = self.idle_for_clock(notified);
        if self.clock_epoch.load(Ordering::SeqCst) != epoch {
            // Something that held the clock back ended meanwhile (maybe after handing work
            // on): look again, without blocking. Its unpark may have been consumed by the
            // non-blocking turn (regression: the blocking turn then waited for ever, a mixed
            // load hung under a loaded machine).
            return Jump::LookAgain;
        }
        if !idle {
            return Jump::NotIdle;
        }
        // The non-blocking turn found no I/O: jump and fire without polling again. A jump
        // that fires nothing landed on a level boundary of the wheel: jump on down while the
        // runtime stays idle (the same checks, against the same epoch; no new look at I/O,
        // which could as well arrive just after the jump).
        let mut jumped = false;
        while let Some(n) = driver.advance_and_fire(woken) {
            if n > 0 {
                return Jump::Fired(n);
            }
            jumped = true;
            if !self.idle_for_clock(notified) || self.clock_epoch.load(Ordering::SeqCst) != epoch {
                break;
            }
        }
        if jumped {
            // Work arrived during the jumps, or no timer is left.
            Jump::LookAgain
        } else {
            // No timer: wait for I/O or an unpark.
            Jump::NotIdle
        }
    }

    /// Whether any queue a worker could take from holds a task.
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.remotes.iter().any(|r| !r.stealer.is_empty())
    }

    fn drain_injector(&self) {
        while let Some(task) = self.injector.steal() {
            drop(task);
        }
    }

    /// Sets the shutdown flag and wakes every worker so that it exits. Idempotent.
    pub(crate) fn begin_shutdown(&self) {
        if self.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        for index in 0..self.remotes.len() {
            self.unpark_worker(index);
        }
    }

    /// Waits until every worker thread has exited, or until `deadline`. True if all exited.
    pub(crate) fn wait_workers_exited(&self, deadline: Option<Instant>) -> bool {
        let mut exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        while *exited < self.remotes.len() {
            match deadline {
                None => {
                    exited = self
                        .exited_cv
                        .wait(exited)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    exited = self
                        .exited_cv
                        .wait_timeout(exited, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        true
    }

    /// After the workers are gone: cancel every task still alive, empty the injector, and shut
    /// the driver down (sockets still held outside tasks then fail with an error).
    pub(crate) fn finish_shutdown(&self) {
        self.owned.close_and_shutdown();
        self.drain_injector();
        self.driver_handle.shutdown();
    }

    fn worker_exited(&self) {
        *self.exited.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.exited_cv.notify_all();
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// Nanoseconds since the runtime started, at least 1.
    pub(crate) fn now_ns(&self) -> u64 {
        (self.started.elapsed().as_nanos() as u64).max(1)
    }

    /// Begins a timeline recording (`timeline.rs`), dropping any recording in progress.
    pub(crate) fn start_timeline(&self, capacity: usize) {
        self.timeline.begin(capacity, self.now_ns());
        for counters in self.counters.iter() {
            counters.recording.store(true, Ordering::Relaxed);
        }
    }

    /// Ends the recording and returns what it holds. A worker that read the flag just before
    /// it was cleared pushes to an emptied ring of capacity 0, which keeps nothing.
    pub(crate) fn stop_timeline(&self) -> crate::Timeline {
        for counters in self.counters.iter() {
            counters.recording.store(false, Ordering::Relaxed);
        }
        self.timeline.end()
    }

    /// A snapshot of the counters and queues (`metrics.rs`).
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let now = self.now_ns();
        let workers = self
            .counters
            .iter()
            .zip(self.remotes.iter())
            .map(|(c, remote)| WorkerMetrics {
                polls: c.polls.get(),
                steals: c.steals.get(),
                steal_attempts: c.steal_attempts.get(),
                parks: c.parks.get(),
                unparks: c.unparks.get(),
                local_queue_depth: remote.stealer.len(),
                lifo_hits: c.lifo_hits.get(),
                budget_forced_yields: c.forced_yields.get(),
                rescued: c.rescued.get(),
                busy: c.busy(now),
            })
            .collect();
        let (live_tasks, spawned_tasks) = self.owned.counts();
        let (blocking_threads, blocking_idle_threads, blocking_queue_depth) =
            self.blocking.counts();
        let driver = self.driver_handle.metrics();
        RuntimeMetrics {
            workers,
            injector_depth: self.injector.len(),
            live_tasks,
            spawned_tasks,
            blocking_threads,
            blocking_idle_threads,
            blocking_queue_depth,
            timers: driver.timers,
            io_sources: driver.io_sources,
            driver_turns: driver.turns,
            driver_events: driver.events,
        }
    }
}
