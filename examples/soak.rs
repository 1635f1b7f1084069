//! A soak run: filch under sustained, mixed load, checking every second that nothing is lost or
//! leaked.
//!
//! ```sh
//! cargo run --release --example soak -- --minutes 30
//! cargo run --release --example soak -- --seconds 60      # what CI runs
//! ```
//!
//! The load, all at once on one runtime:
//! - TCP echo: `--connections` (1,000) client tasks that connect to an echo server on loopback,
//!   exchange 1–20 messages of 1–4,096 random bytes each, check every echo byte for byte, close,
//!   and start over; every round trip must finish within 2 s;
//! - timers: `--timers` (100,000) tasks, each in a loop of sleeps of 1 ms–5 s, some reset earlier
//!   or later, some cancelled by a shorter timeout; a sleep that ends before its deadline fails;
//! - task churn: bursts of tasks that finish, panic or are aborted, and nested task groups whose
//!   first failure cancels the rest;
//! - `spawn_blocking` jobs in every burst.
//!
//! Every second it prints a progress line (round trips per second, RSS, open fds, live tasks) and
//! checks: no failure reported by any task; RSS within 10 % of its peak during the warm-up (a
//! tenth of the run, 10 s to 3 min); open fds within 10 % of theirs; the churn's tasks back to zero after each burst. At the end it stops the
//! load, waits for every task, checks that no task of the soak is left alive and that the fds are
//! back, and prints the totals. Any failure ends the run with a message and exit status 1.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use filch::net::{TcpListener, TcpStream};

struct Config {
    run_for: Duration,
    connections: usize,
    timers: usize,
}

fn parse_args() -> Config {
    let mut config = Config {
        run_for: Duration::from_secs(60),
        connections: 1_000,
        timers: 100_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail(&format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--minutes" => config.run_for = Duration::from_secs(60 * value("--minutes")),
            "--seconds" => config.run_for = Duration::from_secs(value("--seconds")),
            "--connections" => config.connections = value("--connections") as usize,
            "--timers" => config.timers = value("--timers") as usize,
            // `cargo bench`/`cargo test` style harness flags are not ours.
            other => fail(&format!(
                "unknown argument {other:?} (try --minutes N, --seconds N, --connections N, --timers N)"
            )),
        }
    }
    config
}

fn fail(message: &str) -> ! {
    eprintln!("soak: FAILED: {message}");
    std::process::exit(1);
}

/// What every part of the load counts, and the first failures it saw.
#[derive(Default)]
struct Stats {
    round_trips: AtomicU64,
    bytes: AtomicU64,
    connections: AtomicU64,
    sleeps_fired: AtomicU64,
    sleeps_cancelled: AtomicU64,
    sleeps_reset: AtomicU64,
    churn_tasks: AtomicU64,
    churn_panics: AtomicU64,
    churn_aborts: AtomicU64,
    groups: AtomicU64,
    blocking_jobs: AtomicU64,
    /// Futures of the soak alive now (each holds a `Live` guard).
    live: AtomicI64,
    /// Of those, the task churn's: zero again after every burst.
    churn_live: AtomicI64,
    failures: Mutex<Vec<String>>,
}

impl Stats {
    fn failed(&self, what: String) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 20 {
            failures.push(what);
        }
    }
}

/// Counts a live future of the soak, from creation to drop.
struct Live {
    stats: Arc<Stats>,
    churn: bool,
}

impl Live {
    fn new(stats: &Arc<Stats>) -> Live {
        stats.live.fetch_add(1, Relaxed);
        Live {
            stats: stats.clone(),
            churn: false,
        }
    }

    fn churn(stats: &Arc<Stats>) -> Live {
        stats.churn_live.fetch_add(1, Relaxed);
        let mut live = Live::new(stats);
        live.churn = true;
        live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stats.live.fetch_sub(1, Relaxed);
        if self.churn {
            self.stats.churn_live.fetch_sub(1, Relaxed);
        }
    }
}

/// A small xorshift generator: each task has its own.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn echo_server(listener: TcpListener, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    while !stop.load(Relaxed) {
        let accepted = filch::timeout(Duration::from_millis(100), listener.accept()).await;
        let Ok(accepted) = accepted else { continue };
        match accepted {
            Ok((mut stream, _)) => {
                let live = Live::new(&stats);
                // Detached: it ends when its client closes (or with the runtime).
                drop(filch::spawn(async move {
                    let _live = live;
                    let mut buf = vec![0u8; 8192];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                }));
            }
            Err(e) => stats.failed(format!("accept failed: {e}")),
        }
    }
}

