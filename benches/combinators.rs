//! The concurrency API's costs, filch and tokio side by side: `join_all` of 10,000 futures
//! (against futures-util's `join_all`, which tokio users reach for), a task group of 10,000 tasks
//! (filch's `TaskGroup` against tokio's `JoinSet`), and `select!` in a loop (against
//! `tokio::select!`).
//!
//! Each runtime's side is its own tool, behind the comparative study's `Rt` trait
//! (`study/rt/`: `join_all`, `group`, `select_loop`), so the criterion bench and the study run
//! the very same code. Both sides run the same futures — `YieldOnce`, runtime-neutral, in
//! `common/work.rs` — with the same number of workers ([`WORKERS`]) and the system allocator,
//! driven from `block_on`.
//!
//! `cargo bench --bench combinators`, then `python3 benches/ratios.py`.

use common::work::yield_once;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use rt::{Filch, Rt, Tokio};

mod common;
// Only the combinator methods of the study's runtimes are used here (and not every re-export).
#[allow(dead_code, unused_imports)]
#[path = "study/rt/mod.rs"]
mod rt;

/// Worker threads for both runtimes.
const WORKERS: usize = 2;
/// Futures or tasks per iteration (and `select!` rounds per iteration).
const N: usize = 10_000;

/// `N` futures in one `join_all`, each woken once.
fn join_all<R: Rt>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::new(WORKERS);
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let out = rt.block_on(R::join_all((0..N).map(yield_once).collect()));
            assert_eq!(out.len(), N);
        })
    });
}

/// `N` tasks spawned into the runtime's task group, then joined.
fn task_group<R: Rt>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::new(WORKERS);
    g.bench_function(R::NAME, |b| {
        b.iter(|| assert_eq!(rt.block_on(rt.group(N, yield_once)), N))
    });
}

/// `N` rounds of a two-branch select: one branch wakes once then wins, one never finishes.
fn select_loop<R: Rt>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = R::new(WORKERS);
    g.bench_function(R::NAME, |b| {
        b.iter(|| {
            let sum = rt.block_on(R::select_loop(N, yield_once));
            assert_eq!(sum, N * (N - 1) / 2);
        })
    });
}

fn combinators(c: &mut Criterion) {
    let defaults = |_: &mut BenchmarkGroup<'_, WallTime>| {};
    common::run_pair(
        c,
        "join_all_10k",
        defaults,
        join_all::<Filch>,
        join_all::<Tokio>,
    );
    common::run_pair(
        c,
        "task_group_10k",
        defaults,
        task_group::<Filch>,
        task_group::<Tokio>,
    );
    common::run_pair(
        c,
        "select_loop",
        defaults,
        select_loop::<Filch>,
        select_loop::<Tokio>,
    );
}

criterion_group!(benches, combinators);
criterion_main!(benches);
