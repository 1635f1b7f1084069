//! `CancellationToken`: tokio-util's cancellation token, a tree of flags that tasks wait on.
//!
//! Written here, on event-listener. Each token is a `Node` shared by its clones:
//!
//! - `cancelled`, an `AtomicBool`, goes from false to true once and never back. Whoever swaps it
//!   notifies the node's `waiters` and then cancels the children.
//! - `children` lists the nodes of the tokens made by `child_token`, as `Weak`s, under a std
//!   `Mutex`. It is appended to only while `cancelled` is false, read out once by the `cancel`
//!   that set it, and pruned of dead entries whenever it has grown to its capacity, so a loop that
//!   makes and drops children keeps it as short as the children alive (times four at most).
//! - `_parent`, a strong reference: a child keeps its parent's node (not the parent's tokens)
//!   alive, so that cancelling a grandparent still reaches a grandchild whose parent token was
//!   dropped. The references point up and the `Weak`s down, so there is no cycle.
//!
//! A child made while its parent is being cancelled is either in the list when `cancel` reads it
//! out (and is cancelled then), or is made after, under the same lock, and finds the parent's
//! flag set (and starts cancelled): the lock orders the two.

use super::leaf::{self, Condition, Leaf, Until};
use event_listener::Event as Listeners;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

/// A token that tasks wait on until it is cancelled (tokio-util's `CancellationToken`).
///
/// - [`cancel`](CancellationToken::cancel) cancels the token, all its clones (they share it),
///   and every token made from it with [`child_token`](CancellationToken::child_token), at any
///   depth. Cancelling a child does not cancel its parent. A child made from a cancelled token
///   starts cancelled.
/// - [`cancelled`](CancellationToken::cancelled) waits until the token is cancelled.
/// - [`drop_guard`](CancellationToken::drop_guard) cancels it when the guard is dropped (say, when
///   the task that holds the guard ends or is aborted).
///
/// ```
/// use filch::sync::CancellationToken;
/// use std::time::Duration;
///
/// filch::run(async {
///     let shutdown = CancellationToken::new();
///     let workers: Vec<_> = (0..3)
///         .map(|_| {
///             let token = shutdown.child_token();
///             filch::spawn(async move {
///                 let mut rounds = 0u32;
///                 loop {
///                     filch::select! {
///                         _ = token.cancelled() => return rounds,
///                         _ = filch::sleep(Duration::from_millis(1)) => rounds += 1,
///                     }
///                 }
///             })
///         })
///         .collect();
///     filch::sleep(Duration::from_millis(20)).await;
///     shutdown.cancel(); // reaches every child
///     for rounds in filch::join_all(workers).await {
///         let _ = rounds.unwrap();
///     }
///     assert!(shutdown.is_cancelled());
/// });
/// ```
///
/// # Cancel safety
///
/// [`cancelled`](CancellationToken::cancelled) is cancel safe: dropped before it completed, it
/// changes nothing, and a later `cancelled` returns at once if the token was cancelled meanwhile.
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    /// False until cancelled; then true for good.
    cancelled: AtomicBool,
    /// Notified by the `cancel` that set `cancelled`.
    waiters: Listeners,
    /// The children's nodes; see the module doc.
    children: Mutex<Vec<Weak<Node>>>,
    /// Held only to keep the parent's node alive (see the module doc); `None` for a root.
    _parent: Option<Arc<Node>>,
}

impl Node {
    fn new(parent: Option<Arc<Node>>) -> Node {
        Node {
            cancelled: AtomicBool::new(false),
            waiters: Listeners::new(),
            children: Mutex::new(Vec::new()),
            _parent: parent,
        }
    }

    fn children(&self) -> MutexGuard<'_, Vec<Weak<Node>>> {
        // The list is consistent at every step, so a panic elsewhere leaves nothing to repair.
        self.children.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Acquire: pairs with the AcqRel swap of `cancel`, so what was done before `cancel` is
    /// visible to whoever sees the token cancelled.
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Drop a long chain of ancestors one by one instead of recursively, so that dropping the
        // last token of a deep chain of children does not overflow the stack.
        let mut up = self._parent.take();
        while let Some(parent) = up {
            up = match Arc::try_unwrap(parent) {
                Ok(mut node) => node._parent.take(),
                Err(_) => None,
            };
        }
    }
}

