//! The three runtimes behind one small interface, so that every workload is written once and runs
//! the same code on each: filch, tokio (multi-thread scheduler) and smol (an `async-executor`
//! `Executor` run by `workers` threads, with `async-io` for timers and sockets).
//!
//! `block_on` never runs tasks on the calling thread for any of the three: the measured work
//! runs on exactly `workers` threads. With `workers == 0` (`--workers ct`) each is its
//! single-threaded flavour, run by one thread of its own ([`DriverThread`]; smol: one executor
//! thread). What each runtime offers natively for the combinator
//! workloads (a group of tasks, `select!`) is in [`Rt::group`] and [`Rt::select_loop`]; TCP echo
//! and the HTTP servers use each runtime's own sockets ([`Rt::echo`], [`Rt::with_http_server`]):
//! the hyper server hands them to hyper as each runtime's users do (filch: the stream itself;
//! tokio: hyper-util's `TokioIo`; smol: smol-hyper's `FuturesIo`).

#[macro_use]
mod io;
mod filch;
mod smol;
mod tokio;

pub(crate) use self::filch::Filch;
pub(crate) use self::smol::Smol;
pub(crate) use self::tokio::Tokio;
pub(crate) use io::{heap_in_use, EchoRun, HttpServer, ManyConnections};

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) trait Rt: Clone + Send + Sync + 'static {
    const NAME: &'static str;
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;

    fn new(workers: usize) -> Self;
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawns from anywhere: inside a task of this runtime, the task goes to the local queue.
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;
    fn yield_now() -> impl Future<Output = ()> + Send;
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
    /// `None` if `future` did not finish within `duration`.
    fn timeout<F: Future + Send>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Option<F::Output>> + Send;
    /// `join_all` as users of this runtime write it.
    fn join_all<F: Future + Send>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> + Send
    where
        F::Output: Send;
    /// Spawns `n` tasks (each awaiting `make(i)`) into this runtime's task group and waits for
    /// all: filch's `TaskGroup`, tokio's `JoinSet`, smol's `Vec<Task>`.
    fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> impl Future<Output = usize> + Send;
    /// `rounds` two-branch selects, with this runtime's `select!` (smol: `future::or`).
    fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> impl Future<Output = usize> + Send;
    /// `connections` clients each making `round_trips` echo round trips of `size` bytes against
    /// a server on this runtime, over loopback TCP.
    fn echo(&self, connections: usize, round_trips: usize, size: usize) -> EchoRun;
    /// Serves HTTP/1.1 hello-world (with `server`) on loopback while `load` runs (on this thread)
    /// against its address, then stops the server.
    fn with_http_server<T>(&self, server: HttpServer, load: impl FnOnce(SocketAddr) -> T) -> T;
    /// The many-connections run (`c100k`): `n` loopback connections opened one after another,
    /// held idle, then one 64-byte message down each and every echo back.
    fn many_connections(&self, n: usize) -> ManyConnections;
    /// Spawns `n` tasks that are not `Send` (each holds an `Rc`) with this runtime's local
    /// spawn, each yielding once, and joins them, all on the calling thread: filch's
    /// `spawn_local` inside `block_on`, tokio's `LocalSet::run_until`, smol's `LocalExecutor`
    /// (local tasks run where they were spawned, so this is the one workload whose tasks run on
    /// the calling thread). Returns what the tasks counted, `n`.
    fn local_tasks(&self, n: usize) -> usize;
    /// `rounds` round trips of a Unix signal: a task raises it at its own thread and waits for
    /// it on this runtime's signal listener, which it opened first. Each runtime has a signal of
    /// its own (filch SIGUSR1, tokio SIGUSR2, smol SIGWINCH through `async-signal`), so that no
    /// runtime's handler or wake-up pipe sees another's signals.
    fn signal_round_trips(&self, rounds: usize);

    /// The sending end of this runtime's bounded channel (filch `sync::mpmc`, tokio `sync::mpsc`,
    /// smol `channel`, which is async-channel).
    type Tx<T: Send + 'static>: Clone + Send + Sync + 'static;
    /// The receiving end.
    type Rx<T: Send + 'static>: Send + 'static;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send + '_;
    /// `None` once the channel is closed and empty.
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>)
        -> impl Future<Output = Option<T>> + Send + '_;
    /// This runtime's asynchronous mutex (filch `sync::Mutex`, tokio `sync::Mutex`, smol `lock`'s,
    /// which is async-lock's).
    type Mutex: Send + Sync + 'static;
    fn mutex() -> Self::Mutex;
    /// Locks, adds one to the `u64` inside, unlocks.
    fn increment(mutex: &Self::Mutex) -> impl Future<Output = ()> + Send + '_;
    /// This runtime's semaphore (filch `sync::Semaphore`, tokio's, smol `lock`'s).
    type Semaphore: Send + Sync + 'static;
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Runs `future` while holding one permit.
    fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'a;
    /// This runtime's oneshot channel, carrying a `usize` (filch `sync::oneshot`, tokio's; smol
    /// has none: `channel::bounded(1)`, which is async-channel, as smol's users write one).
    type OneshotTx: Send + 'static;
    type OneshotRx: Send + 'static;
    fn oneshot() -> (Self::OneshotTx, Self::OneshotRx);
    /// Sends without waiting (smol: `try_send` into the empty channel).
    fn oneshot_send(tx: Self::OneshotTx, value: usize);
    /// `None` if the sender went without sending.
    fn oneshot_recv(rx: Self::OneshotRx) -> impl Future<Output = Option<usize>> + Send;
    /// This runtime's broadcast channel of `u64`s, dropping its oldest message when full as
    /// tokio's does (filch `sync::broadcast`, which is async-broadcast wrapped; tokio's; smol:
    /// async-broadcast with its overflow mode on, what smol users reach for).
    type BroadcastTx: Send + 'static;
    type BroadcastRx: Send + 'static;
    /// A channel holding `cap` messages, with `receivers` receivers made before the first send.
    fn broadcast(cap: usize, receivers: usize) -> (Self::BroadcastTx, Vec<Self::BroadcastRx>);
    /// Sends without waiting: into a full channel, drops the oldest message.
    fn broadcast_send(tx: &Self::BroadcastTx, value: u64);
    fn broadcast_recv(rx: &mut Self::BroadcastRx) -> impl Future<Output = Received> + Send + '_;
    /// tokio's `Notify` for one waiter: `notify_one` wakes the waiter or, if none waits, leaves a
    /// permit that the next `notified` takes (filch `sync::Notify`, tokio's; smol has none:
    /// `FlagEvent`, an event-listener `Event` and a permit flag, as smol users build one).
    type Notify: Send + Sync + 'static;
    fn notify() -> Self::Notify;
    fn notify_one(notify: &Self::Notify);
    fn notified(notify: &Self::Notify) -> impl Future<Output = ()> + Send + '_;
    /// This runtime's reader-writer lock over a `u64` (filch `sync::RwLock`, which is
    /// async-lock's wrapped; tokio's; smol `lock::RwLock`, which is async-lock's).
    type RwLock: Send + Sync + 'static;
    fn rwlock() -> Self::RwLock;
    /// Takes the read lock and returns the value.
    fn read_value(lock: &Self::RwLock) -> impl Future<Output = u64> + Send + '_;
    /// Takes the write lock and adds one.
    fn write_increment(lock: &Self::RwLock) -> impl Future<Output = ()> + Send + '_;
    /// A barrier for `n` tasks (filch `sync::Barrier`, tokio's; smol `lock::Barrier`, which is
    /// async-lock's).
    type Barrier: Send + Sync + 'static;
    fn barrier(n: usize) -> Self::Barrier;
    fn barrier_wait(barrier: &Self::Barrier) -> impl Future<Output = ()> + Send + '_;
    /// An asynchronous once-cell over a `u64` (filch `sync::OnceCell`, tokio's; smol
    /// `lock::OnceCell`, which is async-lock's).
    type OnceCell: Send + Sync + 'static;
    fn once_cell() -> Self::OnceCell;
    /// `get_or_init` with an initialiser that yields once and gives 42.
    fn once_get(cell: &Self::OnceCell) -> impl Future<Output = u64> + Send + '_;
    /// Spawns `true` with this runtime's `process::Command` (smol's is async-process) and waits
    /// for it to exit successfully. Called from a task of this runtime.
    fn spawn_true_and_wait() -> impl Future<Output = ()> + Send;
    /// Pipes `bytes` through `cat`: a task of this runtime writes them to its stdin and closes
    /// it, while this future reads its stdout to the end; then waits for `cat` to exit. Returns
    /// what came out.
    fn through_cat(&self, bytes: Arc<Vec<u8>>) -> impl Future<Output = Vec<u8>> + Send;
    /// This runtime's whole-file read (filch `fs::read`, tokio's; smol `fs`, which is async-fs).
    fn read_file(path: &Path) -> impl Future<Output = Vec<u8>> + Send + '_;
    /// This runtime's whole-file write.
    fn write_file<'a>(path: &'a Path, contents: &'a [u8]) -> impl Future<Output = ()> + Send + 'a;
    /// `rounds` round trips of one byte between two tasks over loopback TCP, each side waiting
    /// with `readable().await` and reading with `try_read` until it has the byte (smol:
    /// async-io's `Async::readable` and a read on `get_ref()`), writing with `write_all`.
    fn try_read_ping_pong(&self, rounds: usize);
}

