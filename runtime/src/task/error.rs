//! Task identifiers and the error a `JoinHandle` returns.

use std::any::Any;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

/// A task's identifier: unique among all tasks of the process, never reused.
///
/// ```
/// filch::run(async {
///     let a = filch::spawn(async {});
///     let b = filch::spawn(async {});
///     assert_ne!(a.id(), b.id());
/// });
/// ```
#[derive(Clone, Copy)]
pub struct Id(NonZeroU64);

// Compared, hashed and shown by the number alone: the `NAMED` flag is an implementation detail,
// and ids then order as they were made.
impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.as_u64() == other.as_u64()
    }
}

impl Eq for Id {}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_u64().hash(state);
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        self.as_u64().cmp(&other.as_u64())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_u64())
    }
}

impl Id {
    /// The next identifier. Each thread takes a block of ids at a time, so that spawning from many
    /// workers does not contend on one counter.
    pub(crate) fn next() -> Id {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicU64, Ordering};

        const BLOCK: u64 = 1024;
        // Relaxed: only uniqueness matters, and fetch_add gives it in any ordering.
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            // (next id, end of this thread's block)
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        RANGE.with(|range| {
            let (mut next, mut end) = range.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            range.set((next + 1, end));
            Id(NonZeroU64::new(next).expect("task id counter overflowed"))
        })
    }

    /// Set in the id of a task that has a name (see `task/name.rs`); never reached by the
    /// counter, and hidden from `as_u64` and `Display`.
    const NAMED: u64 = 1 << 63;

    pub(crate) fn with_name(self) -> Id {
        Id(self.0 | Id::NAMED)
    }

    pub(crate) fn is_named(self) -> bool {
        self.0.get() & Id::NAMED != 0
    }

    /// The whole word, name flag included: what a worker publishes for the watchdog.
    pub(crate) fn to_raw(self) -> u64 {
        self.0.get()
    }

    /// An id from [`to_raw`](Id::to_raw); `None` for 0.
    pub(crate) fn from_raw(raw: u64) -> Option<Id> {
        NonZeroU64::new(raw).map(Id)
    }

    /// The identifier as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get() & !Id::NAMED
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_u64().fmt(f)
    }
}

/// Why awaiting a [`JoinHandle`](crate::JoinHandle) gave no output: the task panicked, or it was
/// cancelled (by [`abort`](crate::JoinHandle::abort) or by the runtime shutting down).
///
/// ```
/// filch::run(async {
///     let err = filch::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     assert!(err.to_string().contains("boom"));
/// });
/// ```
pub struct JoinError {
    id: Id,
    /// `None` for an unnamed task's cancellation, the common error, which allocates nothing.
    /// Boxed otherwise: the error lives in every task cell's output slot (the stage is as large
    /// as the larger of the future and the output), so its size is paid by every task, failed or
    /// not. Inline, the name and the payload made it 56 bytes, and most cells 48 bytes larger.
    detail: Option<Box<Detail>>,
}

struct Detail {
    name: Option<Arc<str>>,
    /// The Mutex only makes the payload `Sync`, so that `JoinError` fits `Box<dyn Error + Send +
    /// Sync>`; it is never contended. `None`: cancelled.
    panic: Option<Mutex<Box<dyn Any + Send + 'static>>>,
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        let detail = super::name::get(id).map(|name| {
            Box::new(Detail {
                name: Some(name),
                panic: None,
            })
        });
        JoinError { id, detail }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            detail: Some(Box::new(Detail {
                name: super::name::get(id),
                panic: Some(Mutex::new(payload)),
            })),
        }
    }

    fn payload(&self) -> Option<&Mutex<Box<dyn Any + Send + 'static>>> {
        self.detail.as_ref()?.panic.as_ref()
    }

    /// True if the task was cancelled before it completed.
    pub fn is_cancelled(&self) -> bool {
        self.payload().is_none()
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        self.payload().is_some()
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The name the task was spawned with ([`task::Builder::name`](crate::task::Builder::name)),
    /// if any.
    ///
    /// ```
    /// filch::run(async {
    ///     let handle = filch::task::Builder::new()
    ///         .name("fetch")
    ///         .spawn(async { panic!("404") });
    ///     let err = handle.await.unwrap_err();
    ///     assert_eq!(err.name(), Some("fetch"));
    ///     assert!(err.to_string().contains("\"fetch\" panicked"));
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.detail.as_ref()?.name.as_deref()
    }

    /// The panic payload, to resume the panic with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked; see [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(mut self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.detail.as_mut().and_then(|d| d.panic.take()) {
            Some(payload) => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            None => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let payload = self.payload()?.lock().unwrap_or_else(|e| e.into_inner());
        panic_message(&**payload).map(str::to_owned)
    }

    /// "task 7" or "task 7 \"fetch\"".
    fn task(&self) -> TaskLabel<'_> {
        TaskLabel(self.id, self.name())
    }
}

/// The text of a panic payload, when it is a string (as `panic!` makes it).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// How errors name a task: its id, and its name in quotes when it has one.
pub(crate) struct TaskLabel<'a>(pub(crate) Id, pub(crate) Option<&'a str>);

impl fmt::Display for TaskLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) => write!(f, "task {} {name:?}", self.0),
            None => write!(f, "task {}", self.0),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cancelled() {
            return write!(f, "{} was cancelled", self.task());
        }
        match self.panic_message() {
            Some(msg) => write!(f, "{} panicked with message {msg:?}", self.task()),
            None => write!(f, "{} panicked", self.task()),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cancelled() {
            return write!(f, "JoinError::Cancelled({})", self.task());
        }
        match self.panic_message() {
            Some(msg) => write!(f, "JoinError::Panic({}, {msg:?}, ..)", self.task()),
            None => write!(f, "JoinError::Panic({}, ..)", self.task()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err)
    }
}

#[cfg(test)]
mod tests {
    use super::JoinError;
    use std::mem::size_of;

    /// Every task cell's output slot holds a `Result<T, JoinError>`: the error's size is paid by
    /// every task whose future is smaller (see `JoinError::detail`).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_join_error_is_two_words_and_a_result_of_unit_is_no_larger() {
        assert_eq!(size_of::<JoinError>(), 16);
        assert_eq!(size_of::<Result<(), JoinError>>(), 16);
    }
}
