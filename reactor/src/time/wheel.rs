//! A hierarchical timing wheel: 6 levels of 64 slots, 1 ms per slot at level 0, so level `l`'s
//! slots span `64^l` ms and the wheel covers 64^6 ms (about 2.2 years) ahead.
//!
//! Entries live in a slab (`entries`) and are linked into their slot's doubly-linked list by
//! index, so insert and cancel are O(1) and never allocate once the slab has grown. Each level
//! keeps a 64-bit bitmap of its non-empty slots, so finding the next expiration is a few bit
//! operations per level.
//!
//! Precision: the wheel's slots are 1 ms wide, but every entry keeps its exact deadline. When the
//! wheel reaches a level-0 slot, its entries that are not yet due move to `near`, a min-heap on
//! the exact deadline, and the driver wakes up at the heap's earliest deadline, not at a slot
//! boundary. An entry is never fired before its deadline: entries that come due are checked
//! against the exact time, and entries that were placed in a coarse slot are re-inserted lower
//! (cascaded) until their own millisecond comes. Cancelling an entry in `near` only frees it; its
//! heap record goes stale and is skipped when it comes out (within a millisecond).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
/// Ticks (ms) the wheel can represent ahead of `elapsed`; later deadlines wait in the top level
/// and are re-inserted when they come around.
const MAX_TICKS: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// Nanoseconds per tick.
pub(crate) const TICK_NS: u64 = 1_000_000;
const NIL: u32 = u32::MAX;

/// Identifies a registered entry; stale after the entry fired or was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Place {
    /// Not registered: never used, cancelled, or fired.
    Free,
    Slot {
        level: u8,
        slot: u8,
    },
    Near,
}

struct Entry {
    /// Exact deadline, in ns since the clock's start.
    deadline: u64,
    waker: Option<Waker>,
    place: Place,
    generation: u32,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
}

struct Level {
    occupied: u64,
    slots: [List; SLOTS],
}

/// The state of a polled entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryState {
    Pending,
    Fired,
}

/// What [`Wheel::poll`] found.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Polled {
    /// Registered, and the entry wakes the polling task already.
    Pending,
    /// Registered, with another waker: call [`Wheel::set_waker`].
    NewWaker,
    /// The entry fired; its key is stale.
    Fired,
}

pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: Vec<u32>,
    levels: [Level; LEVELS],
    /// Entries whose millisecond has come, by exact deadline: `(deadline, index, generation)`.
    near: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// The tick (ms) the wheel has been advanced to.
    elapsed: u64,
    /// Registered, not yet fired or cancelled.
    len: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: Vec::new(),
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [List { head: NIL }; SLOTS],
            }),
            near: BinaryHeap::new(),
            elapsed: 0,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Registers a deadline (ns). The caller fires it at once instead if it is already due.
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> Key {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.entries.push(Entry {
                    deadline: 0,
                    waker: None,
                    place: Place::Free,
                    generation: 0,
                    prev: NIL,
                    next: NIL,
                });
                u32::try_from(self.entries.len() - 1).expect("too many timers")
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.deadline = deadline;
        entry.waker = Some(waker);
        self.len += 1;
        self.place(index);
        Key {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Links entry `index` where its deadline says, relative to `elapsed`.
    fn place(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        let tick = entry.deadline / TICK_NS;
        if tick <= self.elapsed {
            entry.place = Place::Near;
            entry.prev = NIL;
            entry.next = NIL;
            self.near
                .push(Reverse((entry.deadline, index, entry.generation)));
            return;
        }
        // Deadlines past the wheel's span wait in the top level and come back around.
        let when = tick.min(self.elapsed + MAX_TICKS - 1);
        let level = level_for(self.elapsed, when);
        let mut slot = ((when >> (level as u32 * SLOT_BITS)) % SLOTS as u64) as u8;
        if level == LEVELS - 1 {
            let now_slot = ((self.elapsed >> (level as u32 * SLOT_BITS)) % SLOTS as u64) as u8;
            if slot == now_slot {
                // `when` differs from `elapsed` only above the top level's digit: a full turn
                // ahead, or more. The current top-level slot is the one being expired now, so
                // an entry linked there would be re-placed into it forever (regression: a
                // deadline about 2^36 ms minus the uptime's offset in its slot ahead hung the
                // driver). The slot before it is the last one this turn reaches: the entry
                // comes back at least 62 top-level slots (over a year) later, still before its
                // deadline, and is placed again from there.
                slot = (now_slot + SLOTS as u8 - 1) % SLOTS as u8;
            }
        }
        self.link(
            index,
            Place::Slot {
                level: level as u8,
                slot,
            },
        );
    }

    fn list_mut(&mut self, place: Place) -> &mut List {
        match place {
            Place::Slot { level, slot } => &mut self.levels[level as usize].slots[slot as usize],
            Place::Near | Place::Free => unreachable!("no list for {place:?}"),
        }
    }

    fn link(&mut self, index: u32, place: Place) {
        let list = self.list_mut(place);
        let head = list.head;
        list.head = index;
        if let Place::Slot { level, slot } = place {
            self.levels[level as usize].occupied |= 1 << slot;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = head;
        entry.place = place;
    }

    fn unlink(&mut self, index: u32) {
        let (place, prev, next) = {
            let e = &self.entries[index as usize];
            (e.place, e.prev, e.next)
        };
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            let list = self.list_mut(place);
            list.head = next;
            if next == NIL {
                if let Place::Slot { level, slot } = place {
                    self.levels[level as usize].occupied &= !(1 << slot);
                }
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        let e = &mut self.entries[index as usize];
        e.prev = NIL;
        e.next = NIL;
    }

    fn get_mut(&mut self, key: Key) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.generation == key.generation && e.place != Place::Free)
    }

    /// Whether the entry fired (its key is stale), and if not, whether `waker` is already the one
    /// it wakes. Never clones or drops a waker: the caller holds the wheel's lock.
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> Polled {
        let Some(entry) = self.get_mut(key) else {
            return Polled::Fired;
        };
        match &entry.waker {
            Some(w) if w.will_wake(waker) => Polled::Pending,
            _ => Polled::NewWaker,
        }
    }

    /// Makes `waker` the one woken when the entry fires, and hands back the one it replaces (the
    /// caller drops it after releasing the lock: a waker's drop is user code). `Err` gives
    /// `waker` back if the entry fired meanwhile.
    pub(crate) fn set_waker(&mut self, key: Key, waker: Waker) -> Result<Option<Waker>, Waker> {
        match self.get_mut(key) {
            Some(entry) => Ok(entry.waker.replace(waker)),
            None => Err(waker),
        }
    }

    /// Cancels the entry if it has not fired. Its key becomes stale. Hands back the entry's waker,
    /// for the caller to drop once it no longer holds the wheel's lock.
    #[must_use = "drop the waker after releasing the wheel's lock"]
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let entry = self.get_mut(key)?;
        let place = entry.place;
        match place {
            Place::Slot { .. } => {
                self.unlink(key.index);
                self.len -= 1;
            }
            // Its heap record goes stale (the generation changes below).
            Place::Near => self.len -= 1,
            Place::Free => return None,
        }
        let entry = &mut self.entries[key.index as usize];
        entry.place = Place::Free;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(key.index);
        entry.waker.take()
    }

    /// Fires the entry and frees it at once: its key goes stale, which is how its `Sleep` learns
    /// that it fired (a stale key polls as `Fired` and needs no removal).
    fn fire(&mut self, index: u32, out: &mut Vec<Waker>) {
        let entry = &mut self.entries[index as usize];
        entry.place = Place::Free;
        entry.prev = NIL;
        entry.next = NIL;
        entry.generation = entry.generation.wrapping_add(1);
        out.extend(entry.waker.take());
        self.free.push(index);
        self.len -= 1;
    }

    /// Fires every entry due at `now` (ns), pushing their wakers to `out`.
    pub(crate) fn advance(&mut self, now: u64, out: &mut Vec<Waker>) {
        let now_tick = now / TICK_NS;
        while let Some((level, slot, tick)) = self.next_expiration() {
            if tick > now_tick {
                break;
            }
            self.elapsed = self.elapsed.max(tick);
            let mut index = self.levels[level].slots[slot].head;
            self.levels[level].slots[slot].head = NIL;
            self.levels[level].occupied &= !(1 << slot);
            while index != NIL {
                let next = self.entries[index as usize].next;
                if self.entries[index as usize].deadline <= now {
                    self.fire(index, out);
                } else {
                    // Its millisecond has not come (cascade down) or has, but not its exact
                    // deadline (the near list).
                    self.place(index);
                }
                index = next;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
        // The near heap: entries whose millisecond has come.
        while let Some(&Reverse((deadline, index, generation))) = self.near.peek() {
            if deadline > now {
                break;
            }
            self.near.pop();
            if self.is_live_near(index, generation) {
                self.fire(index, out);
            }
        }
    }

    fn is_live_near(&self, index: u32, generation: u32) -> bool {
        let e = &self.entries[index as usize];
        e.generation == generation && e.place == Place::Near
    }

    /// The earliest time (ns) the wheel needs attention: the exact deadline at the top of the
    /// near heap, or the start of the next occupied slot (whose entries then move to the heap or
    /// cascade). Cheap: no list is walked.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        // Stale heap records (cancelled entries) must not wake the driver.
        while let Some(&Reverse((deadline, index, generation))) = self.near.peek() {
            if self.is_live_near(index, generation) {
                break;
            }
            let _ = deadline;
            self.near.pop();
        }
        let near = self.near.peek().map(|Reverse((deadline, _, _))| *deadline);
        let slot = self.next_expiration().map(|(_, _, tick)| tick * TICK_NS);
        match (near, slot) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The lowest level's next occupied slot: `(level, slot, tick at which it expires)`.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            let slot_range = 1u64 << (level as u32 * SLOT_BITS);
            let level_range = slot_range << SLOT_BITS;
            let now_slot = self.elapsed / slot_range;
            let rotated = lvl.occupied.rotate_right((now_slot % SLOTS as u64) as u32);
            let slot = ((rotated.trailing_zeros() as u64 + now_slot) % SLOTS as u64) as usize;
            let level_start = self.elapsed & !(level_range - 1);
            let mut tick = level_start + slot as u64 * slot_range;
            if tick <= self.elapsed && level > 0 {
                // The top level wraps around: a slot "before" now is a full turn ahead. On lower
                // levels a slot at `elapsed` itself is due now.
                if tick + slot_range <= self.elapsed {
                    tick += level_range;
                }
            }
            return Some((level, slot, tick));
        }
        None
    }

    /// Fires everything (the driver shut down).
    pub(crate) fn drain(&mut self, out: &mut Vec<Waker>) {
        self.near.clear();
        for index in 0..self.entries.len() as u32 {
            match self.entries[index as usize].place {
                Place::Slot { .. } => {
                    self.unlink(index);
                    self.fire(index, out);
                }
                Place::Near => self.fire(index, out),
                Place::Free => {}
            }
        }
    }
}