async fn echo_client(
    id: u64,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) {
    let _live = Live::new(&stats);
    let mut rng = Rng::new(id + 1);
    let mut out = Vec::new();
    let mut back = Vec::new();
    while !stop.load(Relaxed) {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(e) => {
                stats.failed(format!("client {id}: connect failed: {e}"));
                return;
            }
        };
        for _ in 0..1 + rng.below(20) {
            let len = 1 + rng.below(4096) as usize;
            out.clear();
            out.extend((0..len).map(|_| rng.next() as u8));
            back.resize(len, 0);
            let trip = async {
                stream.write_all(&out).await?;
                stream.read_exact(&mut back).await
            };
            match filch::timeout(Duration::from_secs(2), trip).await {
                Err(_) => {
                    stats.failed(format!("client {id}: a round trip stalled over 2 s"));
                    return;
                }
                Ok(Err(e)) => {
                    stats.failed(format!("client {id}: echo failed: {e}"));
                    return;
                }
                Ok(Ok(())) if back != out => {
                    stats.failed(format!("client {id}: the echo differs from what was sent"));
                    return;
                }
                Ok(Ok(())) => {
                    stats.round_trips.fetch_add(1, Relaxed);
                    stats.bytes.fetch_add(len as u64, Relaxed);
                }
            }
        }
        stats.connections.fetch_add(1, Relaxed);
    }
}

async fn timer_churn(id: u64, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    let _live = Live::new(&stats);
    let mut rng = Rng::new(id + 1_000_003);
    while !stop.load(Relaxed) {
        let start = Instant::now();
        let mut deadline = start + Duration::from_millis(1 + rng.below(5_000));
        let mut sleep = filch::sleep_until(deadline);
        match rng.below(4) {
            0 => {
                // Reset earlier or later.
                deadline = start + Duration::from_millis(1 + rng.below(5_000));
                sleep.reset(deadline);
                stats.sleeps_reset.fetch_add(1, Relaxed);
            }
            1 => {
                // Cancelled by a shorter timeout (or not, if the timeout is longer).
                let limit = Duration::from_millis(rng.below(2_500));
                if filch::timeout(limit, &mut sleep).await.is_err() {
                    stats.sleeps_cancelled.fetch_add(1, Relaxed);
                    continue;
                }
                if Instant::now() < deadline {
                    stats.failed(format!("timer {id}: a sleep ended before its deadline"));
                }
                stats.sleeps_fired.fetch_add(1, Relaxed);
                continue;
            }
            _ => {}
        }
        (&mut sleep).await;
        if Instant::now() < deadline {
            stats.failed(format!("timer {id}: a sleep ended before its deadline"));
        }
        stats.sleeps_fired.fetch_add(1, Relaxed);
    }
}

