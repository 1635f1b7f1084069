//! # filch
//!
//! A multi-threaded, work-stealing async runtime with the programming model of Python's asyncio,
//! on every core.
//!
//! | asyncio | filch |
//! |---|---|
//! | `asyncio.run(main())` | [`filch::run(main())`](run) |
//! | `await coro` | `fut.await` |
//! | `asyncio.create_task(coro)` | [`filch::spawn(fut)`](spawn) → [`JoinHandle`]; named: [`task::Builder`] |
//! | `asyncio.gather(*aws)` | [`join_all`], [`try_join_all`], [`join!`], [`try_join!`] |
//! | `asyncio.as_completed(aws)` | [`as_completed`] |
//! | `asyncio.wait(tasks, return_when=...)` | [`wait`] with [`ReturnWhen`] |
//! | first of several | [`select!`], [`select()`], [`race`] |
//! | `asyncio.TaskGroup()` | [`TaskGroup`] ([`TaskGroup::scope`], [`GroupError`]) |
//! | a class with `__await__` | a type that implements [`Future`](std::future::Future) |
//! | `task.cancel()` | [`JoinHandle::abort`] |
//! | `await asyncio.sleep(0)` | [`filch::yield_now().await`](yield_now) |
//! | `await asyncio.sleep(d)` | [`filch::sleep(d).await`](sleep) |
//! | `asyncio.wait_for(aw, t)` / `asyncio.timeout(t)` | [`filch::timeout(t, fut).await`](timeout) |
//! | `asyncio.to_thread(f)` | [`filch::spawn_blocking(f)`](spawn_blocking) |
//! | files (`aiofiles`) | [`fs::read`], [`fs::write`], ...; [`fs::File`] (buffered), [`fs::read_dir`] |
//! | `loop.add_signal_handler(SIGINT, ...)` | [`filch::signal::ctrl_c().await`](signal::ctrl_c), [`signal::unix::signal`] (Unix) |
//! | one event loop on one thread | [`Builder::new_current_thread`]; non-`Send` tasks: [`spawn_local`] |
//! | a fake clock in tests | [`time::pause`], [`time::advance`], [`time::resume`], [`time::now`], [`Builder::start_paused`] |
//!
//! Unlike asyncio, tasks run on a pool of worker threads (one per core by default); a worker
//! that runs out of tasks steals queued ones from a busy worker.
//!
//! ```
//! async fn fetch(n: u64) -> u64 {
//!     filch::yield_now().await; // stand-in for real I/O
//!     n * 2
//! }
//!
//! let total = filch::run(async {
//!     // Both tasks start at once and run in parallel on the workers.
//!     let a = filch::spawn(fetch(10));
//!     let b = filch::spawn(fetch(11));
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 42);
//! ```
//!
//! For control over the runtime, build one with [`Builder`] and use [`Runtime::block_on`],
//! [`Runtime::spawn`] and [`Handle`]. A panicking task never takes its worker down: its
//! [`JoinHandle`] returns a [`JoinError`] for which [`JoinError::is_panic`] is true.
//!
//! Programs and tests can also be written as an `async fn`, with the [`main`] and [`test`]
//! attributes:
//!
//! ```
//! # #[cfg(feature = "macros")]
//! #[filch::main]
//! async fn main() {
//!     let task = filch::spawn(async { 6 * 7 });
//!     assert_eq!(task.await.unwrap(), 42);
//! }
//! # #[cfg(not(feature = "macros"))]
//! # fn main() {}
//! ```
//!
//! # Cargo features
//!
//! - `macros` (default): the attributes [`#[filch::main]`](main) and [`#[filch::test]`](test),
//!   from the `filch-macros` crate. They cost a build of `syn` (with its `full` parser), `quote`
//!   and `proc-macro2`, once per clean build: a clean `cargo build --release` of a small program
//!   took 23.3 s with the feature and 15.4 s without it with one build job (means of two runs),
//!   12.3 s and 9.1 s with two jobs, on a 2-core machine; a rebuild after a change of the program
//!   costs nothing more. Without it (`default-features = false`), start the runtime with [`run`] or a
//!   [`Builder`].
//! - `hyper` (off): hyper 1.x support. The streams ([`TcpStream`](net::TcpStream), its halves,
//!   [`UnixStream`](net::UnixStream)) implement `hyper::rt::Read` and `Write`, so they go to
//!   hyper as they are; the module `filch::hyper` has `FilchExecutor` (hyper's `Executor`, for
//!   HTTP/2 and hyper-util) and `FilchTimer` (its `Timer`, for the header-read, keep-alive and
//!   HTTP/2 ping timeouts). It costs a build of hyper without any of its features (only its `rt`
//!   traits are used: no HTTP code), with `http`, `http-body`, `bytes` and tokio's `sync`
//!   module, which hyper always depends on (no tokio runtime): a clean `cargo build --release`
//!   of a small program took 27.5 s with the feature and 17.5 s without it, with one build job
//!   on a 2-core machine (both without `macros`). The HTTP code itself
//!   (hyper's `http1`, `http2`, `server`, `client` features, hyper-util, a framework) is the
//!   program's to choose, and to pay for. Nothing else changes without the feature: the
//!   streams' reads are the same code either way.
//!
//! The crate is a facade: the runtime lives in `filch-runtime`, the I/O and timer reactor in
//! `filch-reactor`, the attributes in `filch-macros`.

