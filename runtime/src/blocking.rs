//! The blocking pool: threads for code that must block (`spawn_blocking`), kept apart from the
//! workers so that blocking never holds a worker.
//!
//! A job is an unowned task whose future runs the closure on its first poll. The pool starts with
//! no threads and grows on demand: a job that finds no idle thread starts a new one, up to
//! `max_threads`; past that, jobs wait in the queue. An idle thread waits `keep_alive` for a job and
//! then exits. At shutdown the queued jobs are cancelled (their join handles report cancellation),
//! running ones are waited for (up to the shutdown timeout, if one was given), and later
//! `spawn_blocking` calls get a cancelled join handle.
//!
//! The pool is plain `Mutex` + `Condvar` code with no lock-free parts; it is not loom-modelled and
//! uses std's primitives directly.

use crate::coop;
use crate::scheduler;
use crate::task::{self, Id, JoinHandle, Schedule, Task};
use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

type Job = task::Notified<NoSchedule>;

thread_local! {
    /// The pool this thread belongs to, if it is a blocking-pool thread (only compared, never
    /// dereferenced).
    static POOL_THREAD: Cell<*const Inner> = const { Cell::new(ptr::null()) };
}

/// The pool, shared by the runtime and its handles.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Jobs queued or running: while any is, a paused clock does not auto-advance (the job's
    /// result may be what the runtime waits for).
    in_flight: AtomicUsize,
    /// Idle threads wait here for a job.
    job_ready: Condvar,
    /// Shutdown waits here for the threads to exit.
    all_exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    stack_size: Option<usize>,
    hooks: crate::builder::ThreadHooks,
}

struct State {
    queue: VecDeque<Job>,
    num_threads: usize,
    num_idle: usize,
    /// Wake-ups sent to idle threads and not yet claimed (tells them from spurious wake-ups).
    num_notify: usize,
    shutdown: bool,
}

/// Pool settings.
pub(crate) struct BlockingConfig {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) hooks: crate::builder::ThreadHooks,
}

