//! Records a timeline of a small workload on two workers and writes it as Chrome trace JSON and
//! as an SVG (the README's picture, `docs/timeline.svg`).
//!
//! ```sh
//! cargo run --release --example timeline                # writes target/timeline.{json,svg}
//! cargo run --release --example timeline -- docs/timeline
//! ```
//!
//! What it shows: a task fans out 16 pieces of work (about 300 µs each) and the other worker
//! steals half of them; a task wakes another (which goes to its worker's LIFO slot) and then
//! blocks its worker for 12 ms, and the stuck-worker rescue moves the woken task to the other
//! worker after about 5 ms; then both workers park while two timers run out.

#[path = "../benches/common/timeline_svg.rs"]
mod timeline_svg;

use std::time::{Duration, Instant};

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/timeline".to_owned());
    let rt = filch::Builder::new_multi_thread()
        .worker_threads(2)
        // The blocker is the point of the picture: no report on stderr.
        .slow_poll_threshold(None)
        .build()?;
    let handle = rt.handle().clone();
    handle.start_timeline(100_000);
    rt.block_on(async {
        filch::task::Builder::new()
            .name("fan-out")
            .spawn(async {
                let work: Vec<_> = (0..16)
                    .map(|_| {
                        filch::task::Builder::new()
                            .name("work")
                            .spawn(async { spin(Duration::from_micros(300)) })
                    })
                    .collect();
                filch::join_all(work).await;
            })
            .await
            .unwrap();
        let (tx, rx) = filch::sync::oneshot::channel::<()>();
        let woken = filch::task::Builder::new().name("woken").spawn(async move {
            rx.await.unwrap();
            spin(Duration::from_micros(500));
        });
        filch::task::Builder::new()
            .name("blocker")
            .spawn(async move {
                filch::sleep(Duration::from_millis(1)).await;
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(12));
            })
            .await
            .unwrap();
        woken.await.unwrap();
        let timers = (1..=2).map(|i| {
            filch::task::Builder::new()
                .name("timer")
                .spawn(filch::sleep(Duration::from_millis(2 * i)))
        });
        filch::join_all(timers).await;
    });
    let timeline = handle.stop_timeline();
    let json = format!("{out}.json");
    let svg = format!("{out}.svg");
    timeline.write_chrome_trace(std::fs::File::create(&json)?)?;
    std::fs::write(
        &svg,
        timeline_svg::svg(&timeline, "examples/timeline.rs, 2 workers", None),
    )?;
    let rescued: u64 = handle.metrics().workers.iter().map(|w| w.rescued).sum();
    println!(
        "{} events; {rescued} task rescued; written to {json} (open it in https://ui.perfetto.dev) and {svg}",
        timeline.events.len()
    );
    Ok(())
}
