//! Volume: a million tiny tasks spawned from inside a task all run exactly once, and many
//! awaited join handles all deliver their outputs.

mod common;

use common::{runtime, within};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn one_million_detached_tasks_all_complete() {
    const TASKS: usize = 1_000_000;
    let count = within(LIMIT, "a million tasks", || {
        let rt = runtime(2, "many-million");
        let counter = Arc::new(AtomicUsize::new(0));
        // The task that brings the count to TASKS reports it.
        let (done_tx, done_rx) = futures_channel::oneshot::channel::<()>();
        let done_tx = Arc::new(Mutex::new(Some(done_tx)));
        rt.block_on(async {
            let spawner = filch::spawn({
                let counter = counter.clone();
                async move {
                    for _ in 0..TASKS {
                        let counter = counter.clone();
                        let done_tx = done_tx.clone();
                        // Detached: the handle is dropped at once.
                        drop(filch::spawn(async move {
                            if counter.fetch_add(1, Ordering::Relaxed) + 1 == TASKS {
                                let tx = done_tx.lock().unwrap().take().unwrap();
                                tx.send(()).unwrap();
                            }
                        }));
                    }
                }
            });
            spawner.await.unwrap();
            done_rx.await.expect("the last task never ran");
        });
        counter.load(Ordering::SeqCst)
    });
    assert_eq!(count, TASKS);
}

#[test]
fn one_hundred_thousand_join_handles_deliver_their_outputs() {
    const TASKS: u64 = 100_000;
    let (sum, count) = within(LIMIT, "awaiting many handles", || {
        let rt = runtime(2, "many-joins");
        rt.block_on(async {
            filch::spawn(async {
                let joins: Vec<_> = (0..TASKS).map(|i| filch::spawn(async move { i })).collect();
                let mut sum = 0;
                let mut count = 0;
                for join in joins {
                    sum += join.await.unwrap();
                    count += 1;
                }
                (sum, count)
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(count, TASKS);
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
}
