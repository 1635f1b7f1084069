//! `spawn_local`: tasks whose futures are not `Send`, run by the thread in `block_on`.
//!
//! Every `block_on` (either flavour) has a *local set*: the tasks `spawn_local` started on its
//! thread while it runs. They live in their own owned-task list and run queue, never in the
//! runtime's: the `block_on` future is wrapped in [`LocalRoot`], whose every poll first runs
//! the local tasks that are ready (a batch at most), then polls the user's future. A local
//! task's waker, from any thread, pushes it onto the set's queue and wakes the `block_on`
//! future, which is how it gets back to the one thread that may run it.
//!
//! # Why the futures never leave their thread
//!
//! The task cell is the ordinary one; what keeps a non-`Send` future on its thread is who may
//! touch it, not its type:
//! - it is polled only by `LocalRoot::poll`, on the `block_on` thread: the set's queue is popped
//!   nowhere else;
//! - it is dropped when it completes (in that poll), when it is aborted (an abort only schedules
//!   the task: the drop happens in the next run, on this thread), or when the `block_on` ends: the
//!   set is closed and every task left is shut down by the guard in [`run`], on this thread,
//!   panic or not. After that a wake from another thread finds the set closed and only drops a
//!   reference; a cell freed there holds no future any more;
//! - its output, when it is not `Send`, is dropped on this thread too: by the runner if nobody
//!   waits for it, else by the `JoinHandle<T>`, which is then not `Send` itself.
//!
//! Where no local set exists (a worker thread of a multi-thread runtime, whose tasks move between
//! workers; a thread outside any runtime), `spawn_local` panics and says where it works.

use crate::task::{Id, JoinHandle, Notified, OwnedTasks, Schedule, SpawnMeta, Task};
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Local tasks run per poll of the `block_on` future, at most; the rest wait for the next poll
/// (the future wakes itself), so the user's future is polled between batches.
const BATCH: usize = 61;

thread_local! {
    /// The local set of the `block_on` running on this thread, if any.
    static CURRENT: Cell<*const LocalSet> = const { Cell::new(ptr::null()) };
}

/// The tasks `spawn_local` started during one `block_on`.
struct LocalSet {
    shared: Arc<Shared>,
}

/// What a local task's waker may touch from any thread.
struct Shared {
    owned: OwnedTasks<LocalScheduler>,
    queue: Mutex<Queue>,
}

struct Queue {
    tasks: VecDeque<Notified<LocalScheduler>>,
    /// The `block_on` future's waker: woken when a task is queued.
    waker: Option<Waker>,
    /// The `block_on` is over: queued tasks are dropped (their futures are gone already).
    closed: bool,
}

#[derive(Clone)]
struct LocalScheduler(Arc<Shared>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Schedule for LocalScheduler {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        let mut queue = self.0.lock();
        if queue.closed {
            drop(queue);
            // Only a reference: the set shut every task down when it closed.
            drop(task);
            return;
        }
        queue.tasks.push_back(task);
        let waker = queue.waker.clone();
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Runs `future` on this thread with a local set for `spawn_local`, polling it through `block`
/// (the flavour's `block_on` loop); every local task left is cancelled, on this thread, before
/// this returns or unwinds.
pub(crate) fn run<F: Future, R>(future: F, block: impl FnOnce(LocalRoot<'_, F>) -> R) -> R {
    let set = LocalSet {
        shared: Arc::new(Shared {
            owned: OwnedTasks::new(1),
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                waker: None,
                closed: false,
            }),
        }),
    };
    struct Close<'a> {
        set: &'a LocalSet,
        prev: *const LocalSet,
    }
    impl Drop for Close<'_> {
        fn drop(&mut self) {
            let shared = &self.set.shared;
            let (queued, waker) = {
                let mut queue = shared.lock();
                queue.closed = true;
                (std::mem::take(&mut queue.tasks), queue.waker.take())
            };
            // Outside the lock: dropping a reference can free a task.
            drop(queued);
            drop(waker);
            // Every local future (and output nobody waits for) is dropped here, on this thread.
            shared.owned.close_and_shutdown();
            let _ = CURRENT.try_with(|c| c.set(self.prev));
        }
    }
    let prev = CURRENT.with(|c| c.replace(&set));
    let _close = Close { set: &set, prev };
    let future = pin!(future);
    block(LocalRoot { set: &set, future })
}

