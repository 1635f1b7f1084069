//! `task::block_in_place`: blocking code on a worker, with its queued tasks handed over first.

/// Runs `f`, which may block (a synchronous client call, a long computation, a lock held
/// across I/O), on the current worker thread, after handing everything queued on this worker to
/// the other workers — tokio's `block_in_place`. Prefer
/// [`spawn_blocking`](crate::spawn_blocking), which moves the work to the blocking pool and
/// leaves the worker free; `block_in_place` is for code that cannot move (it borrows from the
/// task, or must run on this thread) and is cheaper for short blocks (no hand-off).
///
/// Before `f` runs, the task in this worker's LIFO slot, its local queue and the tasks that
/// yielded on it go to the runtime's shared queue, a sleeping worker is woken for them, and
/// the I/O driver is handed to a sleeping worker if nobody watches it. While `f` runs, the tasks
/// it wakes or spawns go to the shared queue too, and the slow-poll watchdog neither reports
/// the poll (the block is declared) nor rescues the worker (nothing is left to rescue). The
/// calling task keeps its worker: other tasks do not run on this thread until `f` returns.
///
/// Inside `f` the thread counts as no worker: `f` may call
/// [`Handle::block_on`](crate::Handle::block_on) (tokio's idiom
/// `block_in_place(|| handle.block_on(future))`, for synchronous code that must wait for async
/// code) or another runtime's `block_on`; tasks it spawns still name the blocked task as their
/// parent in the [task dump](crate::Handle::dump).
///
/// Unlike tokio's, it starts no replacement thread: the runtime has one worker fewer while `f`
/// runs. On a one-worker runtime every other task waits, so a `block_on` inside `f` that waits
/// for one of this runtime's tasks never returns. Called outside a worker thread (in
/// [`Runtime::block_on`](crate::Runtime::block_on)'s future on a multi-thread runtime, or on a
/// thread of your own) it just runs `f`.
///
/// ```
/// # filch::run(async {
/// let task = filch::spawn(async {
///     // Blocks this worker for a moment; the others keep running tasks.
///     filch::task::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         42
///     })
/// });
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
///
/// # Panics
/// On a current-thread runtime (its one thread runs every task: use
/// [`spawn_blocking`](crate::spawn_blocking)), as tokio's does. A panic in `f` unwinds to the
/// caller, as any panic in a task.
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::scheduler::block_in_place(f)
}
