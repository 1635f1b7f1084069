//! `Mutex` and `RwLock`: locks whose guards may be held across `.await`.

use super::leaf::Leaf;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Converts `Arc<Wrapper>` to `Arc<Inner>` for a `#[repr(transparent)]` wrapper.
macro_rules! arc_inner {
    ($arc:expr, $inner:ty) => {{
        let raw = Arc::into_raw($arc);
        // SAFETY: the wrapper is `#[repr(transparent)]` over `$inner`, so the pointee has the
        // same layout, and the `Arc`'s allocation (with its counts) is handed over unchanged.
        unsafe { Arc::from_raw(raw as *const $inner) }
    }};
}
pub(super) use arc_inner;

/// An asynchronous mutual-exclusion lock (asyncio's `Lock`, tokio's `Mutex`): `lock().await`
/// waits without blocking the worker, and the guard may be held across `.await`.
///
/// Fair under contention: a waiter that has waited for a while gets the lock before newcomers.
/// For data touched briefly and never across an `.await`, `std::sync::Mutex` is cheaper, as in
/// tokio: an asynchronous lock is for holding across waits.
///
/// Built on [async-lock](https://docs.rs/async-lock)'s `Mutex`; each wait takes part in the
/// cooperative budget. Cancel safe: a `lock()` dropped before it completed holds nothing and
/// loses its place in the queue.
///
/// ```
/// use filch::sync::Mutex;
/// use std::sync::Arc;
///
/// filch::run(async {
///     let counter = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let counter = counter.clone();
///             filch::spawn(async move {
///                 let mut n = counter.lock().await;
///                 filch::yield_now().await; // held across an await
///                 *n += 1;
///             })
///         })
///         .collect();
///     filch::join_all(tasks).await;
///     assert_eq!(*counter.lock().await, 10);
/// });
/// ```
#[repr(transparent)]
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

/// Holds a [`Mutex`] locked until dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized>(async_lock::MutexGuard<'a, T>);

/// A [`MutexGuard`] that owns a reference to its mutex, so it can outlive the borrow (move it into
/// a task). From [`Mutex::lock_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized>(async_lock::MutexGuardArc<T>);

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            inner: async_lock::Mutex::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, waiting for the holder to release it.
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        Leaf::new(self.inner.lock(), MutexGuard)
    }

    /// Locks if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(MutexGuard)
    }

    /// Locks through an `Arc`, for a guard that can be moved into a task.
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>>
    where
        T: Sized,
    {
        let inner = arc_inner!(self, async_lock::Mutex<T>);
        async move { Leaf::new(inner.lock_arc(), OwnedMutexGuard).await }
    }

    /// Locks through an `Arc` if it is free now.
    pub fn try_lock_owned(self: Arc<Self>) -> Option<OwnedMutexGuard<T>>
    where
        T: Sized,
    {
        arc_inner!(self, async_lock::Mutex<T>)
            .try_lock_arc()
            .map(OwnedMutexGuard)
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The mutex a guard locks (for [`Condition`](super::Condition)).
    pub(super) fn of<'a>(guard: &MutexGuard<'a, T>) -> &'a Mutex<T> {
        let inner = async_lock::MutexGuard::source(&guard.0);
        // SAFETY: `Mutex` is `#[repr(transparent)]` over `async_lock::Mutex`, and every
        // `MutexGuard` comes from one inside a `Mutex`.
        unsafe { &*(inner as *const async_lock::Mutex<T> as *const Mutex<T>) }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// An asynchronous reader-writer lock: many readers or one writer, guards held across `.await`.
/// Writers are not starved: once a writer waits, new readers wait behind it.
///
/// Built on [async-lock](https://docs.rs/async-lock)'s `RwLock`; each wait takes part in the
/// cooperative budget. Cancel safe, as [`Mutex::lock`].
///
/// ```
/// use filch::sync::RwLock;
///
/// filch::run(async {
///     let config = RwLock::new(String::from("v1"));
///     {
///         let a = config.read().await;
///         let b = config.read().await; // readers share
///         assert_eq!(*a, *b);
///     }
///     config.write().await.push_str(".1");
///     assert_eq!(*config.read().await, "v1.1");
/// });
/// ```
#[repr(transparent)]
pub struct RwLock<T: ?Sized> {
    inner: async_lock::RwLock<T>,
}

/// Shared access to an [`RwLock`]'s value until dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized>(async_lock::RwLockReadGuard<'a, T>);

/// Exclusive access to an [`RwLock`]'s value until dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized>(async_lock::RwLockWriteGuard<'a, T>);

/// An owned [`RwLockReadGuard`], from [`RwLock::read_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T>(async_lock::RwLockReadGuardArc<T>);

/// An owned [`RwLockWriteGuard`], from [`RwLock::write_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T>(async_lock::RwLockWriteGuardArc<T>);

impl<T> RwLock<T> {
    /// A new, unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            inner: async_lock::RwLock::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }

    /// Shared access through an `Arc`, for a guard that can be moved into a task.
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let inner = arc_inner!(self, async_lock::RwLock<T>);
        async move { Leaf::new(inner.read_arc(), OwnedRwLockReadGuard).await }
    }

    /// Exclusive access through an `Arc`, for a guard that can be moved into a task.
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let inner = arc_inner!(self, async_lock::RwLock<T>);
        async move { Leaf::new(inner.write_arc(), OwnedRwLockWriteGuard).await }
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access, waiting while a writer holds or waits for the lock.
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        Leaf::new(self.inner.read(), RwLockReadGuard)
    }

    /// Shared access if it is available now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner.try_read().map(RwLockReadGuard)
    }

    /// Exclusive access, waiting for the readers and the writer before it.
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        Leaf::new(self.inner.write(), RwLockWriteGuard)
    }

    /// Exclusive access if it is available now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.inner.try_write().map(RwLockWriteGuard)
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// `Deref` (and `DerefMut`), `Debug` and `Display` through a guard's inner guard.
macro_rules! guard_impls {
    ($guard:ident<$($lt:lifetime,)? T $(: ?$unsized:ident)?>, mut: $mutable:tt) => {
        impl<$($lt,)? T $(: ?$unsized)?> Deref for $guard<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                &*self.0
            }
        }
        guard_impls!(@mut $mutable, $guard<$($lt,)? T $(: ?$unsized)?>);
        impl<$($lt,)? T: fmt::Debug $(+ ?$unsized)?> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
        impl<$($lt,)? T: fmt::Display $(+ ?$unsized)?> fmt::Display for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
    (@mut true, $guard:ident<$($lt:lifetime,)? T $(: ?$unsized:ident)?>) => {
        impl<$($lt,)? T $(: ?$unsized)?> DerefMut for $guard<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut *self.0
            }
        }
    };
    (@mut false, $guard:ident<$($lt:lifetime,)? T $(: ?$unsized:ident)?>) => {};
}

guard_impls!(MutexGuard<'a, T: ?Sized>, mut: true);
guard_impls!(OwnedMutexGuard<T: ?Sized>, mut: true);
guard_impls!(RwLockReadGuard<'a, T: ?Sized>, mut: false);
guard_impls!(RwLockWriteGuard<'a, T: ?Sized>, mut: true);
guard_impls!(OwnedRwLockReadGuard<T>, mut: false);
guard_impls!(OwnedRwLockWriteGuard<T>, mut: true);

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    pub(super) fn into_inner(self) -> async_lock::MutexGuard<'a, T> {
        self.0
    }
}
