//! Model-based property tests of `Sleep::reset`, `timeout` and `interval` on a real runtime.
//!
//! Each case builds a two-worker runtime and runs a random script against it, on a worker or on
//! the `block_on` thread, under the real clock (there is no paused clock): durations stay within
//! 0–30 ms, and only what real time makes certain is asserted. That is lower bounds (nothing
//! completes before its deadline, a tick's scheduled instant follows its missed-tick rule
//! exactly), and one very generous upper bound, [`LATE`], which only turns a lost wake-up into a
//! failure sooner than the hang guard would. Speed is never asserted.
//!
//! Properties:
//!
//! - `Sleep::reset`: under random resets (earlier, later, to the past, after completion) mixed
//!   with single polls, bounded waits (here and in another task), blocked and yielding stretches,
//!   the sleep is never ready before the last deadline set, stays ready once ready until reset,
//!   and completes.
//! - `timeout`: `Err(Elapsed)` only once the deadline has passed and never for a ready inner
//!   future (the inner future is polled first, even past the deadline); `Ok` carries the inner
//!   output, no sooner than the inner future could finish; the inner future is dropped before
//!   either returns; who wins a close race is not asserted.
//! - `interval`, for each missed-tick behaviour, with random stalls of 0–4 periods between ticks
//!   (the thread blocked, or the task asleep) and random resets: no tick before its scheduled
//!   instant, and each scheduled instant exactly what the behaviour prescribes, as far as the
//!   instants before and after each `tick()` pin it down (see `Window`).
//!
//! `PROPTEST_CASES=2000 cargo test --test time_props` for a long run; the default is 64 cases
//! per property.

mod common;

use common::{within, DropGuard};
use filch::MissedTickBehavior;
use proptest::prelude::*;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// The one upper bound: far beyond any scheduling noise, well below the hang guard.
const LATE: Duration = Duration::from_secs(2);
/// The hang guard of one case.
const CASE_LIMIT: Duration = Duration::from_secs(30);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    // Every case takes real time: a shrink that never ends would outlast any CI job.
    ProptestConfig {
        cases,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// Runs one case on a fresh two-worker runtime, inside the hang guard.
fn run_case<F>(what: &str, on_worker: bool, case: F) -> Result<(), TestCaseError>
where
    F: Future<Output = Result<(), TestCaseError>> + Send + 'static,
{
    within(CASE_LIMIT, what, move || {
        let rt = common::runtime(2, "time-props");
        if on_worker {
            rt.block_on(async { filch::spawn(case).await.expect("the case's task panicked") })
        } else {
            rt.block_on(case)
        }
    })
}

/// Polls `fut` exactly once.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Up to 30 ms, at microsecond precision.
fn short() -> impl Strategy<Value = Duration> {
    (0u64..=30_000).prop_map(Duration::from_micros)
}

// ---------------------------------------------------------------------------------------------
// Sleep::reset

/// A deadline relative to the moment it is set.
#[derive(Clone, Debug)]
enum Target {
    Past(Duration),
    Now,
    Ahead(Duration),
}

impl Target {
    fn from(&self, now: Instant) -> Instant {
        match *self {
            Target::Past(d) => now.checked_sub(d).unwrap_or(now),
            Target::Now => now,
            Target::Ahead(d) => now + d,
        }
    }
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => short().prop_map(Target::Past),
        1 => Just(Target::Now),
        4 => short().prop_map(Target::Ahead),
    ]
}

#[derive(Clone, Debug)]
enum SleepOp {
    Reset(Target),
    Poll,
    /// `timeout(d, &mut sleep)`: a partial wait.
    WaitFor(Duration),
    /// The partial wait in another task, which hands the sleep back: its timer's entry wakes that
    /// task until the next poll here replaces the waker.
    WaitElsewhere(Duration),
    /// Blocks the thread (time passes, the timer may fire, nobody polls).
    Block(Duration),
    Yield,
}

