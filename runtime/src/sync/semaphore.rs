//! `Semaphore` and `Barrier`.

use super::leaf::Leaf;
use super::mutex::arc_inner;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A counting semaphore (asyncio's `Semaphore`, tokio's `Semaphore`): `acquire().await` takes one
/// of a fixed number of permits, waiting while none is left; dropping the permit gives it back.
/// The usual tool to limit how many tasks do something at once.
///
/// Fair: permits go to waiters in the order they started waiting. One permit per `acquire` (tokio's
/// `acquire_many` has no counterpart yet).
///
/// Built on [async-lock](https://docs.rs/async-lock)'s `Semaphore`; each wait takes part in the
/// cooperative budget. Cancel safe: an `acquire` dropped before it completed holds no permit.
///
/// ```
/// use filch::sync::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// filch::run(async {
///     let limit = Arc::new(Semaphore::new(3));
///     let running = Arc::new(AtomicUsize::new(0));
///     let tasks: Vec<_> = (0..20)
///         .map(|_| {
///             let (limit, running) = (limit.clone(), running.clone());
///             filch::spawn(async move {
///                 let _permit = limit.acquire_owned().await;
///                 assert!(running.fetch_add(1, SeqCst) < 3, "at most 3 at once");
///                 filch::yield_now().await;
///                 running.fetch_sub(1, SeqCst);
///             })
///         })
///         .collect();
///     filch::join_all(tasks).await;
/// });
/// ```
#[repr(transparent)]
pub struct Semaphore {
    inner: async_lock::Semaphore,
}

/// A permit of a [`Semaphore`], given back when dropped.
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit<'a>(async_lock::SemaphoreGuard<'a>);

/// A permit that owns a reference to its semaphore, so it can be moved into a task. From
/// [`Semaphore::acquire_owned`].
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct OwnedSemaphorePermit(async_lock::SemaphoreGuardArc);

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            inner: async_lock::Semaphore::new(permits),
        }
    }

    /// Takes a permit, waiting until one is free.
    pub fn acquire(&self) -> impl Future<Output = SemaphorePermit<'_>> + '_ {
        Leaf::new(self.inner.acquire(), SemaphorePermit)
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.inner.try_acquire().map(SemaphorePermit)
    }

    /// Takes a permit through an `Arc`, for a permit that can be moved into a task.
    pub fn acquire_owned(self: &Arc<Self>) -> impl Future<Output = OwnedSemaphorePermit> {
        let inner = arc_inner!(self.clone(), async_lock::Semaphore);
        async move { Leaf::new(inner.acquire_arc(), OwnedSemaphorePermit).await }
    }

    /// Takes a permit through an `Arc` if one is free now.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        arc_inner!(self.clone(), async_lock::Semaphore)
            .try_acquire_arc()
            .map(OwnedSemaphorePermit)
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        self.inner.add_permits(n);
    }

    /// The permits free now.
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good: the semaphore has one permit fewer.
    pub fn forget(self) {
        self.0.forget();
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permit taken for good: the semaphore has one permit fewer.
    pub fn forget(self) {
        self.0.forget();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .finish()
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedSemaphorePermit")
    }
}

/// Makes `n` tasks wait until all `n` have arrived (asyncio's `Barrier`); then they all go on,
/// and the barrier can be used again. Exactly one of them is told it is the leader.
///
/// Built on [async-lock](https://docs.rs/async-lock)'s `Barrier`. Not cancel safe, as in tokio and
/// asyncio (where a cancelled wait breaks the barrier): a `wait` dropped after its first poll
/// has usually counted as arrived (unless it was still waiting for the barrier's internal lock),
/// and the round then completes with one task fewer than it counted.
///
/// ```
/// use filch::sync::Barrier;
/// use std::sync::Arc;
///
/// filch::run(async {
///     let barrier = Arc::new(Barrier::new(4));
///     let tasks: Vec<_> = (0..4)
///         .map(|_| {
///             let barrier = barrier.clone();
///             filch::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let leaders = filch::join_all(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
///     assert_eq!(leaders, 1);
/// });
/// ```
#[derive(Debug)]
pub struct Barrier {
    inner: async_lock::Barrier,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this task is the one leader of its round.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Barrier {
    /// A barrier for `n` tasks (0 and 1 let every `wait` through at once).
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            inner: async_lock::Barrier::new(n),
        }
    }

    /// Waits until `n` tasks are waiting.
    pub fn wait(&self) -> impl Future<Output = BarrierWaitResult> + '_ {
        Leaf::new(self.inner.wait(), |r| BarrierWaitResult {
            leader: r.is_leader(),
        })
    }
}
