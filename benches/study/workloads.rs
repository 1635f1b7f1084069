//! Every workload of the study, written once over [`Rt`], with one set of parameters for all
//! runtimes. A workload returns one or more measurements, each a cost (lower is better): seconds
//! for a fixed amount of work, or a latency in microseconds.

use crate::rt::{heap_in_use, Filch, HttpServer, Rt, Smol, Tokio};
use crate::work::{durations, yield_once};
use hdrhistogram::Histogram;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::{Duration, Instant};

/// How big each workload is; `--quick` shrinks the slow ones.
#[derive(Clone, Copy)]
pub(crate) struct Params {
    /// Threads that run tasks (1 for a current-thread runtime).
    pub(crate) workers: usize,
    /// The worker count as the report keys it: 0 for the current-thread runtimes.
    pub(crate) key: usize,
    pub(crate) quick: bool,
}

impl Params {
    fn pick(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One workload: its name, what it measures, and its function on each runtime (`None` where it
/// does not map onto the runtime).
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    /// One name per measurement the function returns, with its unit.
    pub(crate) metrics: &'static [(&'static str, Unit)],
    pub(crate) about: &'static str,
    pub(crate) filch: fn(&Filch, &Params) -> Vec<f64>,
    pub(crate) tokio: fn(&Tokio, &Params) -> Vec<f64>,
    pub(crate) smol: Option<fn(&Smol, &Params) -> Vec<f64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Seconds,
    Micros,
    /// A count per request (syscalls, context switches): shown in the tables, left out of the
    /// geometric means and the charts, which are about time.
    PerRequest,
    /// Heap bytes per task: shown in the tables, left out of the geometric means and the
    /// charts, as counts are.
    BytesPerTask,
    /// Heap bytes per connection (both ends), likewise.
    BytesPerConnection,
    /// A plain count (how many connections a run made), likewise.
    Count,
}

impl Unit {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Micros => "µs",
            Unit::PerRequest => "per request",
            Unit::BytesPerTask => "bytes per task",
            Unit::BytesPerConnection => "bytes per connection",
            Unit::Count => "count",
        }
    }

    /// Whether it is a time (the geometric means and the charts are of times only).
    pub(crate) fn is_time(self) -> bool {
        matches!(self, Unit::Seconds | Unit::Micros)
    }
}

const TIME: &[(&str, Unit)] = &[("", Unit::Seconds)];

/// The HTTP workloads' measurements (see [`http_load`]).
const HTTP: &[(&str, Unit)] = &[
    ("", Unit::Micros),
    ("p99", Unit::Micros),
    ("syscalls", Unit::PerRequest),
    ("ctx switches", Unit::PerRequest),
];

macro_rules! workload {
    ($name:ident, $about:expr) => {
        workload!($name, TIME, $about)
    };
    ($name:ident, $metrics:expr, $about:expr) => {
        Workload {
            name: stringify!($name),
            metrics: $metrics,
            about: $about,
            filch: $name::<Filch>,
            tokio: $name::<Tokio>,
            smol: Some($name::<Smol>),
        }
    };
}

