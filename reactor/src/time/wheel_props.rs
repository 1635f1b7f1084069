//! Differential property tests of the timing wheel: the wheel and a plain model (a map of the
//! live deadlines) go through the same random operations, and must agree after every step.
//!
//! Operations: insert at deadlines in the past, now, within a tick, at every level, beyond the
//! wheel's span and near the clock's far-future clamp; cancel; cancel and register again; reset
//! to another deadline; advance by steps from nothing to years (and one jump to the clamp); and
//! advance to the wheel's own next deadline, as the driver does.
//!
//! Properties, after every step: nothing fires before its deadline; everything due fires at the
//! advance that reaches its deadline; nothing fires twice; a cancelled entry never fires; the
//! entry count matches; `next_deadline` is `None` exactly when nothing is registered, never
//! later than the earliest deadline, and never in the past unless something is due (so a driver
//! that sleeps until it neither misses a deadline nor spins). At the end, a driver loop drains
//! the wheel in a bounded number of turns.
//!
//! `PROPTEST_CASES=100000 cargo test -p filch-reactor --lib wheel_props` for a long run; CI
//! runs the default of 2,000 cases.

use super::wheel::{Key, Polled, Wheel, TICK_NS};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

const MS: u64 = TICK_NS;
/// The wheel's span, 64^6 ms, in nanoseconds.
const SPAN: u64 = (1 << 36) * MS;
/// Where `Timers::to_ns` saturates: the latest deadline (and time) the wheel ever sees.
const CLAMP: u64 = u64::MAX - 1;
/// About 30 years, the deadline of `sleep(Duration::MAX)`.
const THIRTY_YEARS: u64 = 30 * 365 * 86_400 * 1_000 * MS;

/// A waker that logs the id of its timer when woken.
struct Logged {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Logged {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

/// A deadline, relative to the wheel's current time.
#[derive(Clone, Debug)]
enum When {
    Past(u64),
    Now,
    WithinTick(u64),
    /// Somewhere in level `l`'s range: `[64^l, 64^(l+1))` ms ahead, at nanosecond precision.
    Level(u32, u64),
    BeyondSpan(u64),
    ThirtyYears(u64),
    NearClamp(u64),
}

impl When {
    fn deadline(&self, now: u64) -> u64 {
        let ahead = |d: u64| now.saturating_add(d).min(CLAMP);
        match *self {
            When::Past(d) => now.saturating_sub(d),
            When::Now => now,
            When::WithinTick(d) => ahead(d),
            When::Level(level, fraction) => {
                let low = 64u64.pow(level) * MS;
                let high = 64u64.pow(level + 1) * MS;
                ahead(low + fraction % (high - low))
            }
            When::BeyondSpan(d) => ahead(SPAN + d),
            When::ThirtyYears(d) => ahead(THIRTY_YEARS + d),
            When::NearClamp(d) => CLAMP - d,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(When),
    /// Cancels the `n % live`-th live entry.
    Cancel(usize),
    /// Cancels it and registers the same deadline again (a new key).
    CancelAndInsertAgain(usize),
    /// `Sleep::reset`: cancel, then register at another deadline.
    Reset(usize, When),
    /// Moves the clock forward by this many nanoseconds.
    Advance(u64),
    /// Moves the clock to the wheel's next deadline, as the driver does.
    AdvanceToNext,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        (0..10 * SPAN).prop_map(When::Past),
        Just(When::Now),
        (1..MS).prop_map(When::WithinTick),
        (0u32..6, any::<u64>()).prop_map(|(l, f)| When::Level(l, f)),
        (0..20 * SPAN).prop_map(When::BeyondSpan),
        (0..SPAN).prop_map(When::ThirtyYears),
        (0..1_000 * MS).prop_map(When::NearClamp),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => when().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => any::<usize>().prop_map(Op::CancelAndInsertAgain),
        2 => (any::<usize>(), when()).prop_map(|(n, w)| Op::Reset(n, w)),
        1 => Just(Op::Advance(0)),
        2 => (0..3 * MS).prop_map(Op::Advance),
        2 => (0..10_000 * MS).prop_map(Op::Advance),
        1 => (0..2 * SPAN).prop_map(Op::Advance),
        3 => Just(Op::AdvanceToNext),
    ]
}

/// The wheel under test and its model, driven together.
struct Harness {
    wheel: Wheel,
    /// Live entries: id → (deadline, key, its waker).
    model: BTreeMap<usize, (u64, Key, Waker)>,
    /// Keys of entries that fired or were cancelled: stale for good.
    gone: Vec<(Key, Waker)>,
    now: u64,
    next_id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            wheel: Wheel::new(),
            model: BTreeMap::new(),
            gone: Vec::new(),
            now: 0,
            next_id: 0,
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn insert(&mut self, deadline: u64) {
        let id = self.next_id;
        self.next_id += 1;
        let waker = Waker::from(Arc::new(Logged {
            id,
            log: self.log.clone(),
        }));
        let key = self.wheel.insert(deadline, waker.clone());
        self.model.insert(id, (deadline, key, waker));
    }

