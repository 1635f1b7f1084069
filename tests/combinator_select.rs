//! `select` hands back the loser; `race` returns the first output and drops the losers.

mod common;

use common::DropGuard;
use filch::Either;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn select_returns_the_winner_and_the_still_usable_loser() {
    filch::run(async {
        let slow = Box::pin(async {
            filch::sleep(Duration::from_millis(30)).await;
            "slow"
        });
        let quick = Box::pin(async {
            filch::sleep(Duration::from_millis(1)).await;
            "quick"
        });
        let loser = match filch::select(slow, quick).await {
            Either::Right((winner, loser)) => {
                assert_eq!(winner, "quick");
                loser
            }
            Either::Left(_) => panic!("the slow future won"),
        };
        // The loser was not dropped: it can still be driven to completion.
        assert_eq!(loser.await, "slow");
    });
}

#[test]
fn select_prefers_the_first_future_when_both_are_ready() {
    filch::run(async {
        let r = filch::select(Box::pin(async { 1 }), Box::pin(async { 2 })).await;
        assert!(matches!(r, Either::Left((1, _))));
    });
}

#[test]
fn race_returns_the_first_to_finish_and_drops_the_others() {
    filch::run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let racers: Vec<_> = (1..=4u64)
            .map(|i| {
                let guard = DropGuard(drops.clone());
                async move {
                    let _guard = guard;
                    filch::sleep(Duration::from_millis(if i == 3 { 1 } else { 5_000 })).await;
                    i
                }
            })
            .collect();
        let winner = filch::race(racers).await;
        assert_eq!(winner, 3);
        assert_eq!(
            drops.load(SeqCst),
            4,
            "every racer, winner included, was dropped"
        );
    });
}

#[test]
#[should_panic(expected = "at least one future")]
fn race_of_nothing_panics() {
    filch::run(async {
        filch::race(Vec::<std::future::Ready<()>>::new()).await;
    });
}