/// The `block_on` future with its local set: runs the ready local tasks, then polls `future`.
pub(crate) struct LocalRoot<'a, F> {
    set: &'a LocalSet,
    future: Pin<&'a mut F>,
}

impl<F: Future> Future for LocalRoot<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let shared = &self.set.shared;
        {
            let mut queue = shared.lock();
            if !queue
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                // The block_on loops' wakers are the runtime's own: no user code under the lock.
                queue.waker = Some(cx.waker().clone());
            }
        }
        for ran in 0.. {
            let task = shared.lock().tasks.pop_front();
            let Some(task) = task else { break };
            if ran == BATCH {
                // More than a batch is ready: the rest after the user's future has had a turn.
                shared.lock().tasks.push_front(task);
                cx.waker().wake_by_ref();
                break;
            }
            task.run();
        }
        self.future.as_mut().poll(cx)
    }
}

/// Spawns a task whose future need not be `Send` (it may hold an `Rc` or a `RefCell`): it runs
/// on this thread, interleaved with the `block_on` future, until it completes or the `block_on`
/// returns (then it is cancelled, like every task left when `asyncio.run` ends).
///
/// It works wherever a thread is inside [`Runtime::block_on`](crate::Runtime::block_on) (or
/// [`filch::run`](crate::run), `#[filch::main]`, `#[filch::test]`): in the `block_on` future
/// itself, in local tasks, and, on a [current-thread](crate::Builder::new_current_thread)
/// runtime, in every task (they all run on that thread).
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let rt = filch::Builder::new_current_thread().build().unwrap();
/// let total = rt.block_on(async {
///     let shared = Rc::new(RefCell::new(Vec::new())); // not Send
///     let mut handles = Vec::new();
///     for i in 0..3 {
///         let shared = shared.clone();
///         handles.push(filch::spawn_local(async move {
///             filch::yield_now().await;
///             shared.borrow_mut().push(i);
///         }));
///     }
///     for handle in handles {
///         handle.await.unwrap();
///     }
///     let total: i32 = shared.borrow().iter().sum();
///     total
/// });
/// assert_eq!(total, 3);
/// ```
///
/// # Panics
/// On a thread that is not inside a `block_on`: a worker thread of a multi-thread runtime (its
/// tasks move between workers, so a task there cannot hold a non-`Send` future), a
/// `spawn_blocking` job, or a thread outside any runtime.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let set = CURRENT.with(Cell::get);
    if set.is_null() {
        panic!(
            "filch::spawn_local called outside a block_on: local (non-Send) tasks run on the \
             thread inside `Runtime::block_on` / `filch::run` / `#[filch::main]` (or any task \
             of a current-thread runtime), never on a multi-thread runtime's workers, whose \
             tasks move between threads; use filch::spawn for Send futures"
        );
    }
    // SAFETY: `CURRENT` points to the set of the `block_on` running on this thread (set by `run`
    // and reset by its guard before the set goes), and this is that thread.
    let set = unsafe { &*set };
    let id = Id::next();
    let meta = SpawnMeta::here();
    let scheduler = LocalScheduler(set.shared.clone());
    // SAFETY: the task is scheduled only to this set's queue, which only `LocalRoot::poll` on
    // this thread pops, and the set is shut down on this thread when its `block_on` ends (see
    // the module docs): the future and the output stay on this thread.
    let (join, notified) = unsafe {
        set.shared
            .owned
            .bind_local(future, scheduler.clone(), id, meta)
    };
    if let Some(notified) = notified {
        scheduler.schedule(notified);
    }
    join
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        debug_assert!(self.shared.lock().closed, "closed by `run`'s guard");
    }
}
