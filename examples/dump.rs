//! A task dump of a small service: an acceptor with two connections, one of them running a
//! `TaskGroup` of queries, a periodic flusher, and an admin task that takes the dump.
//!
//! ```text
//! cargo run --example dump
//! ```
//!
//! A current-thread runtime, so that the ids and states come out the same on every run: the
//! admin task is the one running (it takes the dump), the task it has just spawned is
//! scheduled, everything else waits.

use filch::sync::watch;
use filch::{Handle, TaskGroup};
use std::time::Duration;

/// Waits until the service shuts down.
async fn until_shutdown(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn connection(shutdown: watch::Receiver<bool>, queries: usize) {
    if queries == 0 {
        until_shutdown(shutdown).await;
        return;
    }
    // The connection's handler runs its queries as a group: the children appear under it.
    let group = TaskGroup::<(), ()>::new();
    for i in 0..queries {
        let shutdown = shutdown.clone();
        group.spawn_named(format!("query {i}"), async move {
            until_shutdown(shutdown).await;
            Ok(())
        });
    }
    group.join().await.unwrap();
}

fn main() {
    let rt = filch::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (stop, shutdown) = watch::channel(false);

        let acceptor = {
            let shutdown = shutdown.clone();
            filch::task::Builder::new()
                .name("acceptor")
                .spawn(async move {
                    let conns: Vec<_> = [0, 2]
                        .into_iter()
                        .map(|queries| {
                            filch::task::Builder::new()
                                .name("conn")
                                .spawn(connection(shutdown.clone(), queries))
                        })
                        .collect();
                    until_shutdown(shutdown).await;
                    for conn in conns {
                        conn.await.unwrap();
                    }
                })
        };

        let flusher = filch::task::Builder::new().name("flusher").spawn(async {
            let mut tick = filch::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
            }
        });

        let admin = filch::task::Builder::new().name("admin").spawn(async {
            // A few rounds for everyone to reach its wait.
            for _ in 0..5 {
                filch::yield_now().await;
            }
            // Spawned and not polled yet when the dump is taken.
            let audit = filch::spawn(async {});
            let dump = Handle::current().dump();
            println!("{dump}");
            audit.await.unwrap();
        });

        admin.await.unwrap();
        stop.send(true).unwrap();
        acceptor.await.unwrap();
        flusher.abort();
    });
}