/// Every workload, in report order.
pub(crate) fn all() -> Vec<Workload> {
    vec![
        workload!(spawn_many_local, "10,000 tasks spawned from block_on, detached"),
        workload!(spawn_many_remote_idle, "10,000 tasks spawned from outside onto idle workers, joined"),
        workload!(spawn_many_remote_busy1, "as remote_idle while 2×workers tasks burn 10 µs per poll and yield"),
        workload!(spawn_many_remote_busy2, "1,000 remote spawns while each worker runs a chain of 10 µs tasks"),
        workload!(ping_pong, "1,000 pairs of tasks exchanging a oneshot message each way"),
        workload!(yield_many, "200 tasks yielding 1,000 times each"),
        workload!(chained_spawn, "1,000 tasks, each spawned by the previous one"),
        workload!(fan_out_in_task, "a task spawns 10,000 children from a worker and joins them"),
        workload!(steal_balance, "one task spawns 10,000 tasks of 1 µs CPU; idle workers must steal"),
        workload!(remote_spawn_1_thread, "10,000 spawns from 1 outside thread"),
        workload!(remote_spawn_2_threads, "10,000 spawns split over 2 outside threads at once"),
        workload!(remote_spawn_4_threads, "10,000 spawns split over 4 outside threads at once"),
        workload!(timers_fire, "100,000 sleeps of 0–10 ms from as many tasks (quick: 20,000)"),
        workload!(timers_cancel, "100,000 sleeps polled once and dropped (quick: 20,000)"),
        workload!(timeout_pending, "10,000 timeouts of 50 ms around a 1 ms sleep that really pends"),
        workload!(
            timer_lateness,
            &[("mean", Unit::Micros)],
            "mean lateness of 1,000 sleeps of 0–10 ms: wake-up time minus deadline"
        ),
        Workload {
            name: "paused_sleeps",
            metrics: TIME,
            about: "a test on a paused clock: 1,000 tasks (quick: 200) each sleeping 10 times \
                    for 1 s to 1 h (seeded), on a fresh current-thread runtime started paused, \
                    which jumps its clock to the next deadline whenever it is idle (filch \
                    `start_paused`, tokio `start_paused` from its `test-util` feature: tokio \
                    pauses only its current-thread runtime, so both use theirs whatever the \
                    worker count); run in a child process of the study so that tokio's \
                    process-wide `did the clock ever pause` flag stays false for the other \
                    rows; smol has no paused clock",
            filch: paused_sleeps_filch,
            tokio: paused_sleeps_tokio,
            smol: None,
        },
        workload!(
            idle_task_memory,
            &[("waiting", Unit::BytesPerTask), ("sleeping", Unit::BytesPerTask)],
            "heap bytes per idle task: on a fresh runtime of the row's worker count, 10,000 \
             tasks spawned from outside, each polled once and then waiting on a oneshot channel \
             (waiting) or racing that channel against a sleep of an hour (sleeping); glibc's \
             bytes in use (`mallinfo2`, every arena) once all are waiting, minus before the \
             first spawn, over 10,000. The channels and the handles' vector exist before the \
             first reading, so what is counted is the task and what the runtime keeps for it \
             (its timer, for a sleep, with the growth of any vector that holds timers). Left \
             out without glibc"
        ),
        workload!(
            runtime_build_drop,
            "build a runtime of the row's worker count and drop it, as the study builds them \
             (filch `Builder`, tokio `Builder` with `enable_all`; smol: an `Executor` run by \
             that many threads, as in every other row; `ct`: a current-thread runtime inside \
             `block_on` on a thread of its own, for filch and tokio alike). Each drop waits for \
             the runtime's threads to exit"
        ),
        workload!(join_all_10k, "join_all of 10,000 futures woken once (tokio, smol: futures-util)"),
        workload!(group_10k, "10,000 tasks in a group, joined (filch TaskGroup, tokio JoinSet, smol Vec<Task>)"),
        workload!(select_10k, "10,000 two-branch selects (filch/tokio select!, smol future::or)"),
        workload!(
            spawn_local_10k,
            "10,000 tasks that are not Send (each holds an Rc), spawned on the calling thread, \
             yield once each, joined (filch spawn_local in block_on, tokio LocalSet, smol \
             LocalExecutor)"
        ),
        workload!(
            sync_channel_ping_pong,
            "10,000 round trips between two tasks over two bounded(1) channels (filch \
             `sync::mpmc`, tokio `sync::mpsc`, smol `channel`)"
        ),
        workload!(
            sync_channel_4_to_1,
            "4 producer tasks send 25,000 numbers each into one bounded(128) channel; one \
             consumer task receives all 100,000"
        ),
        workload!(
            sync_mutex_contended,
            "16 tasks lock one asynchronous mutex 1,000 times each to add one (filch \
             `sync::Mutex`, tokio `sync::Mutex`, smol `lock::Mutex`)"
        ),
        workload!(
            sync_semaphore_fan_out,
            "10,000 tasks each take one of 64 semaphore permits, yield once holding it, and give \
             it back; joined (filch `sync::Semaphore`, tokio's, smol `lock::Semaphore`)"
        ),
        workload!(
            signal_round_trip,
            "1,000 round trips (quick: 200) of a Unix signal a task raises at itself and awaits \
             on its runtime's listener (filch SIGUSR1, tokio SIGUSR2, smol SIGWINCH through \
             async-signal)"
        ),
        workload!(
            wake_latency,
            &[("p50", Unit::Micros), ("p99", Unit::Micros), ("p99.9", Unit::Micros)],
            "wake-to-run latency of a probe woken from a thread every 500 µs, 1,000 probes (quick: 200), \
             while 2×workers tasks run 200 µs polls"
        ),
        workload!(
            http_raw,
            HTTP,
            "a hand-written HTTP/1.1 hello-world responder (one read, one write; not an HTTP \
             implementation: the runtime's socket cost alone) under `wrk -t1 -c50 --latency` for \
             2 s (quick: 1 s): µs per request (the inverse of requests/s), wrk's p99 latency, and \
             the study process's syscalls and context switches per request during the load \
             (`perf stat -e raw_syscalls:sys_enter,context-switches -p`; left out without perf); \
             skipped without wrk"
        ),
        #[cfg(feature = "hyper")]
        workload!(
            http_hello,
            HTTP,
            "hyper 1.x serving hello world (one `service_fn`: a 200 with `Hello world!` and \
             `content-type: text/plain`; `http1::Builder` defaults: keep-alive, no timer), one \
             task per connection, under the same load and with the same measurements as \
             http_raw. Each runtime hands hyper its stream as its users do: filch the \
             `TcpStream` itself (reads into hyper's buffer without zeroing it), tokio through \
             hyper-util's `TokioIo`, smol through smol-hyper's `FuturesIo`, which zeroes \
             hyper's read buffer before every read (a `futures-io` read takes an initialised \
             slice) and does not report vectored writes. Needs filch's `hyper` feature \
             (`cargo bench --bench study --features hyper`); skipped without wrk"
        ),
        workload!(
            c100k,
            &[
                ("connections", Unit::Count),
                ("connect", Unit::Micros),
                ("sweep", Unit::Seconds),
                ("heap", Unit::BytesPerConnection),
            ],
            "opt-in (`--only c100k`): up to 100,000 loopback TCP connections, as many as the \
             open-file limit allows (the run raises its soft limit to the hard one; each \
             connection takes two descriptors), spread over listeners on 127.0.0.1 to .4 so \
             that ephemeral ports last; opened one after another and held idle (a 64-byte \
             echo task per server end), then one 64-byte message down each and every echo \
             read. Measures: the connections made, µs per connect, the sweep's time, and heap \
             bytes per connection (both ends, glibc `mallinfo2`, user space only)"
        ),
        workload!(
            tcp_echo,
            &[("", Unit::Seconds), ("p99 rtt", Unit::Micros)],
            "50 connections × 2,000 round trips of 64 B on loopback (quick: × 200)"
        ),
    ]
}

