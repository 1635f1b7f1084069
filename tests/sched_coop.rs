//! The cooperative budget: a task whose awaits are always ready still gives its worker back.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

/// With one worker, task A awaits 1,000 join handles of tasks that already finished — every await
/// is ready at once, so A never returns `Pending` on its own. Task B is queued behind A. The budget
/// (128 leaf polls per task poll) must make A yield, so B runs before A is done.
#[test]
fn always_ready_awaits_still_yield_to_queued_tasks() {
    let rt = filch::Builder::new().worker_threads(1).build().unwrap();
    let b_ran = Arc::new(AtomicBool::new(false));

    let (observed_midway, total) = rt.block_on(async {
        // Finished tasks to await.
        let mut done = Vec::new();
        for i in 0..1_000u32 {
            done.push(filch::spawn(async move { i }));
        }
        while !done.iter().all(|h| h.is_finished()) {
            filch::yield_now().await;
        }

        let flag = b_ran.clone();
        let a = filch::spawn(async move {
            // Runs first on the single worker; B is queued behind it.
            let b = filch::spawn({
                let flag = flag.clone();
                async move { flag.store(true, SeqCst) }
            });
            let mut observed_midway = false;
            let mut total = 0u64;
            for (i, handle) in done.into_iter().enumerate() {
                total += u64::from(handle.await.unwrap());
                if i < 999 && flag.load(SeqCst) {
                    observed_midway = true;
                }
            }
            b.await.unwrap();
            (observed_midway, total)
        });
        a.await.unwrap()
    });

    assert_eq!(total, (0..1_000u64).sum::<u64>());
    assert!(b_ran.load(SeqCst));
    assert!(
        observed_midway,
        "the queued task only ran after the always-ready loop ended: the budget did not force a yield"
    );
}

/// Regression (tokio's `yield_defers_until_park`): a task looping on `yield_now` while another
/// task waits for a datagram used to run again and again before the worker looked at the
/// driver, so the datagram was seen only at the next maintenance turn (61 yields later). A
/// yielded task now runs again only after a driver turn, so the reader runs after one yield.
#[test]
fn a_yield_loop_lets_the_driver_deliver_io_before_it_runs_again() {
    let rt = filch::Builder::new().worker_threads(1).build().unwrap();
    let yields = rt.block_on(async {
        let receiver = filch::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = receiver.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let started = Arc::new(AtomicBool::new(false));
        let got = Arc::new(AtomicBool::new(false));
        let reader = {
            let (started, got) = (started.clone(), got.clone());
            filch::spawn(async move {
                started.store(true, SeqCst);
                let mut buf = [0u8; 8];
                receiver.recv(&mut buf).await.unwrap();
                got.store(true, SeqCst);
            })
        };
        let looper = filch::spawn(async move {
            // Wait until the reader has polled `recv` once (and so waits for readiness).
            while !started.load(SeqCst) {
                filch::yield_now().await;
            }
            filch::yield_now().await;
            sender.send_to(b"ping", target).unwrap();
            let mut yields = 0u32;
            while !got.load(SeqCst) && yields < 10_000 {
                filch::yield_now().await;
                yields += 1;
            }
            yields
        });
        reader.await.unwrap();
        looper.await.unwrap()
    });
    assert!(
        yields <= 2,
        "the reader ran only after {yields} yields of the other task"
    );
}