/// One burst of task churn: tasks that finish, panic or are aborted; nested groups that fail;
/// blocking jobs. Returns when every task of the burst is gone.
async fn churn_burst(burst: u64, stats: &Arc<Stats>) {
    let mut rng = Rng::new(burst + 7);
    let mut handles = Vec::new();
    for i in 0..500u64 {
        let live = Live::churn(stats);
        let kind = rng.below(10);
        handles.push((
            kind,
            filch::spawn(async move {
                let _live = live;
                match kind {
                    0 => panic!("a churn task panics (expected)"),
                    1 => std::future::pending::<u64>().await,
                    2 => {
                        filch::sleep(Duration::from_micros(100)).await;
                        i
                    }
                    _ => {
                        filch::yield_now().await;
                        i
                    }
                }
            }),
        ));
    }
    for (kind, handle) in &handles {
        if *kind == 1 {
            handle.abort();
        }
    }
    for (i, (kind, handle)) in handles.into_iter().enumerate() {
        let result = handle.await;
        stats.churn_tasks.fetch_add(1, Relaxed);
        match (kind, result) {
            (0, Err(e)) if e.is_panic() => {
                stats.churn_panics.fetch_add(1, Relaxed);
            }
            (1, Err(e)) if e.is_cancelled() => {
                stats.churn_aborts.fetch_add(1, Relaxed);
            }
            (_, Ok(v)) if v == i as u64 => {}
            (kind, other) => stats.failed(format!("churn task of kind {kind}: {other:?}")),
        }
    }

    // A group of groups: the first inner failure cancels its siblings; the outer group sees it.
    let outer = filch::TaskGroup::<(), String>::new();
    for g in 0..4u64 {
        let stats_inner = stats.clone();
        let live = Live::churn(stats);
        outer.spawn(async move {
            let _live = live;
            let inner = filch::TaskGroup::<(), String>::new();
            for c in 0..8u64 {
                let live = Live::churn(&stats_inner);
                inner.spawn(async move {
                    let _live = live;
                    if g == 3 && c == 5 {
                        filch::sleep(Duration::from_millis(1)).await;
                        return Err(format!("child {c} of group {g} fails (expected)"));
                    }
                    filch::sleep(Duration::from_millis(if g == 3 { 60_000 } else { 2 })).await;
                    Ok(())
                });
            }
            inner.join().await.map(drop).map_err(|e| e.to_string())
        });
    }
    match outer.join().await {
        Err(e) if e.failures().len() == 1 => {
            stats.groups.fetch_add(5, Relaxed);
        }
        other => stats.failed(format!(
            "nested groups: expected one failure, got {other:?}"
        )),
    }

    // Blocking jobs.
    let jobs: Vec<_> = (0..8u64)
        .map(|j| {
            filch::spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(1));
                (0..1_000u64).map(|x| x ^ j).sum::<u64>()
            })
        })
        .collect();
    for (j, job) in jobs.into_iter().enumerate() {
        let expected = (0..1_000u64).map(|x| x ^ j as u64).sum::<u64>();
        match job.await {
            Ok(v) if v == expected => {
                stats.blocking_jobs.fetch_add(1, Relaxed);
            }
            other => stats.failed(format!("blocking job {j}: {other:?}")),
        }
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn main() {
    let mut config = parse_args();
    // The churn's panics are expected: keep them off the terminal, report any other.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let expected = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("(expected)"));
        if !expected {
            default_hook(info);
        }
    }));
    if let Some(limit) = fd_limit() {
        let fit = (limit.saturating_sub(256) / 2) as usize;
        if config.connections > fit {
            eprintln!(
                "soak: the fd limit is {limit}: {fit} connections instead of {}",
                config.connections
            );
            config.connections = fit;
        }
    }
    let fds_before = open_fds();
    let rt = filch::Runtime::new().unwrap_or_else(|e| fail(&format!("no runtime: {e}")));
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    // The server stops after its clients, so that no connect meets a closed listener.
    let stop_server = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    println!(
        "soak: {:?} with {} connections, {} timer tasks, task churn and blocking jobs",
        config.run_for, config.connections, config.timers
    );

    let (server, clients, timers, churn) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(&format!("bind: {e}")));
        let addr = listener.local_addr().unwrap();
        let server = filch::spawn(echo_server(listener, stop_server.clone(), stats.clone()));
        let clients: Vec<_> = (0..config.connections as u64)
            .map(|id| filch::spawn(echo_client(id, addr, stop.clone(), stats.clone())))
            .collect();
        let timers: Vec<_> = (0..config.timers as u64)
            .map(|id| filch::spawn(timer_churn(id, stop.clone(), stats.clone())))
            .collect();
        let churn = {
            let (stop, stats) = (stop.clone(), stats.clone());
            filch::spawn(async move {
                let mut burst = 0;
                while !stop.load(Relaxed) {
                    churn_burst(burst, &stats).await;
                    let left = stats.churn_live.load(Relaxed);
                    if left != 0 {
                        stats.failed(format!("{left} tasks of churn burst {burst} still alive"));
                    }
                    burst += 1;
                    filch::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        (server, clients, timers, churn)
    });

    // Warm-up: a tenth of the run, at least 10 s, at most 3 min.
    let warm_up = (config.run_for / 10).clamp(Duration::from_secs(10), Duration::from_secs(180));
    let mut baseline: Option<(u64, u64)> = None;
    let mut warm_peak = (0, 0);
    let (mut peak_rss, mut last_trips) = (0, 0);
    let mut second = 0u64;
    while started.elapsed() < config.run_for {
        std::thread::sleep(Duration::from_secs(1));
        second += 1;
        let (rss, fds) = (rss_kib(), open_fds());
        peak_rss = peak_rss.max(rss);
        let trips = stats.round_trips.load(Relaxed);
        let mut line = String::new();
        let _ = write!(
            line,
            "{second:>5}s  {:>7} trips/s  {:>8} conns  {:>9} sleeps  RSS {:>7} KiB  fds {:>5}  live {:>7}",
            trips - last_trips,
            stats.connections.load(Relaxed),
            stats.sleeps_fired.load(Relaxed) + stats.sleeps_cancelled.load(Relaxed),
            rss,
            fds,
            stats.live.load(Relaxed),
        );
        println!("{line}");
        last_trips = trips;
        if let Some(first) = stats.failures.lock().unwrap().first() {
            fail(first);
        }
        if trips == 0 && second > 5 {
            fail("no echo round trip in the first 5 s");
        }
        // The baselines are the peaks seen during the warm-up: connections open and close all
        // the time, so the fd count (two per live connection) moves from second to second.
        match baseline {
            None => {
                warm_peak = (warm_peak.0.max(rss), warm_peak.1.max(fds));
                if started.elapsed() >= warm_up {
                    baseline = Some(warm_peak);
                }
            }
            Some((base_rss, base_fds)) => {
                if rss > base_rss + base_rss / 10 {
                    fail(&format!(
                        "RSS grew from a peak of {base_rss} KiB in the warm-up to {rss} KiB (over 10 %)"
                    ));
                }
                if fds > base_fds + base_fds / 10 + 16 {
                    fail(&format!(
                        "open fds grew from a peak of {base_fds} in the warm-up to {fds} (over 10 %)"
                    ));
                }
            }
        }
    }

    println!("soak: stopping the load");
    stop.store(true, Relaxed);
    let drained = rt.block_on(async {
        filch::timeout(Duration::from_secs(30), async {
            for c in clients {
                let _ = c.await;
            }
            stop_server.store(true, Relaxed);
            server.await.ok();
            churn.await.ok();
            for t in timers {
                // A timer task may sleep up to 5 s more: abort instead of waiting.
                t.abort();
                let _ = t.await;
            }
        })
        .await
    });
    if drained.is_err() {
        fail("the load did not stop within 30 s of the stop signal");
    }
    if let Some(first) = stats.failures.lock().unwrap().first() {
        fail(first);
    }
    drop(rt);
    let live = stats.live.load(Relaxed);
    if live != 0 {
        fail(&format!(
            "{live} futures of the soak are still alive after the runtime's drop"
        ));
    }
    // Allow a moment for threads that are just exiting; then list what is left, if anything.
    let mut fds_after = open_fds();
    for _ in 0..20 {
        if fds_after <= fds_before + 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        fds_after = open_fds();
    }
    if fds_after > fds_before + 2 {
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            for entry in dir.flatten() {
                let target = std::fs::read_link(entry.path()).unwrap_or_default();
                eprintln!(
                    "soak: open fd {:?} -> {}",
                    entry.file_name(),
                    target.display()
                );
            }
        }
        fail(&format!(
            "{fds_before} fds open before the soak, {fds_after} after it"
        ));
    }
    let s = &stats;
    println!(
        "soak: passed after {:?}: {} round trips ({} MiB) over {} connections; {} sleeps fired, \
         {} cancelled, {} reset; {} churn tasks ({} panicked, {} aborted); {} task groups; \
         {} blocking jobs; RSS peak {} KiB, baseline {} KiB; fds {} before, {} after",
        started.elapsed(),
        s.round_trips.load(Relaxed),
        s.bytes.load(Relaxed) >> 20,
        s.connections.load(Relaxed),
        s.sleeps_fired.load(Relaxed),
        s.sleeps_cancelled.load(Relaxed),
        s.sleeps_reset.load(Relaxed),
        s.churn_tasks.load(Relaxed),
        s.churn_panics.load(Relaxed),
        s.churn_aborts.load(Relaxed),
        s.groups.load(Relaxed),
        s.blocking_jobs.load(Relaxed),
        peak_rss,
        baseline.map_or(0, |b| b.0),
        fds_before,
        fds_after,
    );
}