/// What [`Rt::broadcast_recv`] got.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Message(u64),
    /// The receiver fell behind: this many messages were dropped before it read them.
    Lagged(u64),
    Closed,
}

/// The runtimes' APIs that smol has no counterpart for (filch and tokio only): a watch channel,
/// a cancellation token and a `TcpSocket`. The rows that use them have no smol column.
pub(crate) trait TokioShaped: Rt {
    /// A watch channel of `usize` starting at 0 (filch `sync::watch`, tokio's).
    type WatchTx: Send + Sync + 'static;
    type WatchRx: Send + 'static;
    fn watch() -> (Self::WatchTx, Self::WatchRx);
    fn watch_subscribe(tx: &Self::WatchTx) -> Self::WatchRx;
    fn watch_send(tx: &Self::WatchTx, value: usize);
    /// Waits for a value this receiver has not seen and returns it, marking it seen; `None` once
    /// the sender is gone and the last value was seen.
    fn watch_changed(rx: &mut Self::WatchRx) -> impl Future<Output = Option<usize>> + Send + '_;
    /// A cancellation token (filch `sync::CancellationToken`, tokio-util's).
    type Token: Send + Sync + 'static;
    fn token() -> Self::Token;
    fn child_token(token: &Self::Token) -> Self::Token;
    fn cancel(token: &Self::Token);
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_;
    /// `n` connects one after another, each through `TcpSocket::new_v4`,
    /// `set_reuseaddr(true)` and `connect`, to a listener of this runtime (a `TcpSocket` listening
    /// with a backlog of 1,024) that a task accepts them on; every stream is kept until the last
    /// connect.
    fn socket_connects(&self, n: usize);
}

/// What a local task does: count itself in `count` (an `Rc`, so the task is not `Send`) around
/// one yield.
async fn local_task<Y: Future<Output = ()>>(
    count: std::rc::Rc<std::cell::Cell<usize>>,
    yield_now: Y,
) {
    yield_now.await;
    count.set(count.get() + 1);
}

/// A join handle whose task must not fail (the workloads do not panic).
pub(crate) struct Unwrap<H>(H);

impl<H: Future<Output = Result<T, E>> + Unpin, T, E: std::fmt::Debug> Future for Unwrap<H> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("a study task failed"))
    }
}

/// A current-thread runtime's own thread: inside the runtime's `block_on` until the runtime's
/// last handle goes, so that it runs the tasks while the workloads spawn and wait from the
/// calling thread, as they do with the other flavours (`workers == 0`, `--workers ct`).
pub(crate) struct DriverThread {
    stop: Option<futures_channel::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DriverThread {
    fn start(
        name: &str,
        run: impl FnOnce(futures_channel::oneshot::Receiver<()>) + Send + 'static,
    ) -> Arc<DriverThread> {
        let (stop, stopped) = futures_channel::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(stopped))
            .expect("driver thread");
        Arc::new(DriverThread {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for DriverThread {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
