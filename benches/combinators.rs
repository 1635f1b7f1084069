//! The concurrency API's costs, filch and tokio side by side: `join_all` of 10,000 futures
//! (against futures-util's `join_all`, which tokio users reach for), a `TaskGroup` of 10,000 tasks
//! (against tokio's `JoinSet`), and `select!` in a loop (against `tokio::select!`).
//!
//! Both sides run the very same futures — `YieldOnce`, runtime-neutral, in `common/work.rs` — with the
//! same number of workers ([`WORKERS`]) and the system allocator, driven from `block_on`.
//!
//! `cargo bench --bench combinators`, then `python3 benches/ratios.py`.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

mod common;

/// Worker threads for both runtimes.
const WORKERS: usize = 2;
/// Futures or tasks per iteration (and `select!` rounds per iteration).
const N: usize = 10_000;

mod filch_side {
    use super::common::work::yield_once;
    use super::{N, WORKERS};
    use criterion::measurement::WallTime;
    use criterion::BenchmarkGroup;

    fn rt() -> filch::Runtime {
        filch::Builder::new()
            .worker_threads(WORKERS)
            .build()
            .unwrap()
    }

    /// `N` futures in one `join_all`, each woken once.
    pub(crate) fn join_all(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("filch", |b| {
            b.iter(|| {
                let out = rt.block_on(filch::join_all((0..N).map(yield_once)));
                assert_eq!(out.len(), N);
            })
        });
    }

    /// `N` tasks spawned into a `TaskGroup`, then joined.
    pub(crate) fn task_group(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("filch", |b| {
            b.iter(|| {
                let out = rt.block_on(async {
                    let group = filch::TaskGroup::new();
                    for i in 0..N {
                        group.spawn(async move { Ok::<_, ()>(yield_once(i).await) });
                    }
                    group.join().await.unwrap()
                });
                assert_eq!(out.len(), N);
            })
        });
    }

    /// `N` rounds of a two-branch `select!`: one branch wakes once then wins, one never finishes.
    pub(crate) fn select_loop(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("filch", |b| {
            b.iter(|| {
                let sum = rt.block_on(async {
                    let mut sum = 0;
                    for i in 0..N {
                        filch::select! {
                            v = yield_once(i) => sum += v,
                            _ = std::future::pending::<()>() => unreachable!(),
                        }
                    }
                    sum
                });
                assert_eq!(sum, N * (N - 1) / 2);
            })
        });
    }
}

mod tokio_side {
    use super::common::work::yield_once;
    use super::{N, WORKERS};
    use criterion::measurement::WallTime;
    use criterion::BenchmarkGroup;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap()
    }

    pub(crate) fn join_all(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                let out = rt.block_on(futures_util::future::join_all((0..N).map(yield_once)));
                assert_eq!(out.len(), N);
            })
        });
    }

    pub(crate) fn task_group(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                let out = rt.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..N {
                        set.spawn(async move { Ok::<_, ()>(yield_once(i).await) });
                    }
                    let mut out = Vec::with_capacity(N);
                    while let Some(r) = set.join_next().await {
                        out.push(r.unwrap().unwrap());
                    }
                    out
                });
                assert_eq!(out.len(), N);
            })
        });
    }

    pub(crate) fn select_loop(g: &mut BenchmarkGroup<'_, WallTime>) {
        let rt = rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                let sum = rt.block_on(async {
                    let mut sum = 0;
                    for i in 0..N {
                        tokio::select! {
                            v = yield_once(i) => sum += v,
                            _ = std::future::pending::<()>() => unreachable!(),
                        }
                    }
                    sum
                });
                assert_eq!(sum, N * (N - 1) / 2);
            })
        });
    }
}

fn combinators(c: &mut Criterion) {
    let defaults = |_: &mut BenchmarkGroup<'_, WallTime>| {};
    common::run_pair(
        c,
        "join_all_10k",
        defaults,
        filch_side::join_all,
        tokio_side::join_all,
    );
    common::run_pair(
        c,
        "task_group_10k",
        defaults,
        filch_side::task_group,
        tokio_side::task_group,
    );
    common::run_pair(
        c,
        "select_loop",
        defaults,
        filch_side::select_loop,
        tokio_side::select_loop,
    );
}

criterion_group!(benches, combinators);
criterion_main!(benches);
