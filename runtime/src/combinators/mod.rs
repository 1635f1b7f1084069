//! Combinators: run several futures concurrently inside one task — asyncio's `gather` and friends.
//!
//! Nothing here knows the scheduler: these are plain futures that work on any executor. They poll
//! only the children that were woken (each child gets a waker of its own that queues its index),
//! so `n` children woken once each cost `O(n)` polls in total, not the `O(n²)` of polling every
//! child whenever any of them wakes.

mod as_completed;
mod join_all;
mod macros;
pub(crate) mod maybe_done;
mod select;
mod wait;

#[cfg(all(test, filch_loom))]
mod loom_tests;

pub use as_completed::{as_completed, AsCompleted};
pub use join_all::{join_all, try_join_all, JoinAll, TryJoinAll};
pub use select::{race, select, Either, Race, Select};
pub use wait::{wait, ReturnWhen, TaskResult, Wait, Waited};
