//! Helpers shared by the integration tests: a hang guard, panic-message extraction, a drop
//! counter, a bounded spin-wait, a minimal executor for polling outside any runtime, a runtime
//! started with a paused clock, and a temporary directory.

// Each test crate uses only some of these helpers.
#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Runs `f` on a fresh thread and returns its result, failing the test if it takes longer than
/// `limit`: a hang in the runtime becomes a test failure instead of a stuck test run. A panic in
/// `f` is resumed on the caller's thread.
pub(crate) fn within<T, F>(limit: Duration, what: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("guard: {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("cannot start the guarded thread");
    match rx.recv_timeout(limit) {
        Ok(value) => {
            thread
                .join()
                .expect("the guarded thread panicked after sending");
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: did not finish within {limit:?} (the runtime hangs?)")
        }
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the guarded thread exited without sending"),
        },
    }
}

/// The message of a panic payload (`panic!` gives a `&'static str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Increments its counter when dropped: put one in a future to see when the future is dropped.
pub(crate) struct DropGuard(pub(crate) Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A group child that never finishes by itself and counts its drop in `drops`: how the tests see
/// that a child was cancelled.
#[allow(dead_code)]
pub(crate) fn pending_child<E>(
    drops: &Arc<AtomicUsize>,
) -> impl std::future::Future<Output = Result<(), E>> + Send + 'static {
    let guard = DropGuard(drops.clone());
    async move {
        let _guard = guard;
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// Spins (yielding the OS thread) until `cond` holds; false if `limit` passed first.
pub(crate) fn spin_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// Burns CPU for `d` without sleeping (keeps the thread busy, like a CPU-bound poll).
pub(crate) fn busy_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A runtime with `workers` worker threads and the given thread-name prefix.
pub(crate) fn runtime(workers: usize, name: &str) -> filch::Runtime {
    filch::Builder::new()
        .worker_threads(workers)
        .thread_name(name)
        .build()
        .expect("cannot build the runtime")
}

/// Wakes a thread parked in [`block_on_plain`].
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` to completion on this thread, parking it between polls: an executor that belongs
/// to no runtime, for what must work when polled off-runtime (the future's resources still need
/// their runtime alive to wake it).
pub(crate) fn block_on_plain<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A runtime of `flavor` ("current_thread", or anything else for a multi-thread one with
/// `workers` workers) whose clock starts paused.
pub(crate) fn paused_runtime(flavor: &str, workers: usize) -> filch::Runtime {
    let mut builder = match flavor {
        "current_thread" => filch::Builder::new_current_thread(),
        _ => {
            let mut b = filch::Builder::new();
            b.worker_threads(workers);
            b
        }
    };
    builder
        .start_paused(true)
        .build()
        .expect("cannot build the runtime")
}

/// The budget rule for a sync primitive: on a 1-worker runtime, task A spawns task B (queued
/// behind A on the only worker) and then runs `body`, which awaits an always-ready wait in a
/// bounded loop and reads the flag that B sets. `body` returns whether it saw the flag set before
/// its last iteration: true means the budget made A yield to B midway.
pub(crate) fn queued_task_runs_during<F, Fut>(body: F) -> bool
where
    F: FnOnce(Arc<std::sync::atomic::AtomicBool>) -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let rt = runtime(1, "budget");
    rt.block_on(async move {
        filch::spawn(async move {
            let b_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let b = filch::spawn({
                let b_ran = b_ran.clone();
                async move { b_ran.store(true, Ordering::SeqCst) }
            });
            let midway = body(b_ran.clone()).await;
            b.await.unwrap();
            assert!(b_ran.load(Ordering::SeqCst));
            midway
        })
        .await
        .unwrap()
    })
}

/// A fresh directory for one test (`filch-fs-{name}-{pid}` in the temp dir), removed when
/// dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("filch-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cannot create the test's directory");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// `name` in the directory.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `pid`'s state letter and parent pid, from `/proc/<pid>/stat` (Linux); `None` once it is gone.
fn proc_state_and_parent(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.to_owned();
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` still exists as a child of this process, running or zombie.
pub(crate) fn is_our_child(pid: u32) -> bool {
    proc_state_and_parent(pid).is_some_and(|(_, ppid)| ppid == std::process::id())
}

/// Whether `pid` is a zombie child of this process (state `Z`, our pid as its parent).
pub(crate) fn is_our_zombie(pid: u32) -> bool {
    proc_state_and_parent(pid)
        .is_some_and(|(state, ppid)| state == "Z" && ppid == std::process::id())
}
