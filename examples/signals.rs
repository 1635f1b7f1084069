//! A graceful shutdown: serve until Ctrl-C (`SIGINT`) or `SIGTERM`, then let the work in flight
//! finish and exit.
//!
//! Once the listeners exist, Ctrl-C no longer kills the process (the handlers stay installed
//! for its whole life): the program decides what a signal means, here "stop accepting work,
//! finish the rest, exit".
//!
//! `cargo run --example signals` (then press Ctrl-C, or `kill <pid>`), or
//! `cargo run --example signals -- --self-test`, which raises `SIGINT` at itself after a second
//! so that it exits by itself (what CI runs).

use filch::signal::unix::{signal, SignalKind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let self_test = std::env::args().any(|arg| arg == "--self-test");
    let start = Instant::now();
    filch::run(async move {
        // Both listeners exist (and so both handlers are installed) from here on: a signal
        // raised after this line is heard.
        let mut terminate = signal(SignalKind::terminate())?;
        let ctrl_c = filch::signal::ctrl_c();

        // The "service": a worker task that handles a job every 100 ms until told to stop.
        let stop = Arc::new(AtomicBool::new(false));
        let handled = Arc::new(AtomicU64::new(0));
        let worker = filch::spawn({
            let stop = stop.clone();
            let handled = handled.clone();
            async move {
                while !stop.load(Ordering::Relaxed) {
                    filch::sleep(Duration::from_millis(100)).await;
                    handled.fetch_add(1, Ordering::Relaxed);
                }
            }
        });

        println!(
            "pid {}: serving; press Ctrl-C or send SIGTERM to stop",
            std::process::id()
        );
        if self_test {
            let _raiser = filch::spawn(async {
                filch::sleep(Duration::from_secs(1)).await;
                println!("self-test: raising SIGINT");
                // SAFETY: `raise` has no memory-safety preconditions, and SIGINT's handler was
                // installed when `ctrl_c` was first polled (by the `select!` below, a second
                // ago), so it does not kill the process.
                unsafe { libc::raise(libc::SIGINT) };
            });
        }

        let why = filch::select! {
            result = ctrl_c => { result?; "Ctrl-C (SIGINT)" }
            _ = terminate.recv() => "SIGTERM",
        };
        println!("{why} received: finishing the work in flight");
        stop.store(true, Ordering::Relaxed);
        worker.await.expect("the worker task panicked");
        println!(
            "graceful shutdown after {:.1?}: {} jobs handled",
            start.elapsed(),
            handled.load(Ordering::Relaxed)
        );
        Ok(())
    })
}
