//! filch-runtime: the task cell, the work-stealing scheduler and the blocking pool of
//! [filch](https://docs.rs/filch). Use it through the `filch` crate, which re-exports this API.
//!
//! # Architecture
//!
//! ```text
//!  spawn / wake ──► task cell ──► Notified ──► LIFO slot / local queue ──► worker polls it
//!  (any thread)     (1 alloc)        │         (crossbeam Worker)               │
//!                                    │  from outside a worker                   ▼
//!                                    └──► Injector ◄── steal ──  idle worker   Pending: a waker
//!                                                                              makes a new Notified
//! ```
//!
//! - [`task`]: one allocation per task holding an atomic state word (flags and
//!   reference count), the future and then its output, and the join waker; `JoinHandle`, wakers
//!   and queue entries are counted pointers to it. The state machine is documented in
//!   `task/mod.rs`.
//! - `scheduler`: `N` workers, each with a LIFO slot and a bounded FIFO local queue, plus one
//!   injector for remote tasks; idle workers steal half of a victim's queue; at most half the
//!   workers search at once; sleeping workers park on a `Parker` and are woken only when no one is
//!   searching. The find-work order and the park protocol are documented in `scheduler/mod.rs` and
//!   `scheduler/idle.rs`.
//! - `blocking`: a separate, growable thread pool for `spawn_blocking`.
//! - `coop` (from filch-reactor): a budget of 128 leaf polls per task poll, so a task that never
//!   sees `Pending` cannot hog its worker.
//! - `hyper` (the `hyper` feature): `FilchExecutor`, hyper's executor on filch's tasks.
//! - The reactor (filch-reactor's `Driver`): no thread of its own; an idle worker blocks in the
//!   driver's `turn` instead of on its parker, and busy workers turn it without blocking every
//!   maintenance tick (see `scheduler/mod.rs`).

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

/// The cooperative budget lives with the leaf resources, in the reactor.
pub(crate) use filch_reactor::coop;

mod block_in_place;
mod blocking;
mod budget;
mod builder;
mod combinators;
mod context;
mod dump;
pub mod fs;
mod group;
mod handle;
#[cfg(feature = "hyper")]
pub mod hyper;
mod local;
mod loom;
mod metrics;
mod park_thread;
mod runtime;
mod scheduler;
pub mod sync;
pub mod task;
mod test_thread;
mod timeline;
#[cfg(feature = "tracing")]
mod trace;
mod watchdog;
mod yield_now;

pub use block_in_place::block_in_place;
pub use budget::{consume_budget, unconstrained, Unconstrained};
pub use builder::Builder;
pub use combinators::{
    as_completed, join_all, race, select, try_join_all, wait, AsCompleted, Either, JoinAll, Race,
    ReturnWhen, Select, TaskResult, TryJoinAll, Wait, Waited,
};
pub use dump::{TaskDump, TaskInfo, TaskState};
pub use group::{Failure, GroupError, Scope, TaskGroup};
pub use handle::{spawn, spawn_blocking, EnterGuard, Handle, TryCurrentError};
pub use local::spawn_local;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use runtime::Runtime;
pub use task::{Id, JoinError, JoinHandle};
pub use timeline::{Timeline, TimelineEvent};
pub use watchdog::SlowPoll;
pub use yield_now::{yield_now, YieldNow};

/// What the `join!`, `try_join!` and `select!` macros and `#[filch::test]` expand to; not part
/// of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::combinators::maybe_done::*;
    pub use crate::test_thread::run_test;
}

/// Runs `future` to completion on a new runtime with the default settings, then shuts the
/// runtime down — the `asyncio.run` of filch. Tasks still running when `future` completes are
/// cancelled.
///
/// ```
/// async fn main_task() -> u32 {
///     let a = filch::spawn(async { 20 });
///     let b = filch::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// }
///
/// assert_eq!(filch::run(main_task()), 42);
/// ```
///
/// # Panics
/// If the runtime cannot start (the OS refuses a thread), if called inside a runtime, or if
/// `future` panics.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    let rt = Runtime::new()
        .unwrap_or_else(|err| panic!("filch::run: cannot start the runtime's threads: {err}"));
    rt.block_on(future)
}
