//! The owned-task list: every live task of a runtime, so that shutdown can reach the ones no queue
//! holds (idle tasks waiting on a waker somewhere), and the task dump can list them.
//!
//! Split into shards by task id so that workers spawning and completing tasks at once rarely
//! meet on a lock. Each shard is a slab: a vector of slots, each holding a task's pointer and its
//! [`SpawnMeta`] (spawn location, parent task), with a free list through the vacant slots; the
//! task's header records its slot index (`Header::owned`), so that `remove` finds it without a
//! search. The list holds one reference per task. A task leaves the list when it completes
//! (`remove`, called from the scheduler's `release`) or when shutdown pops it, whichever comes
//! first under the shard's lock; the other finds it gone (its slot index is `NOT_LISTED`).
//!
//! # Why a slab, and the metadata here
//!
//! The spawn metadata (16 bytes) cannot go in the cell: a common small task's cell fills a size
//! class of glibc's allocator (128 bytes), and 8 more bytes per cell once doubled the cost of a
//! spawn. It lives in the shard, inserted and removed under the shard lock that `bind` and
//! `remove` take anyway. The first version kept an intrusive doubly-linked list (two pointers in
//! the header) and a `HashMap` from id to metadata beside it: the map's insert and remove cost
//! about 100 instructions per task, 17% of `spawn_many_local` and 28% of `chained_spawn`
//! (callgrind). The slab replaces both: one slot index in the header instead of two links (the
//! cell shrinks by 8 bytes), and a slot write and a free-list push instead of hashing.
//!
//! What the slab costs in time (interleaved A/B runs of the study's workloads, 2 workers, against
//! the intrusive list without metadata): nothing measurable where one thread spawns and completes,
//! but 10-15% on the rows where one thread spawns and the workers complete
//! (`spawn_many_remote_*`, `group_10k`), likely because each spawn and each completion touches
//! one more cache line, a slot last written by the other thread. Tried instead: the intrusive list back with the
//! 16 bytes of metadata in the header. It won those rows back, and made `ping_pong` 1.5 times
//! slower: that workload's cells grew past 120 bytes, out of glibc's fast bins (chunks up to
//! 128 bytes), the size-class cliff above. Neither padding the slots to a cache line each nor a
//! free stack beside the slots (so that `insert` writes its slot without reading it) helped. The
//! way out left open: the intrusive list, with the metadata at the end of the cell where the cell
//! stays in its size class with it (a per-type constant in the vtable would say where), and in a
//! map beside the list for the others (which then pay the hashing).
//!
//! What walks cost: the dump walks every slot of a shard, vacant ones too (a shard keeps
//! the capacity of its busiest moment), and [`OwnedTasks::location_of`], which has an id and
//! no pointer, searches its shard's slots: linear in the tasks of one shard, for the watchdog's
//! rare reports only. [`OwnedTasks::for_each`] walks one shard at a time under its lock: a dump
//! never stops the runtime, and a spawn or completion waits at most for one shard's walk.

use super::raw::{Header, NOT_LISTED};
use super::state::Snapshot;
use super::{Id, JoinHandle, Notified, Schedule, Task};
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::Mutex;
use crossbeam_utils::CachePadded;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::ptr::NonNull;

/// Where and by whom a task was spawned: kept in the owned-task list, beside the cell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpawnMeta {
    /// The user's call to a spawn function (through `#[track_caller]`).
    pub(crate) location: &'static Location<'static>,
    /// The task polled on this worker thread when it was spawned, if any.
    pub(crate) parent: Option<Id>,
}

impl SpawnMeta {
    /// The caller's location (the `#[track_caller]` chain ends at the first function without the
    /// attribute, or at a closure) and the task running on this thread's worker, if any.
    #[track_caller]
    #[inline]
    pub(crate) fn here() -> SpawnMeta {
        SpawnMeta {
            location: Location::caller(),
            parent: crate::scheduler::current_task_id(),
        }
    }
}

/// A live task as [`OwnedTasks::for_each`] shows it: its id, its state word as read at that
/// moment, and its spawn metadata.
pub(crate) struct Listed {
    pub(crate) id: Id,
    pub(crate) state: Snapshot,
    pub(crate) meta: SpawnMeta,
}

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    closed: AtomicBool,
    _p: PhantomData<S>,
}