const NUM_SPAWN: usize = 10_000;

/// Burns `d` of CPU, yielding the OS thread between clock reads as tokio's benchmarks do (so a
/// thread that is not a worker, like the spawner, still gets a core now and then).
fn stall(d: Duration) {
    let now = Instant::now();
    while now.elapsed() < d {
        std::thread::yield_now();
    }
}

fn timed(f: impl FnOnce()) -> Vec<f64> {
    let start = Instant::now();
    f();
    vec![start.elapsed().as_secs_f64()]
}

fn spawn_many_local<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    timed(|| {
        rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let (tx, rem) = (tx.clone(), rem.clone());
                rt.spawn_detached(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

fn spawn_and_join_remote<R: Rt>(rt: &R, n: usize) {
    let handles: Vec<_> = (0..n).map(|_| rt.spawn(async {})).collect();
    rt.block_on(async {
        for h in handles {
            h.await;
        }
    });
}

fn spawn_many_remote_idle<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| spawn_and_join_remote(rt, NUM_SPAWN))
}

/// Runs `f` while background tasks keep the workers busy; they stop (and are joined) after.
fn with_busy_workers<R: Rt>(
    rt: &R,
    busy: impl FnOnce(Arc<AtomicBool>) -> Vec<R::Join<()>>,
    f: impl FnOnce() -> Vec<f64>,
) -> Vec<f64> {
    let flag = Arc::new(AtomicBool::new(true));
    let busy = busy(flag.clone());
    let out = f();
    flag.store(false, Relaxed);
    rt.block_on(async {
        for b in busy {
            b.await;
        }
    });
    out
}

/// `tasks` tasks that each burn `poll` of CPU per poll and yield, until `flag` is cleared.
fn spawn_busy<R: Rt>(
    rt: &R,
    flag: &Arc<AtomicBool>,
    tasks: usize,
    poll: Duration,
) -> Vec<R::Join<()>> {
    (0..tasks)
        .map(|_| {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    R::yield_now().await;
                    stall(poll);
                }
            })
        })
        .collect()
}