impl BlockingPool {
    pub(crate) fn new(config: BlockingConfig) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    shutdown: false,
                }),
                in_flight: AtomicUsize::new(0),
                job_ready: Condvar::new(),
                all_exited: Condvar::new(),
                max_threads: config.max_threads,
                keep_alive: config.keep_alive,
                thread_name: config.thread_name,
                stack_size: config.stack_size,
                hooks: config.hooks,
            }),
        }
    }

    /// Runs `f` on a pool thread. `rt` is entered on that thread, so `filch::spawn` works there.
    pub(crate) fn spawn<F, R>(&self, rt: &scheduler::Handle, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, join) = task::unowned(BlockingTask(Some(f)), NoSchedule, Id::next());
        let mut state = self.inner.lock();
        if state.shutdown {
            drop(state);
            job.shutdown();
            return join;
        }
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        state.queue.push_back(job);
        if state.num_idle > 0 {
            state.num_idle -= 1;
            state.num_notify += 1;
            self.inner.job_ready.notify_one();
        } else if state.num_threads < self.inner.max_threads {
            state.num_threads += 1;
            drop(state);
            self.start_thread(rt);
        }
        // Otherwise every thread is busy and the pool is full: the job waits its turn.
        join
    }

    fn start_thread(&self, rt: &scheduler::Handle) {
        let inner = self.inner.clone();
        let rt = rt.clone();
        let mut builder =
            std::thread::Builder::new().name(format!("{}-blocking", inner.thread_name));
        if let Some(size) = inner.stack_size {
            builder = builder.stack_size(size);
        }
        if let Err(err) = builder.spawn(move || inner.run(rt)) {
            // Could not start a thread: the job stays queued for a running thread if there is
            // one; with none at all, fail the queued jobs rather than hang their joiners.
            let mut state = self.inner.lock();
            state.num_threads -= 1;
            if state.num_threads == 0 {
                let jobs: Vec<Job> = state.queue.drain(..).collect();
                self.inner.in_flight.fetch_sub(jobs.len(), Ordering::SeqCst);
                drop(state);
                eprintln!(
                    "filch: cannot start a blocking-pool thread ({err}); cancelling its jobs"
                );
                jobs.into_iter().for_each(Job::shutdown);
            }
        }
    }

    /// Threads (busy or idle), idle threads and queued jobs now, for the metrics.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let state = self.inner.lock();
        (state.num_threads, state.num_idle, state.queue.len())
    }

    /// Jobs queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Refuses new jobs, cancels queued ones and waits for the threads to exit (until `deadline`).
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) {
        let mut state = self.inner.lock();
        state.shutdown = true;
        let jobs: Vec<Job> = state.queue.drain(..).collect();
        self.inner.in_flight.fetch_sub(jobs.len(), Ordering::SeqCst);
        self.inner.job_ready.notify_all();
        drop(state);
        jobs.into_iter().for_each(Job::shutdown);

        // A runtime dropped inside one of its own blocking jobs must not wait for that job's thread.
        let own = usize::from(self.inner.is_current_thread());
        let mut state = self.inner.lock();
        while state.num_threads > own {
            match deadline {
                None => {
                    state = self
                        .inner
                        .all_exited
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    state = self
                        .inner
                        .all_exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_current_thread(&self) -> bool {
        POOL_THREAD
            .try_with(|p| ptr::eq(p.get(), self))
            .unwrap_or(false)
    }

    /// A pool thread's life: the start hook, the jobs, the stop hook, then counted out (after the
    /// stop hook, so that a shutdown that waited for the threads finds every hook done).
    fn run(&self, rt: scheduler::Handle) {
        self.hooks.run(|| self.serve(rt));
        let mut state = self.lock();
        state.num_threads -= 1;
        // Shutdown may be waiting for every thread but the one that called it.
        if state.num_threads <= 1 {
            self.all_exited.notify_all();
        }
    }

    /// Runs jobs until shutdown or the keep-alive time passes with none.
    fn serve(&self, rt: scheduler::Handle) {
        let _enter = crate::context::enter(rt.clone());
        POOL_THREAD.with(|p| p.set(self));
        let mut state = self.lock();
        'outer: loop {
            while let Some(job) = state.queue.pop_front() {
                drop(state);
                // Counted in `in_flight` since it was queued.
                rt.shared.wait_for_clock_jump();
                job.run();
                // What the job started (its joiner's wake-up) is visible by now.
                rt.shared.bump_clock_epoch();
                // SeqCst: the runtime's idle check reads this after its own SeqCst writes; if
                // it read the job as in flight, it sees the unpark below.
                if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                    // The last job ended: a runtime waiting on a paused clock may now be idle.
                    rt.clock_may_advance();
                }
                state = self.lock();
            }
            if state.shutdown {
                break;
            }
            state.num_idle += 1;
            let idle_since = Instant::now();
            loop {
                let waited = idle_since.elapsed();
                if waited >= self.keep_alive && state.num_notify == 0 {
                    state.num_idle -= 1;
                    break 'outer;
                }
                state = self
                    .job_ready
                    .wait_timeout(state, self.keep_alive.saturating_sub(waited))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                if state.num_notify > 0 {
                    // `spawn` already took us off the idle count.
                    state.num_notify -= 1;
                    break;
                }
                if state.shutdown {
                    state.num_idle -= 1;
                    break 'outer;
                }
            }
        }
        // Let go of the runtime before counting this thread out: once shutdown sees the count
        // drop it may free the runtime's state (its driver's file descriptors with it), and it
        // must not find this thread still holding a reference (found by the soak run: fds still
        // open just after the runtime's drop returned).
        drop(state);
        drop(_enter);
        drop(rt);
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &state.num_threads)
            .field("idle", &state.num_idle)
            .field("queued", &state.queue.len())
            .finish()
    }
}

/// The future of a blocking job: runs the closure on its first poll, without a cooperative budget.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking job polled after it completed");
        Poll::Ready(coop::unconstrained(f))
    }
}

/// Blocking jobs never wait on a waker, so nothing ever reschedules them: the only wake-up a job
/// can get is `abort`, which finds it queued (notified) or running and only marks it cancelled.
struct NoSchedule;

impl Schedule for NoSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn schedule(&self, task: task::Notified<Self>) {
        // Unreachable by the argument above; cancelling is the safe answer if it ever happens.
        task.shutdown();
    }
}