    /// The `n % live`-th live entry's id, if any.
    fn pick(&self, n: usize) -> Option<usize> {
        if self.model.is_empty() {
            return None;
        }
        self.model.keys().nth(n % self.model.len()).copied()
    }

    fn cancel(&mut self, id: usize) -> u64 {
        let (deadline, key, waker) = self.model.remove(&id).unwrap();
        assert!(
            self.wheel.remove(key).is_some(),
            "a live entry gives its waker back"
        );
        assert!(
            self.wheel.remove(key).is_none(),
            "a second cancel finds nothing"
        );
        self.gone.push((key, waker));
        deadline
    }

    fn advance(&mut self, to: u64) {
        assert!(to >= self.now);
        self.now = to;
        let mut out = Vec::new();
        self.wheel.advance(to, &mut out);
        out.into_iter().for_each(Waker::wake);
        let mut fired = std::mem::take(&mut *self.log.lock().unwrap());
        fired.sort_unstable();
        let due: Vec<usize> = self
            .model
            .iter()
            .filter(|(_, (deadline, _, _))| *deadline <= to)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            fired, due,
            "at {to} ns: fired (left) must be exactly the due entries, once each"
        );
        for id in due {
            let (_, key, waker) = self.model.remove(&id).unwrap();
            self.gone.push((key, waker));
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Insert(when) => self.insert(when.deadline(self.now)),
            Op::Cancel(n) => {
                if let Some(id) = self.pick(*n) {
                    self.cancel(id);
                }
            }
            Op::CancelAndInsertAgain(n) => {
                if let Some(id) = self.pick(*n) {
                    let deadline = self.cancel(id);
                    self.insert(deadline);
                }
            }
            Op::Reset(n, when) => {
                if let Some(id) = self.pick(*n) {
                    self.cancel(id);
                    self.insert(when.deadline(self.now));
                }
            }
            Op::Advance(by) => self.advance(self.now.saturating_add(*by).min(CLAMP)),
            Op::AdvanceToNext => {
                if let Some(next) = self.wheel.next_deadline() {
                    self.advance(next.max(self.now));
                }
            }
        }
    }

    fn check(&mut self) {
        assert_eq!(self.wheel.len(), self.model.len(), "entry count");
        let earliest = self.model.values().map(|(d, _, _)| *d).min();
        let next = self.wheel.next_deadline();
        match (next, earliest) {
            (None, None) => {}
            (Some(next), Some(earliest)) => {
                assert!(
                    next <= earliest,
                    "next_deadline {next} is after the earliest deadline {earliest}"
                );
                if earliest > self.now {
                    assert!(
                        next > self.now,
                        "next_deadline {next} is not ahead of now {} while nothing is due",
                        self.now
                    );
                }
            }
            (next, earliest) => {
                panic!("next_deadline {next:?} but the earliest deadline is {earliest:?}")
            }
        }
        for (_, (_, key, waker)) in self.model.iter() {
            assert_eq!(self.wheel.poll(*key, waker), Polled::Pending);
        }
        for (key, waker) in &self.gone {
            assert_eq!(self.wheel.poll(*key, waker), Polled::Fired, "a stale key");
        }
        // Bounded memory of stale keys: the check is what matters, not keeping all of them.
        if self.gone.len() > 64 {
            self.gone.drain(..32);
        }
    }

    /// Runs the wheel as the driver does until everything fired: each turn sleeps until the
    /// wheel's next deadline. Far deadlines come back around the top level at most once per
    /// top-level slot span (2^30 ms), each time cascading down six levels at most.
    fn drain_like_the_driver(&mut self) {
        let mut turns = 0;
        while let Some(next) = self.wheel.next_deadline() {
            self.advance(next.max(self.now));
            turns += 1;
            let bound = 64 + 7 * (self.now / ((1 << 30) * MS) + 1);
            assert!(turns <= bound, "{turns} driver turns and still not drained");
        }
        assert!(
            self.model.is_empty(),
            "next_deadline said None with entries left"
        );
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_wheel_agrees_with_a_sorted_map_of_deadlines(
        start in prop_oneof![Just(0u64), 0..SPAN, (SPAN - 10 * MS)..(SPAN + 10 * MS)],
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let mut h = Harness::new();
        // Start with some uptime: the old far-deadline hang needed one.
        h.advance(start);
        for op in &ops {
            h.apply(op);
            h.check();
        }
        h.drain_like_the_driver();
    }
}
