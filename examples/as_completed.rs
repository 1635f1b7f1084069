//! asyncio's `as_completed`: every future runs as its own task, and the results come back in the
//! order the tasks finish, so each one is processed as soon as it is ready.
//!
//! Then: dropping the `AsCompleted` before every result was taken aborts the tasks still running
//! (a drop guard in each download reports the cancellation).
//!
//! `cargo run --example as_completed`

use std::fmt::Display;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

const FILES: [(&str, u64); 5] = [
    ("a.zip", 400),
    ("b.iso", 100),
    ("c.tar", 300),
    ("d.txt", 50),
    ("e.png", 200),
];

/// Reports, when dropped, a download that did not finish.
struct Guard {
    start: Instant,
    name: &'static str,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            log(self.start, format!("  {} cancelled", self.name));
        }
    }
}

/// Stands in for downloading `name`, which takes `ms` milliseconds; returns its size.
async fn download(start: Instant, name: &'static str, ms: u64) -> (&'static str, u64) {
    let mut guard = Guard {
        start,
        name,
        finished: false,
    };
    filch::sleep(Duration::from_millis(ms)).await;
    guard.finished = true;
    (name, ms * 1024)
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    log(start, "starting 5 downloads (400, 100, 300, 50, 200 ms)");
    let mut downloads = filch::as_completed(FILES.map(|(name, ms)| download(start, name, ms)));
    while let Some(result) = downloads.next().await {
        let (name, bytes) = result.expect("download task panicked");
        log(
            start,
            format!(
                "processing {name}: {bytes} bytes ({} to go)",
                downloads.len()
            ),
        );
    }
    log(start, "all done, in completion order");

    log(start, "again, but keep only the first two results");
    let mut downloads = filch::as_completed(FILES.map(|(name, ms)| download(start, name, ms)));
    for _ in 0..2 {
        if let Some(Ok((name, bytes))) = downloads.next().await {
            log(start, format!("processing {name}: {bytes} bytes"));
        }
    }
    log(
        start,
        format!(
            "dropping AsCompleted with {} still running",
            downloads.len()
        ),
    );
    drop(downloads);
    // The aborts are asynchronous: give the cancelled tasks a moment to be dropped.
    filch::sleep(Duration::from_millis(20)).await;
    log(start, "done: nothing kept running in the background");
}
