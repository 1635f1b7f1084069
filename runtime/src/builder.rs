//! `Builder`: runtime settings.

use crate::blocking::{BlockingConfig, BlockingPool};
use crate::runtime::Runtime;
use crate::scheduler;
use crate::watchdog::SlowPollCallback;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = filch::Builder::new()
///     .worker_threads(2)
///     .thread_name("app")
///     .max_blocking_threads(16)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    current_thread: bool,
    start_paused: bool,
    worker_threads: Option<usize>,
    thread_name: String,
    max_blocking_threads: usize,
    keep_alive: Duration,
    stack_size: Option<usize>,
    hooks: ThreadHooks,
    slow_poll_threshold: Option<Duration>,
    on_slow_poll: SlowPollCallback,
    rescue_threshold: Option<Duration>,
}

/// A callback run on a runtime thread.
type Hook = Arc<dyn Fn() + Send + Sync>;

/// `on_thread_start` / `on_thread_stop`, run by every thread the runtime starts.
#[derive(Clone, Default)]
pub(crate) struct ThreadHooks {
    start: Option<Hook>,
    stop: Option<Hook>,
}

impl ThreadHooks {
    /// Runs `body` between the start hook and the stop hook; the stop hook runs even if `body`
    /// unwinds.
    pub(crate) fn run<R>(&self, body: impl FnOnce() -> R) -> R {
        struct Stop<'a>(&'a Option<Hook>);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                if let Some(stop) = self.0 {
                    stop();
                }
            }
        }
        if let Some(start) = &self.start {
            start();
        }
        let _stop = Stop(&self.stop);
        body()
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: one worker per available core, thread names starting with `filch`, at most
    /// 512 blocking threads that exit after 10 s idle, the platform's default stack size.
    pub fn new() -> Builder {
        Builder {
            current_thread: false,
            start_paused: false,
            worker_threads: None,
            thread_name: "filch".to_owned(),
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            stack_size: None,
            hooks: ThreadHooks::default(),
            slow_poll_threshold: Some(Duration::from_millis(100)),
            on_slow_poll: Arc::new(crate::watchdog::print_to_stderr),
            rescue_threshold: Some(Duration::from_millis(5)),
        }
    }

    /// The same as [`Builder::new`]: a multi-thread runtime (the name tokio users look for).
    pub fn new_multi_thread() -> Builder {
        Builder::new()
    }

    /// A current-thread runtime: no worker threads; the thread that calls
    /// [`block_on`](Runtime::block_on) runs every task and turns the I/O driver and the timers
    /// until its future completes. What single-threaded programs, embedders and deterministic
    /// tests want (`#[filch::test]` uses it by default). `spawn_blocking` still has its pool of
    /// threads.
    ///
    /// Tasks run only while some thread is inside `block_on`: a task spawned through a
    /// [`Handle`](crate::Handle) meanwhile waits for the next `block_on`, and so do timers and
    /// sockets. [`worker_threads`](Builder::worker_threads) does not apply (as in tokio, it is
    /// ignored).
    ///
    /// ```
    /// let rt = filch::Builder::new_current_thread().build().unwrap();
    /// let caller = std::thread::current().id();
    /// let ran_on = rt.block_on(async {
    ///     filch::spawn(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(ran_on, caller);
    /// ```
    pub fn new_current_thread() -> Builder {
        Builder {
            current_thread: true,
            ..Builder::new()
        }
    }

    /// Starts the runtime with its clock paused, for tests of time-dependent code: see
    /// `filch::time::pause` for what a paused clock does. Default: false.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = filch::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// let wall = std::time::Instant::now();
    /// rt.block_on(async {
    ///     // A day of retries, every minute: no real waiting.
    ///     for _ in 0..1440 {
    ///         filch::sleep(Duration::from_secs(60)).await;
    ///     }
    /// });
    /// assert!(wall.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Builder {
        self.start_paused = paused;
        self
    }

    /// Number of worker threads, which run the tasks. Default: `std::thread::available_parallelism()`.
    ///
    /// # Panics
    /// If `n` is 0: a runtime without workers could never run a task.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(
            n > 0,
            "filch::Builder::worker_threads: the number of workers must be at least 1"
        );
        self.worker_threads = Some(n);
        self
    }

    /// The prefix of the runtime's thread names: workers are `{name}-worker-{i}`, blocking-pool
    /// threads `{name}-blocking`. Default: `filch`.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = name.into();
        self
    }

    /// The most threads the blocking pool may run at once; more `spawn_blocking` jobs wait for a
    /// free thread. Default: 512.
    ///
    /// # Panics
    /// If `n` is 0: `spawn_blocking` jobs would never run.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        assert!(
            n > 0,
            "filch::Builder::max_blocking_threads: the blocking pool needs at least 1 thread"
        );
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it exits. Default: 10 s.
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.keep_alive = keep_alive;
        self
    }

    /// Stack size of every runtime thread, in bytes. Default: the platform's (as `std::thread`).
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on every thread the runtime starts (its workers and its blocking-pool threads),
    /// first thing on that thread, before it runs any task or job (tokio's `on_thread_start`):
    /// to set a thread-local, a CPU affinity, a tracing span. `f` must not panic: a worker whose
    /// hook panics is lost.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let rt = filch::Builder::new()
    ///     .worker_threads(2)
    ///     .on_thread_start({
    ///         let started = started.clone();
    ///         move || {
    ///             started.fetch_add(1, SeqCst);
    ///         }
    ///     })
    ///     .on_thread_stop({
    ///         let stopped = stopped.clone();
    ///         move || {
    ///             stopped.fetch_add(1, SeqCst);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { filch::spawn_blocking(|| ()).await.unwrap() });
    /// drop(rt); // joins the workers and the blocking thread
    /// assert_eq!(started.load(SeqCst), 3);
    /// assert_eq!(stopped.load(SeqCst), 3);
    /// ```
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.hooks.start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on every runtime thread last thing before it exits (tokio's `on_thread_stop`):
    /// a worker when the runtime shuts down, a blocking-pool thread then or once it has been idle
    /// for the keep-alive time. It runs even if the thread is unwinding.
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Builder {
        self.hooks.stop = Some(Arc::new(f));
        self
    }

    /// How long one poll of a task may run before it is reported as slow, while it still runs
    /// (and again when it returns): 100 ms by default; `None` turns the reports off. A poll that
    /// long is a task blocking its worker (`std::thread::sleep`, a blocking call, a long
    /// computation without an `.await`), and everything queued behind it waits.
    ///
    /// One watchdog thread for the whole process reads each worker's current poll every quarter
    /// of the threshold; the workers pay two relaxed stores per poll (the task's id, then zero).
    /// A poll longer than the threshold and a quarter is always reported while it runs, one
    /// shorter than the threshold never; the times given are lower bounds. It watches the tasks
    /// the workers run, not `spawn_local` tasks nor the future given to `block_on`. Reports go
    /// to [`on_slow_poll`](Builder::on_slow_poll), by default one line on stderr:
    ///
    /// ```text
    /// filch: task 7 "fetch" (spawned at src/main.rs:20:5) has been in one poll on worker 1 for at least 104ms (blocking its worker?)
    /// filch: task 7 "fetch" (spawned at src/main.rs:20:5) returned after at least 290ms in one poll on worker 1
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Option<Duration>) -> &mut Builder {
        self.slow_poll_threshold = threshold;
        self
    }

    /// Where slow polls are reported (see [`slow_poll_threshold`](Builder::slow_poll_threshold)):
    /// `f` is called on the watchdog thread, once while the poll runs and once when it returns.
    /// A panic in `f` is caught. Keep `f` short: while it runs, the watchdog reads no worker,
    /// so it also delays the stuck-worker rescue (`rescue_threshold`) of every runtime of the
    /// process (send the report to a channel if it must go somewhere slow).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let rt = filch::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .slow_poll_threshold(Some(Duration::from_millis(20)))
    ///     .on_slow_poll({
    ///         let reports = reports.clone();
    ///         move |slow| reports.lock().unwrap().push(slow.to_string())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     filch::task::Builder::new()
    ///         .name("blocker")
    ///         .spawn(async { std::thread::sleep(Duration::from_millis(100)) })
    ///         .await
    ///         .unwrap();
    /// });
    /// drop(rt);
    /// # std::thread::sleep(Duration::from_millis(20));
    /// let reports = reports.lock().unwrap();
    /// assert!(reports[0].contains("\"blocker\" (spawned at "), "{reports:?}");
    /// assert!(reports[0].contains("has been in one poll"), "{reports:?}");
    /// ```
    pub fn on_slow_poll(
        &mut self,
        f: impl Fn(&crate::SlowPoll) + Send + Sync + 'static,
    ) -> &mut Builder {
        self.on_slow_poll = Arc::new(f);
        self
    }

    /// How long a worker may be inside one poll before the other workers take over the task
    /// queued in its LIFO slot: 5 ms by default; `None` turns the rescue off. It does nothing on
    /// a current-thread runtime or with one worker (nobody to take over).
    ///
    /// A task woken or spawned by a running task goes to that worker's LIFO slot, to run next on
    /// the same warm core; other workers do not steal it (stealing it eagerly costs wake-ups
    /// and context switches on every message). But if the running task then blocks its worker
    /// (`std::thread::sleep`, a blocking call, a long computation), the woken task would wait
    /// for the whole block, however idle the other workers are. The slow-poll watchdog thread
    /// reads each worker's current poll every half of this threshold; once one poll has lasted
    /// longer, it moves the slot's task to the shared queue and wakes a sleeping worker for it,
    /// and does so again at each reading while the poll lasts. Tasks in the worker's local queue
    /// are stealable anyway (a worker is woken to steal them). The blocked task itself keeps its
    /// worker, which carries on normally once the poll returns. Tasks that yielded
    /// (`yield_now`, or a spent budget) just before the block are not rescued: they wait in a
    /// list only their worker reads, as they do in tokio.
    ///
    /// A worker pays nothing per poll beyond the slow-poll watchdog's two stores; its LIFO
    /// slot is one atomic pointer (a swap to put a task in, and one to take it out). The
    /// watchdog thread wakes every half threshold while any worker is awake, and sleeps while
    /// all of them sleep. [`WorkerMetrics::rescued`](crate::WorkerMetrics::rescued) counts the
    /// tasks rescued.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = filch::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .rescue_threshold(Some(Duration::from_millis(10)))
    ///     .build()
    ///     .unwrap();
    /// let waited = rt.block_on(async {
    ///     filch::spawn(async {
    ///         let (tx, rx) = filch::sync::oneshot::channel();
    ///         // Spawned here, so it is queued in this worker's LIFO slot...
    ///         let woken = filch::spawn(async move {
    ///             let _ = tx.send(Instant::now());
    ///         });
    ///         let queued = Instant::now();
    ///         // ...and this worker blocks: the other one takes the task over.
    ///         std::thread::sleep(Duration::from_millis(300));
    ///         let _ = woken;
    ///         rx.await.unwrap() - queued
    ///     })
    ///     .await
    ///     .unwrap()
    /// });
    /// assert!(waited < Duration::from_millis(300), "{waited:?}");
    /// ```
    pub fn rescue_threshold(&mut self, threshold: Option<Duration>) -> &mut Builder {
        self.rescue_threshold = threshold;
        self
    }

    /// Creates the I/O driver and starts the worker threads (none for a current-thread runtime). Fails only if the operating system
    /// refuses a poller (epoll/kqueue instance) or a thread.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let num_workers = match self.worker_threads {
            _ if self.current_thread => 1,
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let blocking = BlockingPool::new(BlockingConfig {
            max_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            hooks: self.hooks.clone(),
        });
        let driver = filch_reactor::Driver::new()?;
        if self.start_paused {
            driver.handle().pause_clock();
        }
        let (handle, workers) = scheduler::start(scheduler::WorkerConfig {
            num_workers,
            driver,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            hooks: self.hooks.clone(),
            blocking,
            lend: self.current_thread,
        })?;
        let rescue = self
            .rescue_threshold
            .filter(|_| !self.current_thread && num_workers > 1)
            .map(|after| {
                let shared = Arc::downgrade(&handle.shared);
                crate::watchdog::Rescue {
                    after,
                    run: Box::new(move |worker| {
                        if let Some(shared) = shared.upgrade() {
                            shared.rescue(worker);
                        }
                    }),
                }
            });
        let watched = (self.slow_poll_threshold.is_some() || rescue.is_some()).then(|| {
            let watched = Arc::new(crate::watchdog::Watched {
                counters: handle.shared.counters.to_vec(),
                threshold: self.slow_poll_threshold,
                callback: self.on_slow_poll.clone(),
                rescue,
                locate: Box::new({
                    let shared = Arc::downgrade(&handle.shared);
                    move |id| shared.upgrade()?.owned.location_of(id)
                }),
            });
            crate::watchdog::register(&watched);
            watched
        });
        Ok(Runtime::from_parts(handle, workers, watched))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("current_thread", &self.current_thread)
            .field("start_paused", &self.start_paused)
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.keep_alive)
            .field("thread_stack_size", &self.stack_size)
            .field("on_thread_start", &self.hooks.start.is_some())
            .field("on_thread_stop", &self.hooks.stop.is_some())
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("rescue_threshold", &self.rescue_threshold)
            .finish()
    }
}
