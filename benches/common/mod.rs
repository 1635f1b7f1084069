//! What every bench shares: a workload is a function that registers one runtime's
//! `bench_function` in a criterion group; [`run_pair`] puts filch's and tokio's side by side in one
//! group, `<workload>/filch` then `<workload>/tokio`, which `benches/ratios.py` reads back.

pub(crate) mod work;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

/// One runtime's side of a workload.
pub(crate) type Workload = fn(&mut BenchmarkGroup<'_, WallTime>);

/// Runs `filch` then `tokio` in the group `name`, after `configure` set its sampling.
pub(crate) fn run_pair(
    c: &mut Criterion,
    name: &str,
    configure: impl FnOnce(&mut BenchmarkGroup<'_, WallTime>),
    filch: Workload,
    tokio: Workload,
) {
    let mut group = c.benchmark_group(name);
    configure(&mut group);
    filch(&mut group);
    tokio(&mut group);
    group.finish();
}