fn sleep_op() -> impl Strategy<Value = SleepOp> {
    prop_oneof![
        3 => target().prop_map(SleepOp::Reset),
        3 => Just(SleepOp::Poll),
        2 => (0u64..=20_000).prop_map(|us| SleepOp::WaitFor(Duration::from_micros(us))),
        1 => (0u64..=10_000).prop_map(|us| SleepOp::WaitElsewhere(Duration::from_micros(us))),
        1 => (0u64..=10_000).prop_map(|us| SleepOp::Block(Duration::from_micros(us))),
        1 => Just(SleepOp::Yield),
    ]
}

/// The model: the last deadline set, and whether the sleep completed since.
struct SleepModel {
    deadline: Instant,
    done: bool,
}

impl SleepModel {
    /// Checks a poll's result, `now` being read just after it.
    fn polled(&mut self, ready: bool, now: Instant, what: &str) -> Result<(), TestCaseError> {
        if self.done {
            prop_assert!(
                ready,
                "{}: a completed sleep went pending without a reset",
                what
            );
        }
        if ready {
            prop_assert!(
                now >= self.deadline,
                "{}: ready {:?} before its deadline",
                what,
                self.deadline - now
            );
            self.done = true;
        }
        Ok(())
    }
}

async fn sleep_resets(
    first: Target,
    ops: Vec<SleepOp>,
    again: Duration,
) -> Result<(), TestCaseError> {
    let mut sleep = filch::sleep_until(first.from(Instant::now()));
    let mut model = SleepModel {
        deadline: sleep.deadline(),
        done: false,
    };
    for op in ops {
        match op {
            SleepOp::Reset(target) => {
                model.deadline = target.from(Instant::now());
                model.done = false;
                sleep.reset(model.deadline);
                prop_assert_eq!(sleep.deadline(), model.deadline);
            }
            SleepOp::Poll => {
                let ready = poll_once(&mut sleep).await.is_ready();
                model.polled(ready, Instant::now(), "poll")?;
                if ready {
                    prop_assert!(sleep.is_elapsed(), "ready but not elapsed");
                }
            }
            SleepOp::WaitFor(d) => {
                let r = filch::timeout(d, &mut sleep).await;
                model.polled(r.is_ok(), Instant::now(), "partial wait")?;
            }
            SleepOp::WaitElsewhere(d) => {
                let (back, r) = filch::spawn(async move {
                    let r = filch::timeout(d, &mut sleep).await;
                    (sleep, r)
                })
                .await
                .expect("the waiting task panicked");
                sleep = back;
                model.polled(r.is_ok(), Instant::now(), "partial wait in another task")?;
            }
            SleepOp::Block(d) => std::thread::sleep(d),
            SleepOp::Yield => filch::yield_now().await,
        }
        if sleep.is_elapsed() {
            let now = Instant::now();
            prop_assert!(now >= model.deadline, "is_elapsed before the deadline");
        }
    }
    // It completes, at the last deadline or later.
    let wait = model.deadline.saturating_duration_since(Instant::now()) + LATE;
    let r = filch::timeout(wait, &mut sleep).await;
    prop_assert!(r.is_ok(), "not complete {:?} after its deadline", LATE);
    model.polled(true, Instant::now(), "final wait")?;
    // A reset after completion: pending again until the new deadline, then complete again.
    model.deadline = Instant::now() + again;
    model.done = false;
    sleep.reset(model.deadline);
    let ready = poll_once(&mut sleep).await.is_ready();
    model.polled(ready, Instant::now(), "poll after completion and reset")?;
    let wait = model.deadline.saturating_duration_since(Instant::now()) + LATE;
    let r = filch::timeout(wait, &mut sleep).await;
    prop_assert!(r.is_ok(), "not complete {:?} after its new deadline", LATE);
    model.polled(true, Instant::now(), "wait after completion and reset")
}

// ---------------------------------------------------------------------------------------------
// timeout

#[derive(Clone, Debug)]
enum Inner {
    /// Ready at the first poll.
    Ready,
    /// Yields `n` times, then is ready.
    Yields(u8),
    /// Sleeps for the duration, then is ready.
    Sleeps(Duration),
    /// Sleeps until `LATE` after the deadline: the timeout wins unless the task starves for `LATE`.
    SleepsPastTheDeadline,
    Never,
}