/// The level for a tick `when` seen from `elapsed`: the highest 6-bit digit in which they differ.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let masked = masked.min(MAX_TICKS - 1);
    let significant = 63 - masked.leading_zeros() as usize;
    significant / SLOT_BITS as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicUsize);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Flag>, Waker) {
        let f = Arc::new(Flag(AtomicUsize::new(0)));
        (f.clone(), Waker::from(f))
    }

    const MS: u64 = TICK_NS;

    /// Fires the wheel at each time in `times` and returns, per time, how many fired.
    fn run(wheel: &mut Wheel, times: &[u64]) -> Vec<usize> {
        times
            .iter()
            .map(|&t| {
                let mut out = Vec::new();
                wheel.advance(t, &mut out);
                let n = out.len();
                out.into_iter().for_each(Waker::wake);
                n
            })
            .collect()
    }

    #[test]
    fn fires_at_exact_deadline_never_before() {
        let mut wheel = Wheel::new();
        let (flag, w) = waker();
        let key = wheel.insert(5 * MS + 300_000, w.clone());
        assert_eq!(run(&mut wheel, &[MS, 5 * MS, 5 * MS + 299_999]), [0, 0, 0]);
        assert_eq!(wheel.next_deadline(), Some(5 * MS + 300_000));
        assert_eq!(run(&mut wheel, &[5 * MS + 300_000]), [1]);
        assert_eq!(flag.0.load(Ordering::SeqCst), 1);
        assert_eq!(wheel.poll(key, &w), Polled::Fired);
        // Removing a fired entry is a no-op, and its slot is reused safely.
        assert!(wheel.remove(key).is_none());
        let again = wheel.insert(9 * MS, w.clone());
        assert_eq!(
            wheel.poll(key, &w),
            Polled::Fired,
            "a stale key stays fired"
        );
        assert_eq!(wheel.poll(again, &w), Polled::Pending);
        drop(wheel.remove(again));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn cancelled_entries_never_fire() {
        let mut wheel = Wheel::new();
        let (flag, w) = waker();
        let a = wheel.insert(10 * MS, w.clone());
        let _b = wheel.insert(10 * MS, w.clone());
        drop(wheel.remove(a));
        assert_eq!(run(&mut wheel, &[20 * MS]), [1]);
        assert_eq!(flag.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn far_deadlines_cascade_down_and_fire_on_time() {
        let mut wheel = Wheel::new();
        let (_flag, w) = waker();
        let deadlines = [
            70 * MS,
            4_100 * MS + 7,
            262_150 * MS,
            17_000_000 * MS + 123,
            MAX_TICKS * MS + 5 * MS,
        ];
        for &d in &deadlines {
            wheel.insert(d, w.clone());
        }
        for &d in &deadlines {
            assert_eq!(wheel.next_deadline().map(|n| n <= d), Some(true));
            assert_eq!(run(&mut wheel, &[d - 1]), [0], "fired before {d}");
            assert_eq!(run(&mut wheel, &[d]), [1], "did not fire at {d}");
        }
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn many_random_deadlines_fire_once_each_and_never_early() {
        let mut wheel = Wheel::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut deadlines = Vec::new();
        let flags: Vec<_> = (0..2_000)
            .map(|_| {
                let d = next() % (5_000 * MS);
                let (flag, w) = waker();
                wheel.insert(d, w);
                deadlines.push(d);
                flag
            })
            .collect();
        let mut now = 0;
        while now < 5_100 * MS {
            now += next() % (3 * MS);
            let mut out = Vec::new();
            wheel.advance(now, &mut out);
            out.into_iter().for_each(Waker::wake);
            for (flag, &d) in flags.iter().zip(&deadlines) {
                let fired = flag.0.load(Ordering::SeqCst);
                assert!(fired <= 1);
                assert_eq!(fired == 1, d <= now, "deadline {d} at {now}");
            }
        }
    }

    /// Regression (the far-deadline hang): with the wheel advanced to `u` ms, a deadline that
    /// lands in the current top-level slot's next turn was linked into the current slot, and
    /// `advance` re-placed it there forever.
    #[test]
    fn a_deadline_a_full_top_level_turn_ahead_never_hangs_advance() {
        let top_slot = 1u64 << (SLOT_BITS * (LEVELS as u32 - 1));
        for uptime in [
            0,
            1,
            5 * top_slot + 12_345,
            37 * top_slot - 1,
            MAX_TICKS - 1,
        ] {
            for ahead in [
                MAX_TICKS - (uptime % top_slot),
                MAX_TICKS - (uptime % top_slot) + 1,
                MAX_TICKS - 1,
                MAX_TICKS,
                MAX_TICKS + top_slot / 2,
                // About 30 years: `sleep(Duration::MAX)`'s clamp.
                946_080_000_000,
            ] {
                let mut wheel = Wheel::new();
                run(&mut wheel, &[uptime * MS]);
                let (flag, w) = waker();
                let deadline = (uptime + ahead) * MS;
                let _near = wheel.insert((uptime + 10) * MS, w.clone());
                let _far = wheel.insert(deadline, w);
                // The first and second advance past the near timer return (the hang was here).
                assert_eq!(run(&mut wheel, &[(uptime + 10) * MS]), [1]);
                assert_eq!(run(&mut wheel, &[(uptime + 20) * MS]), [0]);
                let next = wheel.next_deadline().expect("the far entry is pending");
                assert!(
                    next > (uptime + 20) * MS && next <= deadline,
                    "{uptime} {ahead}"
                );
                // Walking to the deadline in big steps fires it exactly once, not before.
                let mut now = (uptime + 20) * MS;
                while now < deadline - MS {
                    now = (now + 1_000_000_000 * MS).min(deadline - MS);
                    assert_eq!(run(&mut wheel, &[now]), [0], "early at {now}");
                }
                assert_eq!(run(&mut wheel, &[deadline]), [1]);
                assert_eq!(flag.0.load(Ordering::SeqCst), 2);
                assert_eq!(wheel.len(), 0);
            }
        }
    }

    /// `poll` and `remove` never drop a waker themselves: the caller does, outside the lock.
    #[test]
    fn poll_and_remove_hand_wakers_back_instead_of_dropping_them() {
        let mut wheel = Wheel::new();
        let (_a, wa) = waker();
        let (_b, wb) = waker();
        let key = wheel.insert(10 * MS, wa.clone());
        assert_eq!(wheel.poll(key, &wa), Polled::Pending);
        assert_eq!(wheel.poll(key, &wb), Polled::NewWaker);
        let old = wheel.set_waker(key, wb.clone()).unwrap().unwrap();
        assert!(old.will_wake(&wa));
        let removed = wheel.remove(key).unwrap();
        assert!(removed.will_wake(&wb));
        assert!(wheel.remove(key).is_none());
        assert_eq!(wheel.poll(key, &wb), Polled::Fired);
        assert!(wheel.set_waker(key, wb).is_err());
    }

    #[test]
    fn level_for_picks_the_highest_differing_digit() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(0, MAX_TICKS - 1), LEVELS - 1);
    }
}