fn spawn_many_remote_busy1<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    with_busy_workers(
        rt,
        |flag| spawn_busy(rt, &flag, 2 * p.workers, Duration::from_micros(10)),
        || timed(|| spawn_and_join_remote(rt, NUM_SPAWN)),
    )
}

fn spawn_many_remote_busy2<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    fn chain<R: Rt>(rt: R, flag: Arc<AtomicBool>, done: mpsc::SyncSender<()>) {
        let next = rt.clone();
        rt.spawn_detached(async move {
            if flag.load(Relaxed) {
                stall(Duration::from_micros(10));
                chain(next, flag, done);
            } else {
                let _ = done.send(());
            }
        });
    }
    let flag = Arc::new(AtomicBool::new(true));
    let (done_tx, done_rx) = mpsc::sync_channel(p.workers);
    for _ in 0..p.workers {
        chain(rt.clone(), flag.clone(), done_tx.clone());
    }
    let out = timed(|| spawn_and_join_remote(rt, 1_000));
    flag.store(false, Relaxed);
    for _ in 0..p.workers {
        done_rx.recv().unwrap();
    }
    out
}

fn ping_pong<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const PINGS: usize = 1_000;
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(PINGS));
    let inner = rt.clone();
    timed(|| {
        rt.spawn_detached(async move {
            for _ in 0..PINGS {
                let (rem, done_tx, rt) = (rem.clone(), done_tx.clone(), inner.clone());
                inner.spawn_detached(async move {
                    let (tx1, rx1) = futures_channel::oneshot::channel::<()>();
                    let (tx2, rx2) = futures_channel::oneshot::channel::<()>();
                    rt.spawn_detached(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    });
                    tx1.send(()).unwrap();
                    rx2.await.unwrap();
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                });
            }
        });
        done_rx.recv().unwrap();
    })
}

fn yield_many<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const TASKS: usize = 200;
    let (tx, rx) = mpsc::sync_channel(TASKS);
    timed(|| {
        for _ in 0..TASKS {
            let tx = tx.clone();
            rt.spawn_detached(async move {
                for _ in 0..1_000 {
                    R::yield_now().await;
                }
                tx.send(()).unwrap();
            });
        }
        for _ in 0..TASKS {
            rx.recv().unwrap();
        }
    })
}

fn chained_spawn<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    fn link<R: Rt>(rt: R, done: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            let next = rt.clone();
            rt.spawn_detached(async move { link(next, done, n - 1) });
        }
    }
    let (tx, rx) = mpsc::sync_channel(1);
    timed(|| {
        link(rt.clone(), tx, 1_000);
        rx.recv().unwrap();
    })
}

fn fan_out_in_task<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        rt.block_on(rt.spawn(async move {
            let children: Vec<_> = (0..NUM_SPAWN)
                .map(|i| inner.spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for child in children {
                sum += child.await;
            }
            assert_eq!(sum, NUM_SPAWN * (NUM_SPAWN - 1) / 2);
        }));
    })
}

fn steal_balance<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const TASKS: usize = 10_000;
    let inner = rt.clone();
    timed(|| {
        rt.block_on(rt.spawn(async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| inner.spawn(async { stall(Duration::from_micros(1)) }))
                .collect();
            for task in tasks {
                task.await;
            }
        }));
    })
}

