//! `GroupError`: every failure of a task group, in the order they happened.

use crate::task::error::{panic_message, TaskLabel};
use crate::task::Id;
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Why a [`TaskGroup`](crate::TaskGroup) failed: every child error and panic (and the scope
/// body's error), in the order they happened — the `ExceptionGroup` of filch.
///
/// Children cancelled because a sibling failed are not failures and do not appear here.
///
/// ```
/// use filch::TaskGroup;
///
/// filch::run(async {
///     let group = TaskGroup::<(), String>::new();
///     group.spawn_named("parse", async { Err("bad header".to_owned()) });
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.len(), 1);
///     assert_eq!(err.failures()[0].name(), Some("parse"));
///     assert_eq!(err.errors().collect::<Vec<_>>(), [&"bad header".to_owned()]);
///     assert!(err.to_string().contains("\"parse\" failed: bad header"));
/// });
/// ```
pub struct GroupError<E> {
    failures: Vec<Failure<E>>,
    cancelled: bool,
}

/// One failure in a [`GroupError`]: a child that returned `Err` or panicked, or the scope body
/// that returned `Err`.
pub struct Failure<E> {
    /// `None` for the scope body.
    id: Option<Id>,
    name: Option<Arc<str>>,
    kind: Kind<E>,
}

enum Kind<E> {
    Error(E),
    /// The Mutex only makes the payload `Sync` (see `JoinError`); it is never contended.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl<E> Failure<E> {
    pub(crate) fn error(id: Option<Id>, name: Option<Arc<str>>, error: E) -> Failure<E> {
        Failure {
            id,
            name,
            kind: Kind::Error(error),
        }
    }

    pub(crate) fn panic(
        id: Id,
        name: Option<Arc<str>>,
        payload: Box<dyn Any + Send>,
    ) -> Failure<E> {
        Failure {
            id: Some(id),
            name,
            kind: Kind::Panic(Mutex::new(payload)),
        }
    }

    /// The id of the child task, or `None` if this is the scope body's error.
    pub fn task_id(&self) -> Option<Id> {
        self.id
    }

    /// The child's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// True if the child panicked (rather than returned `Err`).
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panic(_))
    }

    /// The error the child (or the body) returned; `None` for a panic.
    pub fn as_error(&self) -> Option<&E> {
        match &self.kind {
            Kind::Error(err) => Some(err),
            Kind::Panic(_) => None,
        }
    }

    /// The error, or the panic payload (to resume with [`std::panic::resume_unwind`]).
    pub fn into_result(self) -> Result<E, Box<dyn Any + Send + 'static>> {
        match self.kind {
            Kind::Error(err) => Ok(err),
            Kind::Panic(payload) => Err(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
        }
    }
}

impl<E> GroupError<E> {
    pub(crate) fn new(failures: Vec<Failure<E>>, cancelled: bool) -> GroupError<E> {
        GroupError {
            failures,
            cancelled,
        }
    }

    /// Every failure, in the order they happened.
    pub fn failures(&self) -> &[Failure<E>] {
        &self.failures
    }

    /// Every failure, by value.
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }

    /// The errors returned (panics left out), in the order they happened.
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().filter_map(Failure::as_error)
    }

    /// How many failures there were.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// True only for a group cancelled (by [`TaskGroup::cancel`](crate::TaskGroup::cancel), or
    /// by its runtime shutting down) in which nothing failed.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// True if the group was cancelled by [`TaskGroup::cancel`](crate::TaskGroup::cancel),
    /// [`Scope::cancel`](crate::Scope::cancel) or its runtime shutting down, rather than by a
    /// failure.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// True if any child panicked.
    pub fn has_panic(&self) -> bool {
        self.failures.iter().any(Failure::is_panic)
    }

    /// Resumes the first child panic in the calling task, if there was one; otherwise returns the
    /// error unchanged. For code that treats a child's panic as its own:
    /// `group.join().await.map_err(GroupError::resume_panic)`.
    pub fn resume_panic(mut self) -> GroupError<E> {
        if let Some(at) = self.failures.iter().position(Failure::is_panic) {
            if let Err(payload) = self.failures.swap_remove(at).into_result() {
                std::panic::resume_unwind(payload);
            }
        }
        self
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.id, &self.kind) {
            (None, Kind::Error(err)) => write!(f, "the scope body failed: {err}"),
            (Some(id), Kind::Error(err)) => {
                write!(f, "{} failed: {err}", TaskLabel(id, self.name()))
            }
            (id, Kind::Panic(payload)) => {
                // The message is copied out so that the lock is not held while the caller's
                // formatter runs.
                let msg = {
                    let payload = payload.lock().unwrap_or_else(|e| e.into_inner());
                    panic_message(&**payload).map(str::to_owned)
                };
                let task = TaskLabel(id.expect("only children panic into a group"), self.name());
                match msg {
                    Some(msg) => write!(f, "{task} panicked with message {msg:?}"),
                    None => write!(f, "{task} panicked"),
                }
            }
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Failure");
        d.field("task_id", &self.id).field("name", &self.name());
        match &self.kind {
            Kind::Error(err) => d.field("error", err),
            Kind::Panic(_) => d.field("panic", &true),
        };
        d.finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failures.len() {
            0 => return f.write_str("the task group was cancelled"),
            1 => f.write_str("a task group failed: ")?,
            n => write!(f, "a task group failed {n} times: ")?,
        }
        for (i, failure) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("failures", &self.failures)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