struct Shard {
    /// The tasks of this shard, each in the slot its header names.
    slots: Vec<Slot>,
    /// The most recently vacated slot, the head of the free list (`NOT_LISTED`: none).
    free: usize,
    /// Tasks in this shard now, and tasks ever bound to it (for the metrics; kept under the
    /// lock the list takes anyway).
    live: usize,
    spawned: u64,
}

// SAFETY: the shard only stores pointers to tasks that the list holds a reference to, and the
// tasks are `Send`; the pointers are followed only under the shard's lock.
unsafe impl Send for Shard {}

impl<S: Schedule> OwnedTasks<S> {
    /// A list with at least `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        slots: Vec::new(),
                        free: NOT_LISTED,
                        live: 0,
                        spawned: 0,
                    }))
                })
                .collect(),
            closed: AtomicBool::new(false),
            _p: PhantomData,
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Shard> {
        &self.shards[id.as_u64() as usize & (self.shards.len() - 1)]
    }

    /// Allocates a task and adds it to the list. Returns its join handle and, unless the list is
    /// closed (the runtime shut down), its first `Notified`; a task refused by a closed list is
    /// already complete as cancelled.
    pub(crate) fn bind<T>(
        &self,
        future: T,
        scheduler: S,
        id: Id,
        meta: SpawnMeta,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
    {
        // SAFETY: a `Send` future and output may go anywhere.
        unsafe { self.bind_local(future, scheduler, id, meta) }
    }

    /// [`bind`](Self::bind) for a future or output that may not be `Send` (`spawn_local`).
    ///
    /// # Safety
    /// As `raw::allocate_unchecked`: unless they are `Send`, the future and the output stay on
    /// the calling thread (the scheduler runs the task there only, and the list is closed and
    /// shut down there).
    pub(crate) unsafe fn bind_local<T>(
        &self,
        future: T,
        scheduler: S,
        id: Id,
        meta: SpawnMeta,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + 'static,
    {
        // The `tracing` feature: the future runs inside the task's span (`trace.rs`).
        #[cfg(feature = "tracing")]
        let future = crate::trace::Traced::new(
            future,
            id,
            super::name_of(id).as_deref(),
            Some(meta.location),
        );
        // SAFETY: the caller's contract.
        let (task, notified, join) = unsafe { super::owned(future, scheduler, id) };
        let mut shard = lock(self.shard(id));
        // Relaxed is enough under the lock: see `close_and_shutdown`.
        if self.closed.load(Ordering::Relaxed) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return (join, None);
        }
        shard.insert(task.into_raw(), meta);
        (join, Some(notified))
    }

    /// Takes `task` out of the list, returning the list's reference if it was still there.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let mut shard = lock(self.shard(task.id()));
        // SAFETY: the task was bound to this list (it has this scheduler) and we hold its shard's
        // lock; the list's reference returns to the caller.
        unsafe {
            shard
                .remove(task.header_ptr())
                .map(|ptr| Task::from_raw(ptr))
        }
    }

    /// The spawn location of task `id`, if it is in the list (for the slow-poll watchdog).
    pub(crate) fn location_of(&self, id: Id) -> Option<&'static Location<'static>> {
        let shard = lock(self.shard(id));
        let found = shard.occupied().find_map(|(ptr, meta)| {
            // SAFETY: the list holds a reference to each task in it, and we hold its shard's lock.
            (unsafe { ptr.as_ref() }.id == id).then_some(meta.location)
        });
        found
    }

    /// Calls `f` with every task in the list, one shard at a time under that shard's lock
    /// (`f` must not spawn, complete or look up tasks of this list). Each task's state is
    /// read as the walk reaches it: a dump is a set of such readings, not one instant.
    pub(crate) fn for_each(&self, mut f: impl FnMut(Listed)) {
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for (ptr, meta) in shard.occupied() {
                // SAFETY: the list holds a reference to each task in it, and we hold the shard's
                // lock, under which no task leaves the list.
                let header = unsafe { ptr.as_ref() };
                f(Listed {
                    id: header.id,
                    state: header.state.load(),
                    meta,
                });
            }
        }
    }

    /// Tasks in the list now, and tasks ever added to it (for the metrics: each shard is locked
    /// in turn, so the two may be a few tasks apart from any one moment).
    pub(crate) fn counts(&self) -> (usize, u64) {
        self.shards.iter().fold((0, 0), |(live, spawned), shard| {
            let shard = lock(shard);
            (live + shard.live, spawned + shard.spawned)
        })
    }

    /// Refuses every later `bind`, then cancels every task in the list.
    ///
    /// `closed` is written before any shard is locked and read by `bind` under its shard's lock, so
    /// a `bind` either sees the flag or pushes before this function locks that shard and pops it.
    pub(crate) fn close_and_shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for shard in self.shards.iter() {
            loop {
                let popped = lock(shard).pop_any();
                let Some(ptr) = popped else { break };
                // SAFETY: the list's reference, now ours. The task is cancelled outside the lock,
                // since dropping its future runs user code.
                unsafe { Task::<S>::from_raw(ptr) }.shutdown();
            }
        }
    }
}

