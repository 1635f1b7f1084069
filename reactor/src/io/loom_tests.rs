//! Loom model of the readiness protocol: a task that clears readiness after `WouldBlock` races
//! the driver setting it again for new data. Whatever the interleaving, the task either sees the
//! new readiness or is woken: it never sleeps on data that arrived. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-reactor --release --lib loom_tests`.

use super::scheduled_io::ScheduledIo;
use super::{Interest, Ready};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use std::task::{Context, Poll, Wake, Waker};

/// Counts wake-ups (and holds a loom `Arc`, so a leaked waker is reported).
struct CountWaker(AtomicUsize, #[allow(dead_code)] Arc<()>);

impl Wake for CountWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn clear_after_would_block_never_loses_a_newer_event() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        // The socket holds data the task has not read yet.
        let has_data = Arc::new(AtomicBool::new(false));
        io.set_readiness(1, Ready::READABLE);

        let driver = {
            let io = io.clone();
            let has_data = has_data.clone();
            thread::spawn(move || {
                // New data arrives: the OS reports a new edge, on a later driver tick.
                has_data.store(true, SeqCst);
                io.set_readiness(2, Ready::READABLE);
                let mut wakers = Vec::new();
                io.take_wakers(Ready::READABLE, &mut wakers);
                wakers.into_iter().for_each(Waker::wake);
            })
        };

        let counter = std::sync::Arc::new(CountWaker(AtomicUsize::new(0), Arc::new(())));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut got_data = false;
        // The task's read loop, twice at most: a read, WouldBlock, clear, wait.
        for _ in 0..2 {
            match io.poll_ready(&mut cx, Interest::READABLE) {
                Poll::Ready(event) => {
                    // (compare_exchange rather than swap: loom 0.7's `swap` can read a stale value)
                    if has_data
                        .compare_exchange(true, false, SeqCst, SeqCst)
                        .is_ok()
                    {
                        got_data = true;
                        break;
                    }
                    // The read found nothing: WouldBlock.
                    io.clear_readiness(event);
                }
                Poll::Pending => break,
            }
        }
        driver.join().unwrap();
        let woken = counter.0.load(SeqCst) > 0;
        let still_ready = matches!(io.poll_ready(&mut cx, Interest::READABLE), Poll::Ready(_));
        // The data was read, or the task was woken for it, or readiness still says so.
        assert!(
            got_data || woken || still_ready,
            "lost the event for new data"
        );
    });
}