fn remote_spawn_threads<R: Rt>(rt: &R, threads: usize) -> Vec<f64> {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    timed(|| {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (rt, tx, rem) = (rt.clone(), tx.clone(), rem.clone());
                scope.spawn(move || {
                    for _ in 0..NUM_SPAWN / threads {
                        let (tx, rem) = (tx.clone(), rem.clone());
                        rt.spawn_detached(async move {
                            if rem.fetch_sub(1, Relaxed) == 1 {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

fn remote_spawn_1_thread<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 1)
}

fn remote_spawn_2_threads<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 2)
}

fn remote_spawn_4_threads<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    remote_spawn_threads(rt, 4)
}

fn timers_fire<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let ds = durations(p.pick(100_000, 20_000));
    timed(|| {
        rt.block_on(async {
            let handles: Vec<_> = ds.iter().map(|&d| rt.spawn(R::sleep(d))).collect();
            for h in handles {
                h.await;
            }
        })
    })
}

fn timer_lateness<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let ds = durations(1_000);
    let late = rt.block_on(async {
        let handles: Vec<_> = ds
            .iter()
            .map(|&d| {
                rt.spawn(async move {
                    let deadline = Instant::now() + d;
                    R::sleep(d).await;
                    Instant::now().saturating_duration_since(deadline)
                })
            })
            .collect();
        let mut total = Duration::ZERO;
        for h in handles {
            total += h.await;
        }
        total
    });
    vec![late.as_secs_f64() * 1e6 / ds.len() as f64]
}

fn timers_cancel<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let n = p.pick(100_000, 20_000);
    timed(|| {
        rt.block_on(rt.spawn(async move {
            for _ in 0..n {
                let mut sleep = std::pin::pin!(R::sleep(Duration::from_secs(3600)));
                std::future::poll_fn(|cx| {
                    assert!(sleep.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
            }
        }))
    })
}

fn timeout_pending<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        rt.block_on(async {
            let handles: Vec<_> = (0..10_000)
                .map(|_| {
                    rt.spawn(async {
                        let out = R::timeout(
                            Duration::from_millis(50),
                            R::sleep(Duration::from_millis(1)),
                        )
                        .await;
                        assert!(out.is_some());
                    })
                })
                .collect();
            for h in handles {
                h.await;
            }
        })
    })
}

fn join_all_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        let out = rt.block_on(rt.spawn(R::join_all((0..NUM_SPAWN).map(yield_once).collect())));
        assert_eq!(out.len(), NUM_SPAWN);
    })
}

fn group_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let n = rt.block_on(rt.spawn(async move { inner.group(NUM_SPAWN, yield_once).await }));
        assert_eq!(n, NUM_SPAWN);
    })
}

fn select_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| {
        let sum = rt.block_on(rt.spawn(R::select_loop(NUM_SPAWN, yield_once)));
        assert_eq!(sum, NUM_SPAWN * (NUM_SPAWN - 1) / 2);
    })
}

/// Polls `a` and `b` until either is ready.
async fn race(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Heap bytes per task of 10,000 idle tasks (see `idle_task_memory`), each running
/// `idle(stop)`: it must wait until `stop` resolves. NaN without glibc.
fn idle_bytes<R: Rt, F>(key: usize, idle: fn(futures_channel::oneshot::Receiver<()>) -> F) -> f64
where
    F: Future<Output = ()> + Send + 'static,
{
    const TASKS: usize = 10_000;
    // A fresh runtime: one that ran the other rows keeps what its structures grew to (filch's
    // timer wheel keeps its entries' vector), which would hide what a task costs.
    let rt = &R::new(key);
    let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..TASKS)
        .map(|_| futures_channel::oneshot::channel::<()>())
        .unzip();
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(TASKS);
    let Some(before) = heap_in_use() else {
        return f64::NAN;
    };
    // `drain` keeps the receivers' vector allocated until after the second reading.
    for stop in receivers.drain(..) {
        let waiting = waiting.clone();
        handles.push(rt.spawn(async move {
            waiting.fetch_add(1, Relaxed);
            idle(stop).await;
        }));
    }
    while waiting.load(Relaxed) < TASKS {
        std::thread::sleep(Duration::from_micros(200));
    }
    // The last task counted itself just before its first await.
    std::thread::sleep(Duration::from_millis(2));
    let after = heap_in_use().unwrap_or(f64::NAN);
    drop(senders);
    rt.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
    drop(receivers);
    (after - before) / TASKS as f64
}

fn idle_task_memory<R: Rt>(_: &R, p: &Params) -> Vec<f64> {
    async fn wait(stop: futures_channel::oneshot::Receiver<()>) {
        let _ = stop.await;
    }
    async fn sleep_or_wait<R: Rt>(stop: futures_channel::oneshot::Receiver<()>) {
        race(R::sleep(Duration::from_secs(3600)), wait(stop)).await;
    }
    vec![
        idle_bytes::<R, _>(p.key, wait),
        idle_bytes::<R, _>(p.key, sleep_or_wait::<R>),
    ]
}

