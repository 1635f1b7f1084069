//! `Pin`'s drop guarantee, end to end: a future that was polled is dropped at the address where it
//! was polled, whether it completes, loses a race, times out, is aborted, cancelled with its group
//! or left behind when its runtime or `block_on` ends. Every place that holds a user's future is
//! driven here with a `!Unpin` future that records its address on each poll and checks it when
//! dropped (intrusive futures, such as a waiter linked into a list by address, depend on it).

mod common;

use common::within;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// For each polled `StaysPut` dropped so far: whether it was dropped where it was polled; and how
/// many were ever polled.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<bool>>>, Arc<AtomicUsize>);

impl Log {
    fn stays_put(&self, polls: Option<u32>) -> StaysPut {
        StaysPut {
            at: 0,
            polls,
            log: self.clone(),
            _pin: PhantomPinned,
        }
    }

    fn take(&self) -> Vec<bool> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Yields until `n` futures have been polled in all.
    async fn polled(&self, n: usize) {
        while self.1.load(SeqCst) < n {
            filch::yield_now().await;
        }
    }
}

/// Ready after `polls` more polls (waking itself meanwhile), or pending for ever if `None`.
struct StaysPut {
    at: usize,
    polls: Option<u32>,
    log: Log,
    _pin: PhantomPinned,
}

impl Future for StaysPut {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only plain fields are written; nothing is moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        let here = this as *mut StaysPut as usize;
        assert!(this.at == 0 || this.at == here, "moved between two polls");
        if this.at == 0 {
            this.log.1.fetch_add(1, SeqCst);
        }
        this.at = here;
        match &mut this.polls {
            None => Poll::Pending,
            Some(0) => Poll::Ready(()),
            Some(n) => {
                *n -= 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Drop for StaysPut {
    fn drop(&mut self) {
        if self.at != 0 {
            let here = self as *mut StaysPut as usize;
            self.log.0.lock().unwrap().push(here == self.at);
        }
    }
}

#[test]
fn spawned_futures_are_dropped_where_they_were_polled() {
    within(LIMIT, "spawned futures stay put", || {
        let log = Log::default();
        let rt = filch::Builder::new().worker_threads(2).build().unwrap();
        let l = log.clone();
        rt.block_on(async move {
            // Completed.
            filch::spawn(l.stays_put(Some(2))).await.unwrap();
            // Aborted while idle.
            let aborted = filch::spawn(l.stays_put(None));
            l.polled(2).await;
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            // Panicked.
            let panicked = filch::spawn({
                let f = l.stays_put(Some(1));
                async move {
                    f.await;
                    panic!("boom");
                }
            });
            assert!(panicked.await.unwrap_err().is_panic());
            // Left pending for the runtime's shutdown.
            drop(filch::spawn(l.stays_put(None)));
            l.polled(4).await;
        });
        drop(rt);
        assert_eq!(log.take(), [true; 4]);
    });
}

#[test]
fn local_futures_are_dropped_where_they_were_polled() {
    within(LIMIT, "local futures stay put", || {
        let log = Log::default();
        let rt = filch::Builder::new_current_thread().build().unwrap();
        let l = log.clone();
        rt.block_on(async move {
            filch::spawn_local(l.stays_put(Some(1))).await.unwrap();
            let aborted = filch::spawn_local(l.stays_put(None));
            l.polled(2).await;
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            // Left for the end of the block_on.
            drop(filch::spawn_local(l.stays_put(None)));
            l.polled(3).await;
        });
        assert_eq!(log.take(), [true; 3]);
    });
}

#[test]
fn combinator_children_are_dropped_where_they_were_polled() {
    within(LIMIT, "combinator children stay put", || {
        let log = Log::default();
        let l = log.clone();
        filch::run(async move {
            filch::join_all([l.stays_put(Some(1)), l.stays_put(Some(3))]).await;
            assert_eq!(l.take(), [true; 2], "join_all");

            // The finished future, then the loser.
            filch::race([l.stays_put(Some(1)), l.stays_put(None)]).await;
            assert_eq!(l.take(), [true; 2], "race");

            let err = filch::try_join_all([
                Box::pin(async {
                    l.stays_put(None).await;
                    Ok(())
                }) as Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>,
                Box::pin(async {
                    l.stays_put(Some(2)).await;
                    Err(())
                }),
            ])
            .await;
            assert_eq!(err, Err(()));
            assert_eq!(l.take(), [true; 2], "try_join_all");

            let elapsed = filch::timeout(Duration::from_millis(5), l.stays_put(None)).await;
            assert!(elapsed.is_err());
            assert_eq!(l.take(), [true], "timeout");

            filch::join!(l.stays_put(Some(1)), l.stays_put(Some(2)));
            assert_eq!(l.take(), [true; 2], "join!");

            let err = filch::try_join!(
                async {
                    l.stays_put(None).await;
                    Ok::<(), ()>(())
                },
                async {
                    l.stays_put(Some(1)).await;
                    Err::<(), ()>(())
                },
            );
            assert_eq!(err, Err(()));
            assert_eq!(l.take(), [true; 2], "try_join!");

            let won = filch::select! {
                biased;
                _ = l.stays_put(None) => 0,
                _ = l.stays_put(Some(1)) => 1,
            };
            assert_eq!(won, 1);
            assert_eq!(l.take(), [true; 2], "select!");
        });
    });
}

#[test]
fn group_children_and_bodies_are_dropped_where_they_were_polled() {
    within(LIMIT, "group children stay put", || {
        let log = Log::default();
        let l = log.clone();
        filch::run(async move {
            let group = filch::TaskGroup::<(), ()>::new();
            for polls in [Some(1), None, None] {
                let f = l.stays_put(polls);
                group.spawn(async move {
                    f.await;
                    Ok(())
                });
            }
            let (f, l2) = (l.stays_put(Some(3)), l.clone());
            group.spawn(async move {
                // Fails once its siblings were polled, so that their drops are checked.
                l2.polled(3).await;
                f.await;
                Err(())
            });
            assert!(group.join().await.is_err());
            assert_eq!(l.take(), [true; 4], "a failure cancels the siblings");

            let body = l.stays_put(None);
            let child = l.stays_put(None);
            let l3 = l.clone();
            let cancelled = filch::TaskGroup::<(), ()>::scope(|scope| async move {
                scope.spawn(async move {
                    child.await;
                    Ok(())
                });
                l3.polled(5).await;
                scope.cancel();
                body.await;
                Ok(())
            })
            .await;
            assert!(cancelled.unwrap_err().is_cancelled());
            assert_eq!(l.take(), [true; 2], "a cancelled scope's body and child");
        });
    });
}