/// One place in a shard's slab.
enum Slot {
    Occupied {
        task: NonNull<Header>,
        meta: SpawnMeta,
    },
    /// Free; `next` is the next free slot (`NOT_LISTED`: none).
    Vacant { next: usize },
}

impl Shard {
    /// The slot index in `ptr`'s header.
    fn slot_of(ptr: NonNull<Header>) -> *mut usize {
        // SAFETY: the caller holds the shard's lock and the task is live (the list or the caller
        // holds a reference).
        unsafe { ptr.as_ref() }.owned.with_mut(|slot| slot)
    }

    fn occupied(&self) -> impl Iterator<Item = (NonNull<Header>, SpawnMeta)> + '_ {
        self.slots.iter().filter_map(|slot| match *slot {
            Slot::Occupied { task, meta } => Some((task, meta)),
            Slot::Vacant { .. } => None,
        })
    }

    #[inline]
    fn insert(&mut self, ptr: NonNull<Header>, meta: SpawnMeta) {
        let occupied = Slot::Occupied { task: ptr, meta };
        let index = if self.free != NOT_LISTED {
            let index = self.free;
            let Slot::Vacant { next } = std::mem::replace(&mut self.slots[index], occupied) else {
                unreachable!("the free list holds vacant slots only")
            };
            self.free = next;
            index
        } else {
            self.slots.push(occupied);
            self.slots.len() - 1
        };
        // SAFETY: we hold the lock, and `ptr` is a live task in no list.
        unsafe { *Self::slot_of(ptr) = index };
        self.live += 1;
        self.spawned += 1;
    }

    /// Takes any task out (shutdown, after the list was closed: the slots it leaves are dropped,
    /// not reused).
    fn pop_any(&mut self) -> Option<NonNull<Header>> {
        // Nothing is inserted once the list is closed: the free list is no longer needed, and
        // a later `remove` finds the index out of range or the slot vacant.
        self.free = NOT_LISTED;
        while let Some(slot) = self.slots.pop() {
            if let Slot::Occupied { task, .. } = slot {
                // SAFETY: we hold the lock, and the task is live (the list's reference).
                unsafe { *Self::slot_of(task) = NOT_LISTED };
                self.live -= 1;
                return Some(task);
            }
        }
        None
    }

    /// # Safety
    /// The shard's lock is held and `ptr` is a live task that is in this shard or in no list.
    unsafe fn remove(&mut self, ptr: NonNull<Header>) -> Option<NonNull<Header>> {
        // SAFETY: forwarded to the caller.
        let index = unsafe { *Self::slot_of(ptr) };
        match self.slots.get(index) {
            Some(Slot::Occupied { task, .. }) if *task == ptr => {}
            // Not in the list: popped by shutdown, or refused by a closed list.
            _ => return None,
        }
        self.slots[index] = Slot::Vacant { next: self.free };
        self.free = index;
        // SAFETY: forwarded to the caller.
        unsafe { *Self::slot_of(ptr) = NOT_LISTED };
        self.live -= 1;
        Some(ptr)
    }
}