fn sync_channel_ping_pong<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const ROUNDS: usize = 10_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let (ping_tx, mut ping_rx) = R::channel::<usize>(1);
            let (pong_tx, mut pong_rx) = R::channel::<usize>(1);
            let echo = inner.spawn(async move {
                while let Some(n) = R::recv(&mut ping_rx).await {
                    R::send(&pong_tx, n + 1).await;
                }
            });
            for i in 0..ROUNDS {
                R::send(&ping_tx, i).await;
                assert_eq!(R::recv(&mut pong_rx).await, Some(i + 1));
            }
            drop(ping_tx);
            echo.await;
        }))
    })
}

fn sync_channel_4_to_1<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    const PER_PRODUCER: u64 = 25_000;
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        let sum = rt.block_on(rt.spawn(async move {
            let (tx, mut rx) = R::channel::<u64>(128);
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    inner.spawn(async move {
                        for i in 0..PER_PRODUCER {
                            R::send(&tx, i).await;
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut sum = 0;
            while let Some(n) = R::recv(&mut rx).await {
                sum += n;
            }
            R::join_all(producers).await;
            sum
        }));
        assert_eq!(sum, 4 * (0..PER_PRODUCER).sum::<u64>());
    })
}

fn sync_mutex_contended<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let mutex = Arc::new(R::mutex());
            let tasks = (0..16)
                .map(|_| {
                    let mutex = mutex.clone();
                    inner.spawn(async move {
                        for _ in 0..1_000 {
                            R::increment(&mutex).await;
                        }
                    })
                })
                .collect();
            R::join_all(tasks).await;
        }))
    })
}

fn sync_semaphore_fan_out<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let inner = rt.clone();
    timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let semaphore = Arc::new(R::semaphore(64));
            let tasks = (0..NUM_SPAWN)
                .map(|_| {
                    let semaphore = semaphore.clone();
                    inner.spawn(async move {
                        R::with_permit(&semaphore, R::yield_now()).await;
                    })
                })
                .collect();
            R::join_all(tasks).await;
        }))
    })
}

fn runtime_build_drop<R: Rt>(_: &R, p: &Params) -> Vec<f64> {
    timed(|| drop(R::new(p.key)))
}

/// How many connections `c100k` makes: up to 100,000, as the open-file limit allows once the
/// soft limit is raised to the hard one (each connection is two descriptors here; 256 are kept
/// for the runtimes and the rest of the study).
fn many_connections_count() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` and `setrlimit` read and write the one struct passed to them.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1_000;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let usable = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(256)
        / 2;
    usable.min(100_000)
}

fn c100k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let n = many_connections_count();
    let run = rt.many_connections(n);
    vec![
        n as f64,
        run.connect.as_secs_f64() * 1e6 / n as f64,
        run.sweep.as_secs_f64(),
        run.heap,
    ]
}

fn spawn_local_10k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| assert_eq!(rt.local_tasks(NUM_SPAWN), NUM_SPAWN))
}

fn signal_round_trip<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    timed(|| rt.signal_round_trips(p.pick(1_000, 200)))
}

/// The sleeps of task `task` in [`paused_sleeps`]: 10 durations of 1 s to 1 h from a seeded
/// generator, the same on both runtimes.
fn paused_durations(task: usize) -> impl Iterator<Item = Duration> {
    let mut state = (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..10).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(1_000 + state % 3_599_000)
    })
}

/// The child-process side of `paused_sleeps`: `study --paused-child <runtime> <tasks>` runs the
/// sleeps on a fresh paused runtime and prints the seconds they took (building the runtime
/// left out).
pub(crate) fn paused_child(runtime: &str, tasks: usize) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let seconds = match runtime {
        "filch" => {
            let rt = filch::Builder::new_current_thread()
                .start_paused(true)
                .build()
                .expect("filch runtime");
            timed(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|task| {
                            let done = done.clone();
                            filch::spawn(async move {
                                for d in paused_durations(task) {
                                    filch::sleep(d).await;
                                }
                                done.fetch_add(1, Relaxed);
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            })[0]
        }
        "tokio" => {
            // `enable_all`, as `#[tokio::test(start_paused = true)]` builds it: with its I/O
            // driver, as filch's runtime always has one.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("tokio runtime");
            timed(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..tasks)
                        .map(|task| {
                            let done = done.clone();
                            tokio::spawn(async move {
                                for d in paused_durations(task) {
                                    tokio::time::sleep(d).await;
                                }
                                done.fetch_add(1, Relaxed);
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            })[0]
        }
        other => panic!("--paused-child: unknown runtime {other:?}"),
    };
    assert_eq!(done.load(Relaxed), tasks, "every paused task finished");
    seconds
}

