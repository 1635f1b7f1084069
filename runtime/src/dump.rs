//! The task dump: what [`Handle::dump`](crate::Handle::dump) returns.
//!
//! # Design
//!
//! A dump lists the runtime's live tasks (spawned, not yet completed) with what the runtime
//! knows of each anyway, at no cost per poll beyond what it already pays:
//!
//! - **id and name**: the cell's id; the name from the process-wide name table (`task/name.rs`),
//!   looked up after the walk, outside the shard locks.
//! - **spawn location and parent**: taken at spawn (`#[track_caller]` on every public spawn
//!   function, and the task being polled on the spawning worker thread, read from the id the
//!   worker publishes for the watchdog), and kept in the owned-task list's side map under the
//!   shard lock the spawn takes anyway (`task/list.rs`): not in the cell, whose size class the
//!   allocator's speed depends on.
//! - **state and polls**: one load of the task's state word. The poll count sits in the word's
//!   top bits and is bumped by the compare-exchange that starts each poll anyway
//!   (`task/state.rs`). A running task's worker is found by matching its id against the id each
//!   worker publishes while it polls.
//!
//! The walk locks one shard of the owned-task list at a time: no stop-the-world; spawns and
//! completions in that shard wait for its walk. The readings are taken one after the other, so a
//! dump is a set of recent readings, not one instant: a task spawned or completed meanwhile may
//! or may not be in it, and a task shown running may have returned already.
//!
//! Left out on purpose: **busy time** and **time since the last poll**. Both need a clock read at
//! every poll (two, for busy time), which the runtime's metrics take only per park; the dump must
//! cost nothing per poll beyond them. The slow-poll watchdog reports long polls instead.
//!
//! Not listed: `spawn_blocking` jobs (the blocking pool's, not the owned-task list's) and
//! `spawn_local` tasks (their `block_on`'s own list).

use crate::scheduler::Shared;
use crate::task::{self, Id, Listed};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The live tasks of a runtime, from [`Handle::dump`](crate::Handle::dump), sorted by id.
///
/// `Display` prints them as a tree: each task under the task that spawned it (a
/// [`TaskGroup`](crate::TaskGroup)'s children under the task that spawned them into the group,
/// usually its owner). Tasks spawned from outside the runtime's workers (the `block_on` future,
/// another thread) are roots, and so are tasks whose parent has completed (marked
/// `(parent #N gone)`).
///
/// ```
/// use std::time::Duration;
///
/// let rt = filch::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = filch::sync::oneshot::channel::<()>();
///     let waiter = filch::task::Builder::new().name("waiter").spawn(async move {
///         let _ = rx.await;
///     });
///     filch::yield_now().await; // let it run once and wait
///
///     let dump = filch::Handle::current().dump();
///     let task = dump.get(waiter.id()).unwrap();
///     assert_eq!(task.name.as_deref(), Some("waiter"));
///     assert_eq!(task.state, filch::TaskState::Idle);
///     assert_eq!(task.polls, 1);
///     println!("{dump}");
///
///     tx.send(()).unwrap();
///     waiter.await.unwrap();
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskDump {
    /// The live tasks, by id.
    pub tasks: Vec<TaskInfo>,
    /// The runtime's worker count (1 for a current-thread runtime).
    pub workers: usize,
}

/// One task of a [`TaskDump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its id, as [`JoinHandle::id`](crate::JoinHandle::id) gives it.
    pub id: Id,
    /// Its name, if it was spawned with one ([`task::Builder`](crate::task::Builder),
    /// [`TaskGroup::spawn_named`](crate::TaskGroup::spawn_named)).
    pub name: Option<Arc<str>>,
    /// Where it was spawned: the call to `filch::spawn`, `Handle::spawn`, `Runtime::spawn`,
    /// `task::Builder::spawn` or `TaskGroup::spawn` in the program.
    pub location: &'static Location<'static>,
    /// The task that spawned it (the one being polled on the spawning worker thread), or `None`
    /// if it was spawned from outside the runtime's tasks. It may have completed since.
    pub parent: Option<Id>,
    /// What it is doing.
    pub state: TaskState,
    /// Polls so far, saturating at [`TaskInfo::POLLS_MAX`].
    pub polls: u64,
    /// It was aborted (or its runtime is shutting down) and will be dropped at its next turn.
    pub cancelled: bool,
}

impl TaskInfo {
    /// The largest poll count a dump shows: a task polled more often shows this (`Display`
    /// adds a `+`). 2^20 - 1 on 64-bit targets; on 32-bit ones polls are not counted (0).
    pub const POLLS_MAX: u64 = task::POLLS_MAX as u64;
}

/// What a task of a [`TaskDump`] is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken (a timer, a socket, a channel, a join handle...).
    Idle,
    /// Woken, waiting in a queue for a worker.
    Scheduled,
    /// Being polled; on which worker, if the dump saw that worker publish it (`None` for a
    /// moment at the start or end of a poll, or when the runtime's shutdown is cancelling it).
    Running {
        /// The worker's index (as in [`RuntimeMetrics::workers`](crate::RuntimeMetrics)).
        worker: Option<usize>,
    },
    /// Its future is done; it leaves the runtime's list in a moment.
    Completing,
}