#![deny(unsafe_code)]

pub use filch_runtime::{join, try_join};

pub use filch_runtime::{
    as_completed, join_all, race, run, select, spawn, spawn_blocking, spawn_local, try_join_all,
    wait, yield_now, AsCompleted, Builder, Either, EnterGuard, Failure, GroupError, Handle, Id,
    JoinAll, JoinError, JoinHandle, Race, ReturnWhen, Runtime, RuntimeMetrics, Scope, Select,
    SlowPoll, TaskDump, TaskGroup, TaskInfo, TaskResult, TaskState, Timeline, TimelineEvent,
    TryCurrentError, TryJoinAll, Wait, Waited, WorkerMetrics, YieldNow,
};

#[cfg(feature = "macros")]
pub use filch_macros::{main, test};

pub use filch_reactor::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};

/// Timers: [`sleep`], [`timeout`], [`interval`] and their futures.
pub mod time {
    pub use filch_reactor::time::*;
}

/// Sockets: TCP, UDP and (on Unix) Unix domain sockets, with `futures_io::AsyncRead` and
/// `AsyncWrite` on the streams. See [`net::TcpListener`] for an echo server.
pub mod net {
    pub use filch_reactor::net::*;
}

/// Unix signals: [`signal::ctrl_c`] and, for any signal, [`signal::unix::signal`].
///
/// Listening for a signal installs a process-wide handler that stays for the life of the
/// process: after the first `ctrl_c()` is polled, Ctrl-C no longer kills the program, which must
/// exit by itself. See the [`ctrl_c`](signal::ctrl_c) docs and `examples/signals.rs`.
#[cfg(unix)]
pub mod signal {
    pub use filch_reactor::signal::*;
}

/// Child processes (asyncio's `create_subprocess_exec`): [`process::Command`] and
/// [`process::Child`], whose exit is awaited without a thread per child and whose pipes are
/// `futures_io` streams. See `examples/subprocess.rs`.
#[cfg(unix)]
pub mod process {
    pub use filch_reactor::process::*;
}

/// hyper 1.x on filch (the `hyper` feature): the executor and the timer hyper asks for.
///
/// The sockets need no adapter: [`TcpStream`](net::TcpStream) (and its halves) and
/// [`UnixStream`](net::UnixStream) implement `hyper::rt::Read` and `Write` themselves, reading
/// into hyper's buffers without zeroing them and writing with vectored I/O. What tokio users
/// know from hyper-util as `TokioIo`, `TokioExecutor` and `TokioTimer` is, on filch, the stream
/// itself, [`FilchExecutor`](hyper::FilchExecutor) and [`FilchTimer`](hyper::FilchTimer).
///
/// ```
/// use http_body_util::{BodyExt, Empty, Full};
/// use hyper::body::{Bytes, Incoming};
/// use hyper::{server, client, Request, Response};
/// use filch::hyper::FilchTimer;
/// use filch::net::{TcpListener, TcpStream};
/// use std::time::Duration;
///
/// async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
///     Ok(Response::new(Full::new(Bytes::from("hello from filch"))))
/// }
///
/// filch::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     filch::spawn(async move {
///         let (stream, _) = listener.accept().await?;
///         server::conn::http1::Builder::new()
///             .timer(FilchTimer::new())
///             .header_read_timeout(Duration::from_secs(5))
///             .serve_connection(stream, hyper::service::service_fn(hello))
///             .await
///             .map_err(std::io::Error::other)
///     });
///
///     let stream = TcpStream::connect(addr).await?;
///     let (mut sender, conn) = client::conn::http1::handshake(stream).await.unwrap();
///     filch::spawn(conn);
///     let request = Request::get("/").body(Empty::<Bytes>::new()).unwrap();
///     let response = sender.send_request(request).await.unwrap();
///     let body = response.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, "hello from filch");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
#[cfg(feature = "hyper")]
pub mod hyper {
    pub use filch_reactor::hyper::FilchTimer;
    pub use filch_runtime::hyper::FilchExecutor;
}