/// Runs [`paused_child`] in a child process of the study (see the workload's description).
fn paused_sleeps_in_child(runtime: &str, p: &Params) -> Vec<f64> {
    let tasks = p.pick(1_000, 200);
    let exe = std::env::current_exe().expect("the study's own executable");
    let out = std::process::Command::new(exe)
        .args(["--paused-child", runtime, &tasks.to_string()])
        .output()
        .expect("run the study's paused-clock child");
    assert!(
        out.status.success(),
        "paused-clock child for {runtime} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    vec![text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("paused-clock child printed {text:?}"))]
}

fn paused_sleeps_filch(_: &Filch, p: &Params) -> Vec<f64> {
    paused_sleeps_in_child("filch", p)
}

fn paused_sleeps_tokio(_: &Tokio, p: &Params) -> Vec<f64> {
    paused_sleeps_in_child("tokio", p)
}

fn wake_latency<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let probes = p.pick(1_000, 200);
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<Instant>();
    let probe = rt.spawn(async move {
        use futures_util::StreamExt;
        let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        while let Some(sent) = rx.next().await {
            hist.record(sent.elapsed().as_nanos().max(1) as u64)
                .unwrap();
        }
        hist
    });
    with_busy_workers(
        rt,
        |flag| spawn_busy(rt, &flag, 2 * p.workers, Duration::from_micros(200)),
        || {
            for _ in 0..probes {
                std::thread::sleep(Duration::from_micros(500));
                tx.unbounded_send(Instant::now()).unwrap();
            }
            Vec::new()
        },
    );
    drop(tx);
    let hist = rt.block_on(probe);
    [0.5, 0.99, 0.999]
        .iter()
        .map(|q| hist.value_at_quantile(*q) as f64 / 1_000.0)
        .collect()
}

fn tcp_echo<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let run = rt.echo(50, p.pick(2_000, 200), 64);
    let mut rtts: Vec<Duration> = run.round_trips;
    rtts.sort_unstable();
    let p99 = rtts[(rtts.len() * 99 / 100).min(rtts.len() - 1)];
    vec![run.total.as_secs_f64(), p99.as_secs_f64() * 1e6]
}

/// `study --repeat <workload> <runtime> <workers> <times>`: builds one runtime and runs one
/// workload (quick sizes) `times` times on it, measuring nothing, for an instruction counter:
/// under `valgrind --tool=callgrind`, the count of a run with `times` = 3 minus one with 1,
/// halved, is what one run of the workload executes, setup and teardown cancelled out (the
/// README has the commands).
pub(crate) fn repeat(
    workload: &str,
    runtime: &str,
    workers: &str,
    times: &str,
) -> Result<(), String> {
    let key = if workers == "ct" {
        0
    } else {
        workers
            .parse()
            .map_err(|_| format!("bad worker count {workers:?}"))?
    };
    let times: usize = times.parse().map_err(|_| format!("bad count {times:?}"))?;
    let w = all()
        .into_iter()
        .find(|w| w.name == workload)
        .ok_or_else(|| format!("no workload named {workload:?}"))?;
    let params = Params {
        workers: key.max(1),
        key,
        quick: true,
    };
    // `STUDY_REPEAT_PRINT=1`: each run's first figure on stdout, one per line (to see how the
    // runs of one process spread: the slow phases of issue 12).
    let print = std::env::var_os("STUDY_REPEAT_PRINT").is_some();
    let report = |values: Vec<f64>| {
        if print {
            println!("{}", values.first().copied().unwrap_or(f64::NAN));
        }
    };
    match runtime {
        "filch" => {
            let rt = Filch::new(key);
            (0..times).for_each(|_| report((w.filch)(&rt, &params)));
        }
        "tokio" => {
            let rt = Tokio::new(key);
            (0..times).for_each(|_| report((w.tokio)(&rt, &params)));
        }
        "smol" => {
            let f = w.smol.ok_or("this workload has no smol side")?;
            let rt = Smol::new(key);
            (0..times).for_each(|_| report(f(&rt, &params)));
        }
        other => return Err(format!("unknown runtime {other:?}")),
    }
    Ok(())
}

/// Whether `wrk` (the HTTP load generator, from Debian's packages) can be run.
pub(crate) fn have_wrk() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

