//! The driver's deputy (`runtime/src/scheduler/handoff.rs`, "The deputy"): while one parked
//! worker watches the driver on a short timer, a holder leaving the driver hands nothing over.
//! These tests attack the edges of that bargain: a long poll starting just after such a leave
//! (on 2 to 8 workers, with the deputy woken for work, or retiring just then) must not stall
//! timers or sockets; shutdown while the deputy sleeps on its timer must neither hang nor leak a
//! task; a paused clock must still auto-advance; an idle runtime must go quiet; and timers and
//! tasks from outside the runtime must still be served while the holder is stuck.
//!
//! The deputy exists only while the runtime is busy with short work, so each test first runs a
//! *ticker*: a task that sleeps 1 ms in a loop, so that the worker in the driver leaves it every
//! millisecond with an event while the other worker goes to sleep finding the driver taken.
//! The long polls here spin until the test has what it measures (or for at most
//! [`LONG_POLL`]): a correct round costs some tens of milliseconds, a stalled one the whole spin.

mod common;

use common::{busy_for, within, DropGuard};
use filch::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long a long poll spins at most: what a stalled timer or socket waits.
const LONG_POLL: Duration = Duration::from_secs(1);
/// How late a timer or a datagram may be seen behind a long poll. Generous: this machine is
/// noisy and has two cores; a stall is the whole [`LONG_POLL`].
const STALL_BOUND: Duration = Duration::from_millis(500);
/// The hang guard of each test.
const LIMIT: Duration = Duration::from_secs(60);

/// The tests that bound a latency or count wake-ups take turns, so that they do not compete for
/// this machine's cores with each other's spinning tasks.
fn timing_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime with `workers` workers named `<name>-worker-N` (at most 15 bytes in all: the
/// kernel's thread names are that short, and `idle_runtime_goes_quiet` reads them back).
fn rt(workers: usize, name: &str) -> filch::Runtime {
    filch::Builder::new()
        .worker_threads(workers)
        .thread_name(name)
        .build()
        .expect("cannot build the runtime")
}

/// Sleeps 1 ms in a loop until `until`: each wake-up makes the worker in the driver leave it
/// with an event, which keeps a deputy from retiring.
async fn tick_until(until: Instant) -> usize {
    let mut ticks = 0;
    while Instant::now() < until {
        filch::sleep(Duration::from_millis(1)).await;
        ticks += 1;
    }
    ticks
}

/// Spins (a long poll: never yields) until `stop` is set or [`LONG_POLL`] has passed.
fn long_poll(stop: &AtomicBool) {
    let start = Instant::now();
    while !stop.load(SeqCst) && start.elapsed() < LONG_POLL {
        std::hint::spin_loop();
    }
}

/// How late a timer and a datagram were seen, both due while the long poll spun.
#[derive(Debug)]
struct Lateness {
    timer: Duration,
    socket: Duration,
}

/// One attack round on `rt`: a ticker keeps the deputy busy for `ticking`, then, woken by the
/// driver's holder (so on the worker that has just left the driver, a deputy sleeping), it
/// spins. If `spawn_work`, it first spawns that many 2 ms tasks (stealable), so that the
/// parked workers, the deputy among them, are woken for work around the spin's start. Beside it,
/// a timer and a datagram fall due `gap` after the spin starts (the timer was registered
/// before, the datagram is sent from a plain thread). Returns how late each was seen. `idle`:
/// time to wait between the ticker's end and the spin (a deputy retires after three timeouts
/// in a row without a busy driver: 7 to 12 ms).
fn stall_round(
    rt: &filch::Runtime,
    ticking: Duration,
    idle: Duration,
    gap: Duration,
    spawn_work: usize,
) -> Lateness {
    let t0 = Instant::now();
    let spin_at = t0 + ticking + idle;
    let due = spin_at + gap;
    let stop = Arc::new(AtomicBool::new(false));

    // The socket first: bound and waiting before anything else starts.
    let (addr_tx, addr_rx) = mpsc::channel();
    let reader = rt.spawn(async move {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(socket.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 16];
        socket.recv(&mut buf).await.unwrap();
        Instant::now()
    });
    let addr = addr_rx.recv().unwrap();
    let sender = std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let sent = Instant::now();
        socket.send_to(b"ping", addr).unwrap();
        sent
    });

    let timer = rt.spawn(async move {
        filch::sleep_until(due).await;
        Instant::now().saturating_duration_since(due)
    });

    let spinner = rt.spawn({
        let stop = stop.clone();
        async move {
            tick_until(t0 + ticking).await;
            if !idle.is_zero() {
                filch::sleep_until(spin_at).await;
            }
            // Woken by the driver's holder: this is its worker, and it has just left the driver.
            for _ in 0..spawn_work {
                drop(filch::spawn(async { busy_for(Duration::from_millis(2)) }));
            }
            long_poll(&stop);
        }
    });

    let timer_late = rt.block_on(timer).unwrap();
    let received = rt.block_on(reader).unwrap();
    let sent = sender.join().unwrap();
    stop.store(true, SeqCst);
    rt.block_on(spinner).unwrap();
    Lateness {
        timer: timer_late,
        socket: received.saturating_duration_since(sent),
    }
}