impl TaskDump {
    /// The task with id `id`, if it is in the dump.
    pub fn get(&self, id: Id) -> Option<&TaskInfo> {
        self.tasks
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tasks[i])
    }

    /// The tasks in the dump that `id` spawned, by id.
    pub fn children(&self, id: Id) -> impl Iterator<Item = &TaskInfo> + '_ {
        self.tasks.iter().filter(move |t| t.parent == Some(id))
    }

    /// The tasks `Display` prints at the top level: those without a parent, and those whose
    /// parent is not in the dump (completed, or of another runtime), by id.
    pub fn roots(&self) -> impl Iterator<Item = &TaskInfo> + '_ {
        self.tasks
            .iter()
            .filter(move |t| t.parent.is_none_or(|p| self.get(p).is_none()))
    }
}

/// Reads the dump of `shared`'s runtime (see the module doc).
pub(crate) fn dump(shared: &Shared) -> TaskDump {
    let mut listed = Vec::new();
    shared.owned.for_each(|task| listed.push(task));
    // Names outside the shard locks: the name table has a lock of its own.
    let mut tasks: Vec<TaskInfo> = listed
        .into_iter()
        .map(|Listed { id, state, meta }| {
            let task_state = if state.is_complete() {
                TaskState::Completing
            } else if state.is_running() {
                // Relaxed: a reading of what each worker polls now, as the watchdog's.
                let worker = shared.counters.iter().position(|c| {
                    // A task inside `block_in_place` is still running.
                    c.current_task.load(Ordering::Relaxed) & !crate::watchdog::IN_PLACE
                        == id.to_raw()
                });
                TaskState::Running { worker }
            } else if state.is_notified() {
                TaskState::Scheduled
            } else {
                TaskState::Idle
            };
            TaskInfo {
                id,
                name: task::name_of(id),
                location: meta.location,
                parent: meta.parent,
                state: task_state,
                polls: state.polls() as u64,
                cancelled: state.is_cancelled(),
            }
        })
        .collect();
    tasks.sort_unstable_by_key(|t| t.id);
    TaskDump {
        tasks,
        workers: shared.num_workers(),
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that width and alignment apply.
        match self {
            TaskState::Idle => f.pad("idle"),
            TaskState::Scheduled => f.pad("scheduled"),
            TaskState::Running { worker: Some(w) } => f.pad(&format!("running on worker {w}")),
            TaskState::Running { worker: None } => f.pad("running"),
            TaskState::Completing => f.pad("completing"),
        }
    }
}

/// One printed line of the tree, before the columns are aligned.
struct Line {
    head: String,
    state: String,
    polls: String,
    tail: String,
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tasks.len();
        writeln!(
            f,
            "runtime dump: {n} live task{} ({} worker{})",
            if n == 1 { "" } else { "s" },
            self.workers,
            if self.workers == 1 { "" } else { "s" }
        )?;
        let index: HashMap<Id, usize> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        // Children in id order, as the tasks are.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            match t.parent.and_then(|p| index.get(&p)) {
                Some(&p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        // Depth first, with an explicit stack (a chain of spawns may be deep): (task, the
        // prefix of its children's lines, its own branch).
        let mut lines = Vec::with_capacity(n);
        let mut stack: Vec<(usize, String, &str)> = roots
            .iter()
            .rev()
            .map(|&i| (i, String::new(), ""))
            .collect();
        while let Some((i, prefix, branch)) = stack.pop() {
            let t = &self.tasks[i];
            let mut head = format!("{prefix}{branch}#{}", t.id);
            if let Some(name) = &t.name {
                head.push_str(&format!(" {name:?}"));
            }
            let mut tail = t.location.to_string();
            if t.cancelled {
                tail.push_str("  (cancelled)");
            }
            if let Some(parent) = t.parent.filter(|p| !index.contains_key(p)) {
                tail.push_str(&format!("  (parent #{parent} gone)"));
            }
            let saturated = if t.polls >= TaskInfo::POLLS_MAX && TaskInfo::POLLS_MAX > 0 {
                "+"
            } else {
                ""
            };
            lines.push(Line {
                head,
                state: t.state.to_string(),
                polls: format!("polls {}{saturated}", t.polls),
                tail,
            });
            let below = match branch {
                "" => prefix,
                "└─ " => format!("{prefix}   "),
                _ => format!("{prefix}│  "),
            };
            let kids = &children[i];
            for (k, &child) in kids.iter().enumerate().rev() {
                let branch = if k + 1 == kids.len() {
                    "└─ "
                } else {
                    "├─ "
                };
                stack.push((child, below.clone(), branch));
            }
        }
        let width = |col: fn(&Line) -> &str| {
            lines
                .iter()
                .map(|l| col(l).chars().count())
                .max()
                .unwrap_or(0)
        };
        let (head_w, state_w, polls_w) =
            (width(|l| &l.head), width(|l| &l.state), width(|l| &l.polls));
        for l in &lines {
            writeln!(
                f,
                "{:<head_w$}  {:<state_w$}  {:<polls_w$}  {}",
                l.head, l.state, l.polls, l.tail
            )?;
        }
        Ok(())
    }
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    #[test]
    fn location_of_answers_for_live_tasks_only() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        let handle = rt.handle();
        let task = handle.spawn(std::future::pending::<()>());
        let line = line!() - 1;
        let owned = &handle.inner.shared.owned;
        let location = owned.location_of(task.id()).expect("live");
        assert_eq!((location.file(), location.line()), (file!(), line));
        let id = task.id();
        task.abort();
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
        assert_eq!(owned.location_of(id), None);
    }
}