impl CancellationToken {
    /// A new token, not cancelled, with no parent.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node::new(None)),
        }
    }

    /// A new token that is cancelled when this one is (and is cancelled already if this one is).
    /// Cancelling it does not cancel this one.
    pub fn child_token(&self) -> CancellationToken {
        let child = Arc::new(Node::new(Some(self.node.clone())));
        let mut children = self.node.children();
        // Under the lock: see the module doc.
        if self.node.is_cancelled() {
            child.cancelled.store(true, Ordering::Release);
        } else {
            if children.len() == children.capacity() {
                // Prune before the vector grows. If more than half is still alive, grow it too,
                // so that at least as many pushes as there are live entries come before the next
                // pruning: pruning costs O(1) a push amortized, and the list stays within four
                // times the most children alive at once.
                children.retain(|c| c.strong_count() > 0);
                if children.len() * 2 > children.capacity() {
                    let live = children.len();
                    children.reserve(live);
                }
            }
            children.push(Arc::downgrade(&child));
        }
        drop(children);
        CancellationToken { node: child }
    }

    /// Cancels this token and every token made from it with
    /// [`child_token`](CancellationToken::child_token), and wakes every task waiting in
    /// [`cancelled`](CancellationToken::cancelled). Does nothing if it was already cancelled.
    pub fn cancel(&self) {
        // An explicit stack rather than recursion: the tree can be deep.
        let mut todo = vec![self.node.clone()];
        while let Some(node) = todo.pop() {
            // AcqRel: Release pairs with the Acquire of `Node::is_cancelled`; Acquire orders this
            // after an earlier cancel's work when it finds the flag set.
            if node.cancelled.swap(true, Ordering::AcqRel) {
                continue;
            }
            node.waiters.notify(usize::MAX);
            let children = std::mem::take(&mut *node.children());
            todo.extend(children.iter().filter_map(Weak::upgrade));
        }
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Waits until the token is cancelled; returns at once if it is. Each poll is a leaf of
    /// filch's cooperative budget. Cancel safe.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            inner: leaf::until(IsCancelled(&self.node)),
        }
    }

    /// A guard that cancels this token when it is dropped, unless
    /// [disarmed](DropGuard::disarm) first.
    ///
    /// ```
    /// use filch::sync::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// } // dropped: cancels
    /// assert!(token.is_cancelled());
    ///
    /// let token = CancellationToken::new();
    /// let guard = token.clone().drop_guard();
    /// let _token = guard.disarm(); // gives the token back; nothing is cancelled
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The condition of [`CancellationToken::cancelled`].
struct IsCancelled<'a>(&'a Node);

impl Condition for IsCancelled<'_> {
    type Output = ();

    fn listeners(&self) -> &Listeners {
        &self.0.waiters
    }

    fn check(&mut self) -> Option<()> {
        self.0.is_cancelled().then_some(())
    }
}

/// The future of [`CancellationToken::cancelled`] (tokio-util's `WaitForCancellationFuture`).
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled<'a> {
    inner: Leaf<Until<IsCancelled<'a>>, ()>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Until` of a borrowed condition is `Unpin`, so the leaf is.
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").finish_non_exhaustive()
    }
}

/// Cancels its token when dropped, unless [disarmed](DropGuard::disarm); from
/// [`CancellationToken::drop_guard`].
#[must_use = "the token is cancelled at once if the guard is not kept"]
pub struct DropGuard {
    /// `None` once disarmed.
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a DropGuard holds its token until it is disarmed or dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::CancellationToken;

    /// The children list is pruned: making and dropping children in a loop does not grow it.
    #[test]
    fn children_made_and_dropped_in_a_loop_do_not_pile_up() {
        let parent = CancellationToken::new();
        let kept: Vec<_> = (0..10).map(|_| parent.child_token()).collect();
        for _ in 0..100_000 {
            let child = parent.child_token();
            let _grandchild = child.child_token();
        }
        let children = parent.node.children();
        assert!(
            children.len() <= 2 * kept.len() + 2,
            "{} entries",
            children.len()
        );
        assert!(
            children.capacity() <= 64,
            "capacity {}",
            children.capacity()
        );
        drop(children);
        parent.cancel();
        assert!(kept.iter().all(CancellationToken::is_cancelled));
    }

    /// Dropping the last token of a deep chain of children drops the chain without recursion.
    #[test]
    fn a_deep_chain_of_children_drops_without_overflowing_the_stack() {
        let root = CancellationToken::new();
        let mut leaf = root.child_token();
        for _ in 0..200_000 {
            leaf = leaf.child_token();
        }
        root.cancel();
        assert!(leaf.is_cancelled());
        drop(leaf);
    }
}
