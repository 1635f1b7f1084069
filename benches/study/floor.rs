//! The floor: what the primitives a task cannot avoid cost on this machine, and, for spawn,
//! yield and ping-pong, the sum of the primitives each needs next to what each runtime takes.
//! The gap between the two is how far a runtime is from the limit this machine sets.
//!
//! Each primitive is timed alone, on one thread (the waking one on two), uncontended: a best
//! case. What a unit of work needs is a model, written down in [`NEEDS`]: the least any
//! work-stealing runtime of this design does (one allocation per task; a queue push and pop per
//! run; the state transitions of a poll). Runtimes do more (an owned-task list for shutdown, a
//! join waker, budget checks), so no runtime reaches the floor; the ratio says by how much each
//! misses it. The workloads' per-unit costs come from their 1-worker rows (a unit's cost is its
//! latency on one thread; with more workers the units overlap).

use crossbeam_deque::{Injector, Steal, Worker};
use std::alloc::Layout;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// One primitive and its cost in nanoseconds (median of several timed loops).
pub(crate) struct Primitive {
    pub(crate) name: &'static str,
    pub(crate) about: &'static str,
    pub(crate) ns: f64,
}

/// How many of each primitive (by name) a unit of a workload needs at least: the workload, the
/// unit, its divisor (units in one run of the workload), and the counts.
pub(crate) struct Need {
    pub(crate) workload: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) units_per_run: f64,
    pub(crate) counts: &'static [(&'static str, f64)],
    pub(crate) why: &'static str,
}

const ALLOC: &str = "allocate + free a task cell (144 B)";
const RMW: &str = "atomic read-modify-write";
const LOCAL: &str = "local queue push + pop";
const INJECT: &str = "injector push + steal";
const NOW: &str = "Instant::now";
const WAKE: &str = "wake a parked thread";

pub(crate) const NEEDS: &[Need] = &[
    Need {
        workload: "spawn_many_local",
        unit: "task spawned from outside, run and freed",
        units_per_run: 10_000.0,
        counts: &[(ALLOC, 1.0), (INJECT, 1.0), (RMW, 3.0)],
        why: "a cell; the injector (the spawner is not a worker); the poll's transition to \
              running, the completion, the last reference dropped",
    },
    Need {
        workload: "yield_many",
        unit: "yield",
        units_per_run: 200_000.0,
        counts: &[(LOCAL, 1.0), (RMW, 2.0)],
        why: "back onto the local queue; the wake's transition to notified, the poll's to \
              running",
    },
    Need {
        workload: "ping_pong",
        unit: "pair (two tasks, a message each way)",
        units_per_run: 1_000.0,
        counts: &[(ALLOC, 4.0), (LOCAL, 3.0), (RMW, 8.0)],
        why: "two task cells and two channels; two spawns and one wake through the local \
              queue (the first message is sent before its receiver waits; the reply wakes the \
              sender); three transitions per task (run, complete, last reference) and two for \
              the wake",
    },
];

/// Median of 7 timings of `iters` calls of `f`, per call, in ns.
fn per_op(iters: u64, mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// Times every primitive.
pub(crate) fn measure() -> Vec<Primitive> {
    const N: u64 = 1_000_000;
    let layout = Layout::from_size_align(136, 8).expect("layout");
    let alloc = per_op(N, || {
        // SAFETY: `layout` has a non-zero size; the block is freed with the same layout.
        unsafe {
            let p = std::alloc::alloc(layout);
            assert!(!p.is_null(), "out of memory");
            std::alloc::dealloc(black_box(p), layout);
        }
    });
    let counter = AtomicUsize::new(0);
    let rmw = per_op(N, || {
        black_box(counter.fetch_add(1, Ordering::AcqRel));
    });
    let local = Worker::new_fifo();
    let push_pop = per_op(N, || {
        local.push(black_box(1usize));
        black_box(local.pop());
    });
    let injector = Injector::new();
    let inject = per_op(N, || {
        injector.push(black_box(1usize));
        loop {
            match injector.steal() {
                Steal::Success(v) => {
                    black_box(v);
                    break;
                }
                Steal::Retry => continue,
                Steal::Empty => unreachable!("just pushed"),
            }
        }
    });
    let now = per_op(N, || {
        black_box(Instant::now());
    });
    vec![
        Primitive {
            name: ALLOC,
            about: "glibc malloc + free of a 136-byte block, one thread",
            ns: alloc,
        },
        Primitive {
            name: RMW,
            about: "`fetch_add`, AcqRel, uncontended",
            ns: rmw,
        },
        Primitive {
            name: LOCAL,
            about: "crossbeam-deque `Worker` (FIFO), one thread",
            ns: push_pop,
        },
        Primitive {
            name: INJECT,
            about: "crossbeam-deque `Injector`, one thread",
            ns: inject,
        },
        Primitive {
            name: NOW,
            about: "`std::time::Instant::now()` (vDSO `clock_gettime`)",
            ns: now,
        },
        Primitive {
            name: WAKE,
            about: "`Thread::unpark` to a thread blocked in `thread::park`, half a round trip \
                    between two threads",
            ns: wake_parked(20_000),
        },
    ]
}

/// Half the time of a park/unpark round trip between two threads, in ns.
fn wake_parked(rounds: usize) -> f64 {
    let main = std::thread::current();
    let turn = std::sync::Arc::new(AtomicUsize::new(0));
    let peer = {
        let turn = turn.clone();
        std::thread::spawn(move || {
            for i in 0..rounds {
                while turn.load(Ordering::Acquire) != 2 * i + 1 {
                    std::thread::park();
                }
                turn.store(2 * i + 2, Ordering::Release);
                main.unpark();
            }
        })
    };
    let peer_thread = peer.thread().clone();
    let start = Instant::now();
    for i in 0..rounds {
        turn.store(2 * i + 1, Ordering::Release);
        peer_thread.unpark();
        while turn.load(Ordering::Acquire) != 2 * i + 2 {
            std::thread::park();
        }
    }
    let elapsed = start.elapsed();
    peer.join().expect("the peer thread");
    elapsed.as_nanos() as f64 / (2 * rounds) as f64
}

/// The floor of `need` from the measured primitives, in ns per unit.
pub(crate) fn floor_of(need: &Need, primitives: &[Primitive]) -> f64 {
    need.counts
        .iter()
        .map(|(name, count)| {
            let p = primitives
                .iter()
                .find(|p| p.name == *name)
                .expect("every needed primitive is measured");
            p.ns * count
        })
        .sum()
}
