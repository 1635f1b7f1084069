//! `interval`: spacing, and the three missed-tick behaviours.

use filch::MissedTickBehavior;
use std::time::{Duration, Instant};

const P: Duration = Duration::from_millis(20);

#[test]
fn ticks_are_spaced_by_the_period_and_the_first_is_immediate() {
    filch::run(async {
        let start = Instant::now();
        let mut ticks = filch::interval(P);
        let first = ticks.tick().await;
        assert!(start.elapsed() < P, "the first tick waited");
        let mut prev = first;
        for _ in 0..4 {
            let t = ticks.tick().await;
            assert_eq!(t - prev, P, "scheduled instants are one period apart");
            assert!(Instant::now() >= t, "a tick came early");
            prev = t;
        }
    });
}

/// Blocks the task for 3.5 periods after the first tick, then reports the scheduled instants of
/// the next ticks and when they arrived.
async fn after_a_stall(behavior: MissedTickBehavior) -> (Instant, Vec<(Instant, Instant)>) {
    let mut ticks = filch::interval(P);
    ticks.set_missed_tick_behavior(behavior);
    let t0 = ticks.tick().await;
    std::thread::sleep(P * 7 / 2);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let t = ticks.tick().await;
        seen.push((t, Instant::now()));
    }
    (t0, seen)
}

#[test]
fn burst_fires_the_missed_ticks_back_to_back() {
    filch::run(async {
        let (t0, seen) = after_a_stall(MissedTickBehavior::Burst).await;
        for (k, (scheduled, _)) in seen.iter().enumerate() {
            assert_eq!(
                *scheduled,
                t0 + P * (k as u32 + 1),
                "burst keeps the schedule"
            );
        }
        // The three missed ticks arrive at once, well before their period spacing.
        let spread = seen[2].1 - seen[0].1;
        assert!(spread < P, "missed ticks were not bursted: {spread:?}");
    });
}

#[test]
fn delay_restarts_the_schedule_from_the_late_tick() {
    filch::run(async {
        let (t0, seen) = after_a_stall(MissedTickBehavior::Delay).await;
        for pair in seen.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= P, "ticks scheduled closer than a period: {gap:?}");
        }
        for (scheduled, arrived) in &seen {
            assert!(arrived >= scheduled, "a tick came early");
        }
        // The late tick fired at about 3.5 periods; the next one is a full period after that,
        // not at 2 periods (burst) or 4 periods (skip).
        assert!(seen[1].0 - t0 > P * 4, "{:?}", seen[1].0 - t0);
    });
}

#[test]
fn skip_jumps_to_the_next_tick_of_the_original_schedule() {
    filch::run(async {
        let (t0, seen) = after_a_stall(MissedTickBehavior::Skip).await;
        for pair in seen.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            assert_eq!(
                (b - t0).as_nanos() % P.as_nanos(),
                0,
                "off the original grid"
            );
            assert!(b > a);
        }
        // The tick after the stall skipped the missed slots: it is at least 4 periods in.
        assert!(seen[1].0 - t0 >= P * 4, "{:?}", seen[1].0 - t0);
    });
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn a_zero_period_panics() {
    filch::run(async {
        let _ = filch::interval(Duration::ZERO);
    });
}

/// Regression: `interval(Duration::MAX)` panicked ("overflow when adding duration to instant") on
/// the second tick and on `reset`, under every missed-tick behaviour. The first tick comes at once;
/// the next is "never" (a timeout ends the wait).
#[test]
fn an_interval_of_duration_max_ticks_once_and_then_waits_without_panicking() {
    filch::run(async {
        for behavior in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let mut ticks = filch::interval(Duration::MAX);
            ticks.set_missed_tick_behavior(behavior);
            ticks.tick().await;
            let second = filch::timeout(Duration::from_millis(5), ticks.tick()).await;
            assert!(second.is_err(), "{behavior:?}: a second tick came");
            ticks.reset();
            let after_reset = filch::timeout(Duration::from_millis(5), ticks.tick()).await;
            assert!(
                after_reset.is_err(),
                "{behavior:?}: a tick came after reset"
            );
        }
        // A huge period that does not overflow one addition but does when multiplied (`Skip`).
        let mut ticks = filch::interval(Duration::from_secs(u64::MAX / 4));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticks.tick().await;
        assert!(filch::timeout(Duration::from_millis(5), ticks.tick())
            .await
            .is_err());
    });
}

/// `reset_after`, `reset_at` and `reset_immediately` move the next tick (on the paused clock, so
/// the instants are exact), and the ticks after it follow one period apart.
#[test]
fn resets_move_the_next_tick() {
    let rt = filch::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let hour = Duration::from_secs(3600);
        let mut ticks = filch::interval(hour);
        let t0 = ticks.tick().await;
        assert_eq!(filch::time::now(), t0, "the first tick is immediate");

        ticks.reset_after(Duration::from_millis(5));
        let t1 = ticks.tick().await;
        assert_eq!(t1 - t0, Duration::from_millis(5));
        assert_eq!(filch::time::now(), t1);

        let at = filch::time::now() + Duration::from_millis(7);
        ticks.reset_at(at);
        assert_eq!(ticks.tick().await, at);

        ticks.reset_immediately();
        let t3 = ticks.tick().await;
        assert_eq!(
            t3, at,
            "reset_immediately: due at once, at the current time"
        );
        assert_eq!(filch::time::now(), at);

        // The schedule continues one period after the reset tick.
        assert_eq!(ticks.tick().await - t3, hour);
    });
}
