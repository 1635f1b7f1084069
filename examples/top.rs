//! `top` for a filch runtime: a demo service under load, with a terminal dashboard redrawn
//! twice a second from `Handle::metrics()`: per-worker utilisation bars, queue depths, polls,
//! steals and parks per second, the slow polls the watchdog reported and the tasks the stuck-
//! worker rescue moved.
//!
//! ```sh
//! cargo run --release --example top                          # 10 s
//! cargo run --release --example top -- --seconds 3 --timeline top.json
//! ```
//!
//! `--timeline FILE` records the whole run (`Handle::start_timeline`) and writes it as Chrome
//! trace JSON: open it in <https://ui.perfetto.dev> to see every poll on its worker's row.
//!
//! The demo: an acceptor task takes "requests" at about 2,000 a second; each request task
//! awaits a timer, does a little work, and sends its result down a channel to a logger task; one
//! request in 500 then blocks its worker for 30 ms with `std::thread::sleep` (the bug the
//! watchdog names; the logger it just woke is in that worker's LIFO slot, and the rescue moves
//! it to another worker).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    seconds: u64,
    timeline: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 10,
        timeline: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                args.seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds needs a number")
            }
            "--timeline" => args.timeline = Some(it.next().expect("--timeline needs a file")),
            other => {
                eprintln!("usage: top [--seconds N] [--timeline FILE] (unknown: {other})");
                std::process::exit(2);
            }
        }
    }
    args
}

/// The demo service: runs until `stop`.
async fn service(stop: Instant) {
    let (tx, rx) = filch::sync::mpmc::bounded::<u64>(1024);
    let logger = filch::task::Builder::new()
        .name("logger")
        .spawn(async move {
            let mut sum = 0u64;
            while let Ok(v) = rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
    let acceptor = filch::task::Builder::new()
        .name("acceptor")
        .spawn(async move {
            let mut interval = filch::interval(Duration::from_millis(1));
            let mut n = 0u64;
            while Instant::now() < stop {
                interval.tick().await;
                for _ in 0..2 {
                    n += 1;
                    let tx = tx.clone();
                    drop(
                        filch::task::Builder::new()
                            .name("request")
                            .spawn(request(n, tx)),
                    );
                }
            }
        });
    acceptor.await.unwrap();
    // The requests in flight hold the last senders; the logger ends when they are done.
    let _ = logger.await;
}

async fn request(n: u64, tx: filch::sync::mpmc::Sender<u64>) {
    filch::sleep(Duration::from_micros(200 + n % 3_000)).await;
    let mut x = n;
    for _ in 0..2_000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    // Wakes the logger, which goes to this worker's LIFO slot...
    let _ = tx.send(x).await;
    if n % 500 == 0 {
        // ...and the bug: a blocking call in a task. The rescue moves the logger elsewhere.
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round()) as usize;
    format!("{}{}", "#".repeat(filled), ".".repeat(width - filled))
}

fn main() -> std::io::Result<()> {
    let args = args();
    let slow = Arc::new(Mutex::new(Vec::<String>::new()));
    let rt = filch::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
        .slow_poll_threshold(Some(Duration::from_millis(20)))
        .on_slow_poll({
            let slow = slow.clone();
            move |report| {
                if !report.is_finished() {
                    let mut slow = slow.lock().unwrap();
                    slow.push(report.to_string());
                    let excess = slow.len().saturating_sub(4);
                    slow.drain(..excess);
                }
            }
        })
        .build()?;
    let handle = rt.handle().clone();
    if args.timeline.is_some() {
        handle.start_timeline(1_000_000);
    }
    let stop = Instant::now() + Duration::from_secs(args.seconds);

    // The dashboard runs on a thread of its own: a blocked worker must not freeze it.
    let dashboard = std::thread::spawn({
        let handle = handle.clone();
        let slow = slow.clone();
        move || {
            let tty = std::io::stdout().is_terminal();
            let mut last = handle.metrics();
            let mut at = Instant::now();
            while Instant::now() < stop {
                std::thread::sleep(Duration::from_millis(500));
                let now = handle.metrics();
                let dt = at.elapsed().as_secs_f64();
                at = Instant::now();
                let mut out = String::new();
                if tty {
                    out.push_str("\x1b[H\x1b[2J");
                } else {
                    out.push_str("----\n");
                }
                out.push_str(&format!(
                    "filch top: {} live tasks, {} spawned, injector {}, blocking {} threads, {} timers\n\n",
                    now.live_tasks,
                    now.spawned_tasks,
                    now.injector_depth,
                    now.blocking_threads,
                    now.timers
                ));
                out.push_str(
                    "worker  busy                            polls/s  steals/s  parks/s  queue  rescued\n",
                );
                for (i, (w, p)) in now.workers.iter().zip(&last.workers).enumerate() {
                    let busy = w.busy.saturating_sub(p.busy).as_secs_f64() / dt;
                    out.push_str(&format!(
                        "{i:>6}  [{}] {:>3.0}% {:>8.0} {:>9.0} {:>8.0} {:>6} {:>8}\n",
                        bar(busy, 20),
                        busy * 100.0,
                        (w.polls - p.polls) as f64 / dt,
                        (w.steals - p.steals) as f64 / dt,
                        (w.parks - p.parks) as f64 / dt,
                        w.local_queue_depth,
                        w.rescued
                    ));
                }
                out.push_str("\nslow polls (the watchdog names them while they run):\n");
                for line in slow.lock().unwrap().iter() {
                    out.push_str(&format!("  {line}\n"));
                }
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(out.as_bytes());
                let _ = stdout.flush();
                last = now;
            }
        }
    });

    rt.block_on(service(stop));
    dashboard.join().expect("dashboard thread");
    if let Some(path) = &args.timeline {
        let timeline = handle.stop_timeline();
        timeline.write_chrome_trace(std::fs::File::create(path)?)?;
        println!(
            "timeline: {} events ({} dropped) written to {path}; open it in https://ui.perfetto.dev",
            timeline.events.len(),
            timeline.dropped
        );
    }
    Ok(())
}
