//! The owned-task list: every live task of a runtime, so that shutdown can reach the ones no queue
//! holds (idle tasks waiting on a waker somewhere).
//!
//! An intrusive doubly-linked list through `Header::owned`, split into shards by task id so that
//! workers spawning and completing tasks at once rarely meet on a lock. The list holds one reference
//! per task. A task leaves the list when it completes (`remove`, called from the scheduler's
//! `release`) or when shutdown pops it, whichever comes first under the shard's lock; the other
//! finds it gone.
//!
//! # Spawn metadata
//!
//! Each shard also maps the id of every task it holds to its [`SpawnMeta`] (spawn location and
//! parent task), for the task dump and the slow-poll watchdog. It lives here, not in the cell:
//! the cell of a common small task fills a size class of glibc's allocator (120 of 128 bytes),
//! and 8 more bytes per cell once doubled the cost of a spawn. The shard's lock is already taken
//! at `bind` and at `remove`, so the entry is inserted and removed under it for no extra lock;
//! the map's hasher is one folded multiply (`IdHasher`). [`OwnedTasks::for_each`] walks one
//! shard at a time under its lock: a dump never stops the runtime, and a spawn or completion
//! waits at most for one shard's walk.

use super::raw::{Header, Links};
use super::state::Snapshot;
use super::{Id, JoinHandle, Notified, Schedule, Task};
use crate::loom::lock;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::Mutex;
use crossbeam_utils::CachePadded;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
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
    pub(crate) meta: Option<SpawnMeta>,
}

/// Hashes a task id (the only key of the metadata maps) with one folded multiply: the id's
/// low bits are the same for every task of a shard, so an identity hash would pile them into a
/// few buckets; the high half of the 128-bit product mixes every input bit into the low bits
/// (the bucket) and the top bits (hashbrown's tag byte).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not reached: `Id` hashes as one `u64`. Correct anyway, for any key.
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let product = u128::from(n ^ self.0).wrapping_mul(u128::from(K));
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type MetaMap = HashMap<Id, SpawnMeta, BuildHasherDefault<IdHasher>>;

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    closed: AtomicBool,
    _p: PhantomData<S>,
}

struct Shard {
    head: Option<NonNull<Header>>,
    /// The spawn metadata of every task in this shard.
    meta: MetaMap,
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
                        head: None,
                        meta: MetaMap::default(),
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
        shard.meta.insert(id, meta);
        shard.push_front(task.into_raw());
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
    #[allow(
        dead_code,
        reason = "for the slow-poll watchdog's reports, wired in separately"
    )]
    pub(crate) fn location_of(&self, id: Id) -> Option<&'static Location<'static>> {
        lock(self.shard(id)).meta.get(&id).map(|meta| meta.location)
    }

    /// Calls `f` with every task in the list, one shard at a time under that shard's lock
    /// (`f` must not spawn, complete or look up tasks of this list). Each task's state is
    /// read as the walk reaches it: a dump is a set of such readings, not one instant.
    pub(crate) fn for_each(&self, mut f: impl FnMut(Listed)) {
        for shard in self.shards.iter() {
            let shard = lock(shard);
            let mut next = shard.head;
            while let Some(ptr) = next {
                // SAFETY: the list holds a reference to each task in it, and we hold the shard's
                // lock, under which the links are read and no task leaves the list.
                let header = unsafe { ptr.as_ref() };
                f(Listed {
                    id: header.id,
                    state: header.state.load(),
                    meta: shard.meta.get(&header.id).copied(),
                });
                // SAFETY: as above.
                next = unsafe { (*Shard::links(ptr)).next };
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
                let popped = lock(shard).pop_front();
                let Some(ptr) = popped else { break };
                // SAFETY: the list's reference, now ours. The task is cancelled outside the lock,
                // since dropping its future runs user code.
                unsafe { Task::<S>::from_raw(ptr) }.shutdown();
            }
        }
    }
}

impl Shard {
    fn links(ptr: NonNull<Header>) -> *mut Links {
        // SAFETY: the caller holds the shard's lock and the task is live (the list or the caller
        // holds a reference).
        unsafe { ptr.as_ref() }.owned.with_mut(|links| links)
    }

    fn push_front(&mut self, ptr: NonNull<Header>) {
        // SAFETY: we hold the lock; `ptr` is a live task not in any list, and `head` is a live task
        // of this list.
        unsafe {
            *Self::links(ptr) = Links {
                prev: None,
                next: self.head,
            };
            if let Some(head) = self.head {
                (*Self::links(head)).prev = Some(ptr);
            }
        }
        self.head = Some(ptr);
        self.live += 1;
        self.spawned += 1;
    }

    fn pop_front(&mut self) -> Option<NonNull<Header>> {
        let head = self.head?;
        // SAFETY: we hold the lock and `head` is in this list.
        unsafe { self.remove(head) }
    }

    /// # Safety
    /// The shard's lock is held and `ptr` is a live task that is in this shard or in no list.
    unsafe fn remove(&mut self, ptr: NonNull<Header>) -> Option<NonNull<Header>> {
        // SAFETY: forwarded to the caller; linked neighbours are live members of this list.
        unsafe {
            let links = &mut *Self::links(ptr);
            match links.prev {
                Some(prev) => (*Self::links(prev)).next = links.next,
                None if self.head == Some(ptr) => self.head = links.next,
                // Neither linked nor the head: not in the list (already popped by shutdown).
                None => return None,
            }
            if let Some(next) = links.next {
                (*Self::links(next)).prev = links.prev;
            }
            *links = Links::default();
            self.meta.remove(&ptr.as_ref().id);
        }
        self.live -= 1;
        Some(ptr)
    }
}
