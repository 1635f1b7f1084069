//! Every workload of the study, written once over [`Rt`], with one set of parameters for all
//! runtimes. A workload returns one or more measurements, each a cost (lower is better): seconds
//! for a fixed amount of work, or a latency in microseconds.

mod http;
mod net;
mod os;
mod sync;
mod tasks;
mod timers;

pub(crate) use http::have_wrk;
pub(crate) use timers::paused_child;

use crate::rt::{Filch, Rt, Smol, Tokio};
use http::*;
use net::*;
use os::*;
use std::time::{Duration, Instant};
use sync::*;
use tasks::*;
use timers::*;

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

/// `workload!(name, [metrics,] about)`: the function `name` on every runtime;
/// `workload!(name, [metrics,] without_smol, about)`: on filch and tokio (a row whose API smol has
/// no counterpart for, written over `TokioShaped`).
macro_rules! workload {
    ($name:ident, without_smol, $about:expr) => {
        workload!($name, TIME, without_smol, $about)
    };
    ($name:ident, $metrics:expr, without_smol, $about:expr) => {
        Workload {
            name: stringify!($name),
            metrics: $metrics,
            about: $about,
            filch: $name::<Filch>,
            tokio: $name::<Tokio>,
            smol: None,
        }
    };
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
            sync_oneshot_10k,
            "10,000 tasks each send one number into a oneshot channel that the main task awaits, \
             in order (filch `sync::oneshot`, which is futures-channel's wrapped; tokio \
             `sync::oneshot`; smol has none: `channel::bounded(1)`, async-channel, sent into \
             with `try_send`)"
        ),
        workload!(
            sync_watch_fan_out,
            &[("", Unit::Seconds), ("seen", Unit::Count)],
            without_smol,
            "one task sends 1,000 numbers into a watch channel, yielding after each; 16 \
             receiver tasks each await `changed()` and read the value until they see the last. \
             `seen`: the values a receiver saw, on average (the others were overwritten before \
             it looked) (filch `sync::watch`, tokio `sync::watch`; smol has none)"
        ),
        workload!(
            sync_broadcast_fan_out,
            &[("", Unit::Seconds), ("lagged", Unit::Count)],
            "one task sends 10,000 numbers into a broadcast channel of capacity 128, yielding \
             after each; 16 receiver tasks read until it closes. A full channel drops its \
             oldest message, as tokio's does: `lagged` is what a receiver lost that way, on \
             average (filch `sync::broadcast`, which is async-broadcast wrapped; tokio \
             `sync::broadcast`; smol: async-broadcast with its overflow mode on)"
        ),
        workload!(
            sync_notify_ping_pong,
            "10,000 round trips between two tasks through two notifiers (`notify_one`, then \
             `notified().await`) (filch `sync::Notify`, tokio `sync::Notify`; smol has none: \
             an event-listener `Event` and a permit flag, checked, listened to, checked again, \
             waited on)"
        ),
        workload!(
            sync_rwlock_read_mostly,
            "16 tasks make 1,000 lock operations each on one reader-writer lock over a number: \
             every tenth a write adding one, the others reads (filch `sync::RwLock`, which is \
             async-lock's wrapped; tokio `sync::RwLock`; smol `lock::RwLock`, async-lock's)"
        ),
        workload!(
            sync_barrier_rounds,
            "16 tasks pass one barrier for 16 together, 1,000 times each (filch `sync::Barrier`, \
             tokio `sync::Barrier`, smol `lock::Barrier`, async-lock's)"
        ),
        workload!(
            sync_once_cell_10k,
            "10,000 tasks call `get_or_init` on one once-cell whose initialiser yields once and \
             gives 42; one initialises it while others wait, the rest read it (filch \
             `sync::OnceCell`, tokio `sync::OnceCell`, smol `lock::OnceCell`, async-lock's)"
        ),
        workload!(
            sync_cancel_token_10k,
            without_smol,
            "10,000 tasks each await `cancelled()` on their own child of one cancellation token; \
             once all have started, the main task cancels the parent and joins them (filch \
             `sync::CancellationToken`, tokio-util's `CancellationToken`; smol has none)"
        ),
        workload!(
            signal_round_trip,
            "1,000 round trips (quick: 200) of a Unix signal a task raises at itself and awaits \
             on its runtime's listener (filch SIGUSR1, tokio SIGUSR2, smol SIGWINCH through \
             async-signal)"
        ),
        workload!(
            process_spawn_wait,
            &[("sequential", Unit::Seconds), ("50 at once", Unit::Seconds)],
            "`true` spawned and waited for with the runtime's process API: 100 times one after \
             another (quick: 20), then 50 at once, one per task (filch `process::Command`, tokio \
             `process::Command`, smol `process`, which is async-process; all three wait on a pidfd, \
             which Linux gives them here)"
        ),
        workload!(
            process_cat_1mib,
            "1 MiB piped through `cat`, 10 times: a task writes it to cat's stdin and closes it \
             while another reads cat's stdout to the end; then cat is waited for (each \
             runtime's `process::Command` with piped stdio)"
        ),
        workload!(
            fs_read_small,
            "1,000 whole-file reads of a 4 KiB file, one after another from one task (filch \
             `fs::read`, tokio `fs::read`, smol `fs::read`, which is async-fs: each a job on the \
             runtime's blocking pool, smol's the `blocking` crate's)"
        ),
        workload!(
            fs_write_small,
            "1,000 whole-file writes of 4 KiB, one after another from one task, each to a file \
             of its own in a fresh temporary directory; the files are made before the clock \
             starts and removed after it stops (filch `fs::write`, tokio's, smol's: async-fs)"
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
        workload!(
            net_try_read_ping_pong,
            "10,000 round trips (quick: 2,000) of one byte between two tasks over loopback TCP, \
             each side waiting with `readable().await` and reading with `try_read` until it has \
             the byte, writing with `write_all` (filch and tokio `TcpStream`; smol: async-io's \
             `Async<TcpStream>`, its `readable()`, which always waits for a reactor event that \
             came after it was called, and a read on `get_ref()`)"
        ),
        workload!(
            net_tcp_socket_connect,
            without_smol,
            "200 connects one after another, each through `TcpSocket::new_v4()`, \
             `set_reuseaddr(true)` and `connect`, to a loopback listener that a task accepts \
             them on, made with `TcpSocket` too for a backlog of 1,024 (with `bind`'s 128 the \
             accept task fell behind now and then, and a dropped SYN cost a 1 s retransmission) \
             (filch `net::TcpSocket`, tokio `net::TcpSocket`; smol has none)"
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