/// How late a timer or a datagram may be seen, at the median of a test's rounds. The deputy
/// looks at the driver every 1 to 4 ms, so a long poll delays them about that much. Loose (5×
/// the deputy's longest timeout) and on the median: a noisy machine delays some rounds, not
/// most. (A deputy that never took the driver on its timeout would leave it unwatched until it
/// retired, 7 to 12 ms later: within this bound, so that slip is not caught here.)
const TYPICAL_BOUND: Duration = Duration::from_millis(20);

/// Every round: no stall (below [`STALL_BOUND`]). The median round: below [`TYPICAL_BOUND`].
fn assert_not_stalled(lates: &[Lateness], what: &str) {
    for (round, late) in lates.iter().enumerate() {
        assert!(
            late.timer < STALL_BOUND && late.socket < STALL_BOUND,
            "{what}, round {round}: behind a long poll, a timer fired {:?} late and a datagram \
             was seen {:?} late",
            late.timer,
            late.socket
        );
    }
    let median = |f: fn(&Lateness) -> Duration| {
        let mut v: Vec<Duration> = lates.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    let (timer, socket) = (median(|l| l.timer), median(|l| l.socket));
    assert!(
        timer < TYPICAL_BOUND && socket < TYPICAL_BOUND,
        "{what}: behind a long poll, timers fired {timer:?} late and datagrams were seen \
         {socket:?} late at the median (all rounds: {lates:?})"
    );
}

/// 2 workers: the holder leaves the driver with the ticker's timer event, a deputy sleeping, so
/// it hands nothing over, and the ticker it runs then spins. The deputy must take the driver on
/// its next timeout: the timer and the datagram due 20 ms later are seen long before the spin
/// ends.
#[test]
fn a_long_poll_right_after_the_holder_left_does_not_stall_timers_or_sockets() {
    let _serial = timing_lock();
    within(LIMIT, "long poll after a leave, 2 workers", || {
        let rt = rt(2, "dq-stall");
        let lates: Vec<_> = (0..20)
            .map(|_| {
                stall_round(
                    &rt,
                    Duration::from_millis(40),
                    Duration::ZERO,
                    Duration::from_millis(5),
                    0,
                )
            })
            .collect();
        assert_not_stalled(&lates, "2 workers");
    });
}

/// The same on 3, 4 and 8 workers, where the workers beyond the holder and the deputy went to
/// sleep leaving no hand-off request (the deputy watched). Some rounds also spawn work just
/// before the spin, enough to wake every parked worker including the deputy, which then
/// resigns: it must see to it that the driver stays watched (`Shared::deputy_resigned`).
#[test]
fn deep_sleepers_and_a_deputy_woken_for_work_leave_no_timer_stalled() {
    let _serial = timing_lock();
    within(LIMIT, "long poll after a leave, 3-8 workers", || {
        for workers in [3, 4, 8] {
            let rt = rt(workers, &format!("dq-deep{workers}"));
            // No extra work, just enough to wake every parked worker, and more than that.
            for work in [0, workers, 2 * workers] {
                let lates: Vec<_> = (0..5)
                    .map(|_| {
                        stall_round(
                            &rt,
                            Duration::from_millis(30),
                            Duration::ZERO,
                            Duration::from_millis(5),
                            work,
                        )
                    })
                    .collect();
                assert_not_stalled(&lates, &format!("{workers} workers, {work} tasks spawned"));
            }
        }
    });
}

/// The ticker stops, and the spin starts after an idle gap swept across the deputy's
/// retirement (three timeouts without a busy driver: 7 to 12 ms): the deputy has just retired,
/// is retiring, or is about to, as the runtime becomes busy again. Whichever it is, the driver
/// must be watched.
#[test]
fn a_long_poll_as_the_deputy_retires_does_not_stall_timers_or_sockets() {
    let _serial = timing_lock();
    within(LIMIT, "long poll as the deputy retires", || {
        for workers in [2, 3] {
            let rt = rt(workers, &format!("dq-retire{workers}"));
            let lates: Vec<_> = (0..=20)
                .step_by(2)
                .map(|idle_ms| {
                    stall_round(
                        &rt,
                        Duration::from_millis(30),
                        Duration::from_millis(idle_ms),
                        Duration::from_millis(5),
                        0,
                    )
                })
                .collect();
            assert_not_stalled(
                &lates,
                &format!("{workers} workers, idle 0 to 20 ms (by 2) before the spin"),
            );
        }
    });
}

/// Timers and tasks from outside the runtime while the holder is stuck in a long poll just
/// after leaving the driver (a deputy sleeping): a `block_on` that sleeps (its timer registered
/// from the calling thread, whose unwatched hook wakes nobody while a deputy exists), and a
/// burst of tasks spawned from outside that each sleep 1 ms. All must complete long before
/// the spin ends.
#[test]
fn outside_timers_and_spawns_are_served_while_the_holder_is_stuck() {
    let _serial = timing_lock();
    within(LIMIT, "outside timers beside a long poll", || {
        for workers in [2, 4] {
            let rt = rt(workers, &format!("dq-out{workers}"));
            for round in 0..6 {
                let stop = Arc::new(AtomicBool::new(false));
                let spinning = Arc::new(AtomicBool::new(false));
                let spinner = rt.spawn({
                    let stop = stop.clone();
                    let spinning = spinning.clone();
                    async move {
                        tick_until(Instant::now() + Duration::from_millis(30)).await;
                        spinning.store(true, SeqCst);
                        long_poll(&stop);
                    }
                });
                assert!(common::spin_until(LIMIT, || spinning.load(SeqCst)));
                // Just after the spin started: a timer from this thread.
                let start = Instant::now();
                rt.block_on(async { filch::sleep(Duration::from_millis(20)).await });
                let slept = start.elapsed();
                // A burst of remote spawns, each with a timer.
                let start = Instant::now();
                let done = Arc::new(AtomicUsize::new(0));
                let joins: Vec<_> = (0..500)
                    .map(|_| {
                        let done = done.clone();
                        rt.spawn(async move {
                            filch::sleep(Duration::from_millis(1)).await;
                            done.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                for j in joins {
                    rt.block_on(j).unwrap();
                }
                let burst = start.elapsed();
                stop.store(true, SeqCst);
                rt.block_on(spinner).unwrap();
                assert_eq!(done.load(SeqCst), 500);
                assert!(
                    slept < Duration::from_millis(20) + STALL_BOUND && burst < STALL_BOUND,
                    "{workers} workers, round {round}: behind a long poll, a 20 ms block_on \
                     sleep took {slept:?} and 500 remote 1 ms sleepers {burst:?}"
                );
            }
        }
    });
}

/// Shutdown while the deputy sleeps on its timer (or is retiring: the drop point sweeps the
/// first 60 ms after the ticker's end), with tasks parked on a far timer and on a socket: the
/// drop (or `shutdown_timeout`) returns promptly and drops every task's future.
#[test]
fn shutdown_while_the_deputy_sleeps_neither_hangs_nor_leaks_a_task() {
    const TASKS: usize = 64;
    within(LIMIT, "shutdown with a deputy", || {
        for workers in [2, 4] {
            for (round, delay_ms) in (0..60u64).step_by(6).enumerate() {
                let rt = rt(workers, &format!("dq-shut{workers}"));
                let dropped = Arc::new(AtomicUsize::new(0));
                let (ready_tx, ready_rx) = mpsc::channel();
                for i in 0..TASKS {
                    let guard = DropGuard(dropped.clone());
                    let ready = ready_tx.clone();
                    drop(rt.spawn(async move {
                        let _guard = guard;
                        if i % 2 == 0 {
                            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                            ready.send(()).unwrap();
                            let mut buf = [0u8; 4];
                            let _ = socket.recv(&mut buf).await;
                        } else {
                            ready.send(()).unwrap();
                            filch::sleep(Duration::from_secs(3600)).await;
                        }
                    }));
                }
                for _ in 0..TASKS {
                    ready_rx.recv().unwrap();
                }
                let ticker = rt.spawn(tick_until(Instant::now() + Duration::from_millis(20)));
                assert!(rt.block_on(ticker).unwrap() > 0);
                std::thread::sleep(Duration::from_millis(delay_ms));
                let start = Instant::now();
                if round % 2 == 0 {
                    drop(rt);
                } else {
                    rt.shutdown_timeout(Duration::from_secs(10));
                }
                let took = start.elapsed();
                assert_eq!(
                    dropped.load(SeqCst),
                    TASKS,
                    "{workers} workers, shutdown {delay_ms} ms after the ticker: tasks leaked"
                );
                assert!(
                    took < Duration::from_secs(5),
                    "{workers} workers: shutdown {delay_ms} ms after the ticker took {took:?}"
                );
            }
        }
    });
}

/// A paused clock never uses the deputy (its idle check watches who sleeps where); with the
/// deputy's conditions otherwise met (several workers, a stream of short timers), every sleep
/// must still end exactly at its virtual deadline, and an hour must pass in no real time.
#[test]
fn a_paused_clock_still_auto_advances_exactly_on_many_workers() {
    within(LIMIT, "paused clock with a ticker", || {
        for workers in [2, 4] {
            let rt = common::paused_runtime("multi_thread", workers);
            let wall = Instant::now();
            let (ticks, slept, lates) = rt.block_on(async {
                let start = filch::time::now();
                let ticker = filch::spawn(async move {
                    let mut late = Duration::ZERO;
                    for i in 1..=200u32 {
                        let deadline = start + Duration::from_millis(u64::from(i));
                        filch::sleep_until(deadline).await;
                        late = late.max(filch::time::now() - deadline);
                    }
                    late
                });
                let sleepers: Vec<_> = (1..=8u64)
                    .map(|i| {
                        filch::spawn(async move {
                            let deadline = start + Duration::from_secs(450 * i);
                            filch::sleep_until(deadline).await;
                            filch::time::now() - deadline
                        })
                    })
                    .collect();
                let ticks_late = ticker.await.unwrap();
                let mut lates = Vec::new();
                for s in sleepers {
                    lates.push(s.await.unwrap());
                }
                (ticks_late, filch::time::now() - start, lates)
            });
            assert_eq!(ticks, Duration::ZERO, "{workers} workers: a tick woke late");
            assert!(
                lates.iter().all(|l| l.is_zero()),
                "{workers} workers: sleepers woke late by {lates:?}"
            );
            assert_eq!(slept, Duration::from_secs(3600), "{workers} workers");
            assert!(
                wall.elapsed() < Duration::from_secs(20),
                "{workers} workers"
            );
        }
    });
}

/// The clock is paused from inside a running runtime while the deputy sleeps on its timer (a
/// ticker has just run): the deputy must step aside, and a long sleep must then auto-advance.
#[test]
fn pausing_the_clock_while_a_deputy_sleeps_still_auto_advances() {
    within(LIMIT, "pause with a deputy", || {
        for workers in [2, 4] {
            let rt = rt(workers, &format!("dq-pause{workers}"));
            for round in 0..10 {
                let wall = Instant::now();
                let slept = rt.block_on(async move {
                    filch::spawn(tick_until(Instant::now() + Duration::from_millis(20)))
                        .await
                        .unwrap();
                    filch::time::pause();
                    let start = filch::time::now();
                    filch::sleep(Duration::from_secs(3600)).await;
                    let slept = filch::time::now() - start;
                    filch::time::resume();
                    slept
                });
                assert_eq!(
                    slept,
                    Duration::from_secs(3600),
                    "{workers} workers, round {round}"
                );
                assert!(
                    wall.elapsed() < Duration::from_secs(10),
                    "{workers} workers, round {round}: took {:?}",
                    wall.elapsed()
                );
            }
        }
    });
}

/// Voluntary context switches of this process's threads named `<name>-worker-N`, and how
/// many such threads there are (from `/proc/self/task/*/{comm,status}`).
fn worker_switches(name: &str) -> (usize, u64) {
    let prefix = format!("{name}-worker-");
    let mut threads = 0;
    let mut switches = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        // A thread may exit between the listing and the reads.
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(&prefix) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let count = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("no voluntary_ctxt_switches line");
        threads += 1;
        switches += count;
    }
    (threads, switches)
}

/// After a busy spell (a ticker: the deputy exists) the runtime goes idle, with a far timer
/// registered (so the driver has something to watch). Once the deputy has retired (it does
/// 7 to 12 ms after the last busy timeout; we wait 300 ms), a 2-worker runtime idle for one second
/// must make few wake-ups. One worker blocks in the driver until the far timer, the other on
/// its parker: about zero voluntary switches. The bound (100) leaves room for noise yet fails a
/// deputy that never retires, which wakes every 4 ms (about 250 switches a second), and any
/// hand-off ping-pong between the two workers.
#[test]
fn an_idle_runtime_goes_quiet_once_the_deputy_retires() {
    let _serial = timing_lock();
    within(LIMIT, "idle runtime", || {
        let name = "dq-idle";
        let rt = rt(2, name);
        let far = rt.spawn(async { filch::sleep(Duration::from_secs(3600)).await });
        for round in 0..2 {
            let ticks =
                rt.block_on(rt.spawn(tick_until(Instant::now() + Duration::from_millis(60))));
            assert!(ticks.unwrap() > 0);
            std::thread::sleep(Duration::from_millis(300));
            let (threads, before) = worker_switches(name);
            assert_eq!(
                threads, 2,
                "the worker threads are not named {name}-worker-N"
            );
            std::thread::sleep(Duration::from_secs(1));
            let (_, after) = worker_switches(name);
            let woke = after - before;
            assert!(
                woke < 100,
                "round {round}: an idle 2-worker runtime woke {woke} times in one second"
            );
        }
        far.abort();
    });
}
