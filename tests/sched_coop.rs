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