/// Parses a wrk latency ("512.00us", "1.20ms", "2.00s") into microseconds.
fn wrk_micros(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number,
        "ms" => number * 1e3,
        "s" => number * 1e6,
        _ => return None,
    })
}

/// Counts the syscalls and context switches of this process (every thread: the runtimes live in
/// it; wrk and perf do not) between [`Perf::start`] and [`Perf::stop`], with `perf stat` attached
/// to it, started with its counters disabled and switched on and off through its control
/// descriptors (stdin, with the acknowledgements on stdout), so that only the load is counted.
struct Perf {
    child: std::process::Child,
    ack: std::io::BufReader<std::process::ChildStdout>,
}

/// Why the perf counts are missing, said once.
static PERF_NOTE: std::sync::Once = std::sync::Once::new();

fn perf_missing(why: &str) {
    PERF_NOTE.call_once(|| {
        eprintln!("perf stat is unavailable ({why}): the HTTP workloads' syscall and context-switch counts are left out")
    });
}

impl Perf {
    /// `None` (said once on stderr) if perf is missing or cannot count this process.
    fn start() -> Option<Perf> {
        use std::process::{Command, Stdio};
        let child = Command::new("perf")
            .args([
                "stat",
                "-x,",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
            ])
            .args(["--delay=-1", "--control=fd:0,1", "-p"])
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => {
                perf_missing(&err.to_string());
                return None;
            }
        };
        let ack = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut perf = Perf { child, ack };
        if perf.command("enable") {
            Some(perf)
        } else {
            let _ = perf.child.kill();
            let stderr = perf
                .child
                .wait_with_output()
                .map(|o| o.stderr)
                .unwrap_or_default();
            perf_missing(String::from_utf8_lossy(&stderr).trim());
            None
        }
    }

    /// Sends `command` to perf and waits for its `ack`.
    fn command(&mut self, command: &str) -> bool {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut().expect("piped");
        if writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return false;
        }
        let mut line = Vec::new();
        matches!(self.ack.read_until(b'\n', &mut line), Ok(n) if n > 0) && line.ends_with(b"ack\n")
    }

    /// Stops counting, ends perf (SIGINT: it prints its counts) and returns (syscalls, context
    /// switches).
    fn stop(mut self) -> Option<(f64, f64)> {
        let disabled = self.command("disable");
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own child's, not yet
        // waited for.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&output.stderr);
        let count = |event: &str| {
            text.lines()
                .map(|l| l.split(',').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[2] == event)
                .and_then(|f| f[0].parse::<f64>().ok())
        };
        match (
            disabled,
            count("raw_syscalls:sys_enter"),
            count("context-switches"),
        ) {
            (true, Some(syscalls), Some(switches)) => Some((syscalls, switches)),
            _ => {
                perf_missing(text.trim());
                None
            }
        }
    }
}

/// An HTTP workload: `server` on this runtime under `wrk -t1 -c50 --latency`; µs per request
/// (from wrk's requests/s), wrk's p99, and the process's syscalls and context switches per
/// request (NaN, left out of the report, without perf).
fn http_load<R: Rt>(rt: &R, p: &Params, server: HttpServer) -> Vec<f64> {
    let seconds = p.pick(2, 1);
    let (output, counts) = rt.with_http_server(server, |addr| {
        let perf = Perf::start();
        let output = std::process::Command::new("wrk")
            .args([
                "-t1",
                "-c50",
                &format!("-d{seconds}s"),
                "--latency",
                &format!("http://{addr}/"),
            ])
            .output()
            .expect("wrk runs (checked before the study)");
        (output, perf.and_then(Perf::stop))
    });
    let text = String::from_utf8_lossy(&output.stdout);
    let rps: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected wrk output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| wrk_micros(v.trim()))
        .unwrap_or_else(|| panic!("no p99 in wrk output:\n{text}"));
    // "  123456 requests in 1.00s, 12.34MB read"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    let (syscalls, switches) = counts.unwrap_or((f64::NAN, f64::NAN));
    vec![1e6 / rps, p99, syscalls / requests, switches / requests]
}

fn http_raw<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    http_load(rt, p, HttpServer::Raw)
}

#[cfg(feature = "hyper")]
fn http_hello<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    http_load(rt, p, HttpServer::Hyper)
}