/// Streams: the `futures-io` traits that filch's sockets and [`fs::File`] implement, with the
/// extension methods and helpers a program needs — `read_to_end`, `write_all`, `seek`, buffered
/// readers and writers, lines, `copy`, `split` (a method of `AsyncReadExt`) — so that a
/// line-based server needs no other dependency.
///
/// Re-exported from [futures-util](https://docs.rs/futures-util) (futures-rs, the ecosystem's
/// common toolkit), rather than written again: these work with any `AsyncRead`/`AsyncWrite`,
/// filch's or not. (futures-lite, smaller, was tried first: its `read_line` overwrites the
/// string instead of appending to it as `std`'s does, which a doc test here caught.) Each call on a
/// filch socket or file goes through its own `poll_read`/`poll_write`, which take part in the
/// cooperative budget.
///
/// ```
/// use filch::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// use filch::net::{TcpListener, TcpStream};
///
/// filch::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = filch::spawn(async move {
///         let (stream, _) = listener.accept().await?;
///         let (read, mut write) = stream.into_split();
///         let mut read = BufReader::new(read);
///         let mut line = String::new();
///         while read.read_line(&mut line).await? > 0 {
///             write.write_all(line.to_uppercase().as_bytes()).await?;
///             line.clear();
///         }
///         Ok::<_, std::io::Error>(())
///     });
///     let mut client = BufReader::new(TcpStream::connect(addr).await?);
///     client.get_mut().write_all(b"hello\nworld\n").await?;
///     let mut reply = String::new();
///     client.read_line(&mut reply).await?;
///     client.read_line(&mut reply).await?;
///     assert_eq!(reply, "HELLO\nWORLD\n");
///     drop(client);
///     server.await.unwrap()
/// })
/// .unwrap();
/// ```
pub mod io {
    pub use futures_util::io::{
        copy, copy_buf, empty, repeat, sink, AsyncBufRead, AsyncBufReadExt, AsyncRead,
        AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
        Chain, Cursor, Empty, Error, ErrorKind, IoSlice, IoSliceMut, LineWriter, Lines, ReadHalf,
        Repeat, Result, ReuniteError, SeekFrom, Sink, Take, WriteHalf,
    };
}

/// Files and directories, asynchronously, on the blocking pool: whole-file calls, a buffered
/// [`fs::File`] (`AsyncRead`, `AsyncWrite`, `AsyncSeek`; one hand-off to the pool per 64 KiB,
/// however small the reads and writes), [`fs::read_dir`] in batches of 32 entries; every error
/// names its path. See the module's page for the design and the cost.
pub mod fs {
    pub use filch_runtime::fs::*;
}

/// Queues, locks and signals between tasks: [`sync::Queue`] (asyncio's), [`sync::mpmc`],
/// [`sync::oneshot`], [`sync::watch`] and [`sync::broadcast`] channels, [`sync::Mutex`],
/// [`sync::RwLock`], [`sync::Semaphore`], [`sync::Event`], [`sync::Notify`],
/// [`sync::Condition`], [`sync::Barrier`], [`sync::OnceCell`], [`sync::CancellationToken`]. See
/// the module's page for the asyncio and tokio names and what each wait leaves behind when it is
/// cancelled.
pub mod sync {
    pub use filch_runtime::sync::*;
}

/// Task types: join handles, ids and errors; the cooperative budget ([`task::unconstrained`],
/// [`task::consume_budget`]).
pub mod task {
    pub use filch_runtime::task::{Builder, Id, JoinError, JoinHandle};
    pub use filch_runtime::{
        block_in_place, consume_budget, spawn, spawn_blocking, spawn_local, unconstrained,
        yield_now, Unconstrained, YieldNow,
    };
}

/// What `#[filch::test]` expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use filch_runtime::__private::run_test;
}