#[derive(Clone, Debug)]
enum Limit {
    /// `timeout(d, ..)`.
    In(Duration),
    /// `timeout_at(now - d, ..)`.
    Past(Duration),
    /// `timeout(LATE + 30 ms, ..)`: an inner future that finishes within 30 ms wins unless the task
    /// starves for `LATE`.
    Generous,
}

fn timeout_case() -> impl Strategy<Value = (Inner, Limit)> {
    let finishing = prop_oneof![
        Just(Inner::Ready),
        (1u8..4).prop_map(Inner::Yields),
        short().prop_map(Inner::Sleeps),
    ];
    let limit = prop_oneof![
        3 => short().prop_map(Limit::In),
        1 => short().prop_map(Limit::Past),
        1 => Just(Limit::Generous),
    ];
    // The inner futures that may not finish meet only the short limits (no 2 s waits).
    let unfinishing = prop_oneof![Just(Inner::SleepsPastTheDeadline), Just(Inner::Never)];
    let short_limit = prop_oneof![
        3 => short().prop_map(Limit::In),
        1 => short().prop_map(Limit::Past),
    ];
    prop_oneof![
        3 => (finishing, limit),
        1 => (unfinishing, short_limit),
    ]
}

async fn timeout_race(inner: Inner, limit: Limit) -> Result<(), TestCaseError> {
    const OUTPUT: u64 = 42;
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropGuard(drops.clone());
    let start = Instant::now();
    // The deadline is no earlier than this (`timeout` reads the clock again).
    let deadline = match limit {
        Limit::In(d) => start + d,
        Limit::Past(d) => start.checked_sub(d).unwrap_or(start),
        Limit::Generous => start + LATE + ms(30),
    };
    // How long the inner future takes at least, if it finishes.
    let takes = match inner {
        Inner::Sleeps(f) => f,
        Inner::SleepsPastTheDeadline => deadline.saturating_duration_since(start) + LATE,
        _ => Duration::ZERO,
    };
    let fut = {
        let inner = inner.clone();
        async move {
            let _guard = guard;
            match inner {
                Inner::Ready => {}
                Inner::Yields(n) => {
                    for _ in 0..n {
                        filch::yield_now().await;
                    }
                }
                Inner::Sleeps(_) | Inner::SleepsPastTheDeadline => filch::sleep(takes).await,
                Inner::Never => std::future::pending().await,
            }
            OUTPUT
        }
    };
    let mut t = pin!(match limit {
        Limit::In(d) => filch::timeout(d, fut),
        Limit::Past(_) => filch::timeout_at(deadline, fut),
        Limit::Generous => filch::timeout(LATE + ms(30), fut),
    });
    let r = (&mut t).await;
    let now = Instant::now();
    // The inner future is gone (finished or dropped) before the result comes back.
    prop_assert_eq!(
        drops.load(SeqCst),
        1,
        "the inner future outlived the result"
    );
    match r {
        Ok(v) => {
            prop_assert_eq!(v, OUTPUT);
            prop_assert!(now - start >= takes, "the inner future finished early");
            prop_assert!(
                !matches!(inner, Inner::Never | Inner::SleepsPastTheDeadline),
                "the inner future won {:?} after the deadline",
                LATE
            );
        }
        Err(_) => {
            prop_assert!(now >= deadline, "elapsed {:?} early", deadline - now);
            prop_assert!(
                !matches!(inner, Inner::Ready),
                "a ready future lost to the deadline"
            );
            prop_assert!(
                !matches!(limit, Limit::Generous),
                "a future of at most 30 ms lost to a deadline {:?} later",
                LATE
            );
            prop_assert!(
                now <= deadline.max(start) + LATE,
                "elapsed {:?} after its deadline",
                LATE
            );
            // It keeps answering Elapsed.
            let again = poll_once(&mut t.as_mut()).await;
            prop_assert!(matches!(again, Poll::Ready(Err(_))), "{:?}", again);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// interval

#[derive(Clone, Debug)]
enum Stall {
    /// `std::thread::sleep`: the worker is blocked, as under a long poll.
    Block(Duration),
    /// `filch::sleep`: the task is away, the worker free.
    Away(Duration),
}

#[derive(Clone, Debug)]
struct Step {
    stall: Stall,
    /// `Interval::reset` before the tick.
    reset: bool,
}

/// A stall of 0–4 periods (in quarters), mostly blocking; now and then a reset.
fn step(period: Duration) -> impl Strategy<Value = Step> {
    (
        0u32..=16,
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.1),
    )
        .prop_map(move |(quarters, block, reset)| {
            let d = period * quarters / 4;
            let stall = if block {
                Stall::Block(d)
            } else {
                Stall::Away(d)
            };
            Step { stall, reset }
        })
}

#[derive(Clone, Debug)]
struct IntervalCase {
    on_worker: bool,
    period: Duration,
    /// The first tick, relative to the interval's creation.
    first: Target,
    steps: Vec<Step>,
}

fn interval_case() -> impl Strategy<Value = IntervalCase> {
    let first = prop_oneof![
        1 => short().prop_map(Target::Past),
        2 => Just(Target::Now),
        1 => (0u64..=10_000).prop_map(|us| Target::Ahead(Duration::from_micros(us))),
    ];
    (500u64..=8_000)
        .prop_map(Duration::from_micros)
        .prop_flat_map(move |period| {
            (
                any::<bool>(),
                Just(period),
                first.clone(),
                prop::collection::vec(step(period), 2..10),
            )
        })
        .prop_map(|(on_worker, period, first, steps)| IntervalCase {
            on_worker,
            period,
            first,
            steps,
        })
}

/// Where the next tick's scheduled instant must lie, bounds included.
#[derive(Debug)]
struct Window {
    low: Instant,
    high: Instant,
}

impl Window {
    fn exactly(t: Instant) -> Window {
        Window { low: t, high: t }
    }

    fn show(&self, base: Instant) -> String {
        format!("[{}, {}]", at(base, self.low), at(base, self.high))
    }
}

/// One `tick()`: the clock just before the call, the returned scheduled instant, and the clock
/// just after. `poll_tick` reads the clock in between (`call <= now <= arrival`) to decide the
/// next tick, which is how far the next scheduled instant can be pinned down.
#[derive(Clone, Copy, Debug)]
struct Tick {
    call: Instant,
    scheduled: Instant,
    arrival: Instant,
}

impl Tick {
    fn show(&self, base: Instant) -> String {
        format!(
            "asked at {}, scheduled at {}, arrived at {}",
            at(base, self.call),
            at(base, self.scheduled),
            at(base, self.arrival)
        )
    }
}

/// `t` as an offset from `base`, for failure messages.
fn at(base: Instant, t: Instant) -> String {
    if t >= base {
        format!("+{:?}", t - base)
    } else {
        format!("-{:?}", base - t)
    }
}

/// The next tick's window after `t`, under `behavior`, by `Interval::poll_tick`'s rules.
fn next_window(behavior: MissedTickBehavior, period: Duration, t: Tick) -> Window {
    let after = t.scheduled + period;
    match behavior {
        // The schedule is kept, whatever the lateness.
        MissedTickBehavior::Burst => Window::exactly(after),
        // `now + period` if the tick's `now` is more than a period past `scheduled`, else
        // `scheduled + period`: exactly the latter when the tick arrived before it, the former
        // when it was asked for after it, either in between. Never before `call`, so no second
        // tick is due at once after a stall.
        MissedTickBehavior::Delay => {
            if t.arrival < after {
                Window::exactly(after)
            } else if t.call > after {
                Window {
                    low: t.call + period,
                    high: t.arrival + period,
                }
            } else {
                Window {
                    low: after,
                    high: t.arrival + period,
                }
            }
        }
        // The first grid point strictly after the tick's `now`.
        MissedTickBehavior::Skip => Window {
            low: t.call,
            high: t.arrival + period,
        },
    }
}

async fn interval_ticks(
    behavior: MissedTickBehavior,
    period: Duration,
    first: Target,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    // Failure messages give instants as offsets from `base`.
    let base = Instant::now();
    let start = first.from(base);
    let mut ticks = filch::interval_at(start, period);
    ticks.set_missed_tick_behavior(behavior);
    let mut window = Window::exactly(start);
    // The grid's origin (`Skip`, `Burst`): the first tick since creation or the last reset.
    let mut origin = None;
    let mut prev: Option<Tick> = None;
    for (k, step) in steps.into_iter().enumerate() {
        match step.stall {
            Stall::Block(d) => std::thread::sleep(d),
            Stall::Away(d) => filch::sleep(d).await,
        }
        if step.reset {
            let before = Instant::now();
            ticks.reset();
            window = Window {
                low: before + period,
                high: Instant::now() + period,
            };
            origin = None;
            prev = None;
        }
        let call = Instant::now();
        let scheduled = ticks.tick().await;
        let arrival = Instant::now();
        let t = Tick {
            call,
            scheduled,
            arrival,
        };
        prop_assert!(scheduled <= arrival, "tick {}: early: {}", k, t.show(base));
        prop_assert!(
            arrival <= call.max(scheduled) + LATE,
            "tick {}: more than {:?} late: {}",
            k,
            LATE,
            t.show(base)
        );
        prop_assert!(
            window.low <= scheduled && scheduled <= window.high,
            "tick {}: scheduled outside {}: {}",
            k,
            window.show(base),
            t.show(base)
        );
        if let Some(p) = prev {
            let gap = scheduled - p.scheduled;
            prop_assert!(gap >= period, "tick {}: {:?} after the last one", k, gap);
            // No burst: after a stall, the tick that follows the late one was not yet due
            // when the late one was asked for.
            let not_due = match behavior {
                MissedTickBehavior::Burst => true,
                MissedTickBehavior::Delay => scheduled >= p.call,
                MissedTickBehavior::Skip => scheduled > p.call,
            };
            prop_assert!(
                not_due,
                "tick {}: a burst after a stall: {}, the last one {}",
                k,
                t.show(base),
                p.show(base)
            );
        }
        let origin = *origin.get_or_insert(scheduled);
        if behavior != MissedTickBehavior::Delay {
            let offset = (scheduled - origin).as_nanos();
            prop_assert_eq!(offset % period.as_nanos(), 0, "tick {}: off the grid", k);
        }
        window = next_window(behavior, period, t);
        prev = Some(t);
    }
    Ok(())
}

fn check_interval(behavior: MissedTickBehavior, case: IntervalCase) -> Result<(), TestCaseError> {
    let ticks = interval_ticks(behavior, case.period, case.first, case.steps);
    run_case("interval", case.on_worker, ticks)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_reset_sleep_completes_at_its_last_deadline_and_never_before(
        on_worker in any::<bool>(),
        first in target(),
        ops in prop::collection::vec(sleep_op(), 0..10),
        again in (1u64..=20_000).prop_map(Duration::from_micros),
    ) {
        run_case("sleep resets", on_worker, sleep_resets(first, ops, again))?;
    }

    #[test]
    fn a_timeout_elapses_only_after_its_deadline_and_never_drops_a_ready_output(
        on_worker in any::<bool>(),
        (inner, limit) in timeout_case(),
    ) {
        run_case("timeout", on_worker, timeout_race(inner, limit))?;
    }

    #[test]
    fn burst_keeps_every_tick_of_the_schedule_and_none_comes_early(case in interval_case()) {
        check_interval(MissedTickBehavior::Burst, case)?;
    }

    #[test]
    fn delay_never_bursts_and_restarts_a_period_after_a_late_tick(case in interval_case()) {
        check_interval(MissedTickBehavior::Delay, case)?;
    }

    #[test]
    fn skip_never_bursts_and_stays_on_the_grid(case in interval_case()) {
        check_interval(MissedTickBehavior::Skip, case)?;
    }
}
