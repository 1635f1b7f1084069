//! Task names, kept out of the task cell.
//!
//! A name is for error messages only, and few tasks have one, so it lives in a process-wide table
//! keyed by task id instead of in every cell: 16 more bytes per cell took a common small task
//! past a size class of glibc's allocator and doubled the cost of spawning it
//! (`spawn_many_local`). A named task's id carries [`Id::NAMED`]; only such tasks touch the
//! table: once at spawn, when their `JoinError` is made, and when their cell is freed.

use super::Id;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

fn table() -> MutexGuard<'static, HashMap<Id, Arc<str>>> {
    static NAMES: OnceLock<Mutex<HashMap<Id, Arc<str>>>> = OnceLock::new();
    NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// A fresh id for a task named `name` (or a plain one), with the name recorded.
pub(crate) fn id_for(name: Option<Arc<str>>) -> Id {
    let id = Id::next();
    match name {
        None => id,
        Some(name) => {
            let id = id.with_name();
            table().insert(id, name);
            id
        }
    }
}

/// The name of task `id`, if it has one.
pub(crate) fn get(id: Id) -> Option<Arc<str>> {
    if !id.is_named() {
        return None;
    }
    table().get(&id).cloned()
}

/// Forgets the name of task `id`: its cell is being freed.
pub(crate) fn remove(id: Id) {
    if id.is_named() {
        table().remove(&id);
    }
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    use super::*;
    use crate::TaskGroup;

    fn named_in_table() -> usize {
        table().len()
    }

    #[test]
    fn names_are_forgotten_when_their_tasks_are_freed() {
        // One test only touches the process-wide table, so counting its entries is exact.
        let rt = crate::Builder::new().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let done = crate::task::Builder::new().name("done").spawn(async {});
            let id = done.id();
            assert!(id.is_named());
            assert_eq!(get(id).as_deref(), Some("done"));
            done.await.unwrap();
            // The worker drops its own reference just after the output is handed over: the cell
            // (and with it the name) goes soon after, not necessarily before this line.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while get(id).is_some() && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
            assert_eq!(get(id), None, "freed with its cell");

            let aborted = crate::task::Builder::new()
                .name("aborted")
                .spawn(std::future::pending::<()>());
            aborted.abort();
            assert_eq!(aborted.await.unwrap_err().name(), Some("aborted"));

            // Children queued under a limit and dropped unstarted forget their names too.
            let group = TaskGroup::<(), ()>::new().with_limit(1);
            group.spawn_named("runs", async { Err(()) });
            for _ in 0..5 {
                group.spawn_named("never starts", async { Ok(()) });
            }
            assert!(group.join().await.is_err());

            // Named spawns refused by a cancelled group record nothing.
            let cancelled = TaskGroup::<(), ()>::new();
            cancelled.cancel();
            for _ in 0..5 {
                cancelled.spawn_named("refused", async { Ok(()) });
            }
            assert!(cancelled.join().await.is_err());
        });
        // Outside a runtime, a named spawn panics without recording its name.
        let outside = std::panic::catch_unwind(|| {
            drop(crate::task::Builder::new().name("outside").spawn(async {}));
        });
        assert!(outside.is_err());
        drop(rt);
        assert_eq!(named_in_table(), 0);
    }
}
