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

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Per-connection round-trip times of an echo run, and its total time.
pub(crate) struct EchoRun {
    pub(crate) total: Duration,
    pub(crate) round_trips: Vec<Duration>,
}

/// What [`Rt::many_connections`] measured.
pub(crate) struct ManyConnections {
    /// Opening all the connections (each connect answered by the server's accept).
    pub(crate) connect: Duration,
    /// One message down each connection, then every echo read.
    pub(crate) sweep: Duration,
    /// Heap bytes in use (glibc `mallinfo2`) with every connection open and idle, minus before
    /// the first connect: both ends, user space only (the kernel's socket buffers are not
    /// counted). NaN without glibc.
    pub(crate) heap: f64,
}

/// glibc's heap bytes in use, over every arena (`mallinfo2`); `None` elsewhere.
pub(crate) fn heap_in_use() -> Option<f64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallinfo2` has no preconditions; it reads the allocator's statistics under
        // its arena locks and returns them by value.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as f64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// The listeners of the many-connections run: one per loopback address 127.0.0.1 to .4, so that
/// the clients' ephemeral ports (about 28,000 on Linux) are spent per destination.
pub(crate) const MANY_LISTENERS: usize = 4;

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
}

/// Raises `signal` at the calling thread: its handler has run when this returns.
fn raise(signal: libc::c_int) {
    // SAFETY: `raise` has no memory-safety preconditions; the runtime under test has installed
    // a handler for `signal` (it opened its listener first), so the default action (for
    // SIGUSR1 and SIGUSR2, ending the process) cannot happen.
    let rc = unsafe { libc::raise(signal) };
    assert_eq!(rc, 0, "raise({signal}) failed");
}

/// `Rt::signal_round_trips` for a runtime whose signal module (`$module`, with tokio's API:
/// `signal(SignalKind::$kind())`, `recv().await`) listens for `$signal`, in a spawned task.
macro_rules! signal_round_trips {
    ($module:path, $kind:ident, $signal:ident) => {
        fn signal_round_trips(&self, rounds: usize) {
            use $module::{signal, SignalKind};
            let task = self.0.spawn(async move {
                let mut signals = signal(SignalKind::$kind()).expect(stringify!($signal));
                for _ in 0..rounds {
                    raise(libc::$signal);
                    signals.recv().await.expect(stringify!($signal));
                }
            });
            self.0.block_on(task).unwrap();
        }
    };
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

/// Which HTTP/1.1 server [`Rt::with_http_server`] runs: one task per connection either way,
/// spawned with the runtime's own spawn.
#[derive(Clone, Copy)]
pub(crate) enum HttpServer {
    /// The hand-written responder ([`http_connection!`]): the runtime's socket cost alone.
    Raw,
    /// hyper 1.x (`http1::Builder` with its defaults: keep-alive, no timer) serving
    /// [`hyper_hello`] ([`hyper_connection!`]), through each runtime's own hyper I/O glue.
    #[cfg(feature = "hyper")]
    Hyper,
}

const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One keep-alive connection: answers every request (a blank line ends each) with `HELLO`, in
/// one write per read (pipelined requests included). Not an HTTP implementation; the same
/// responder for every runtime.
macro_rules! http_connection {
    ($stream:expr) => {{
        let mut stream = $stream;
        let mut buf = vec![0u8; 8192];
        let mut pending = 0;
        let mut out = Vec::new();
        loop {
            let n = match stream.read(&mut buf[pending..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending += n;
            let mut start = 0;
            while let Some(end) = find(&buf[start..pending], b"\r\n\r\n") {
                out.extend_from_slice(HELLO);
                start += end + 4;
            }
            buf.copy_within(start..pending, 0);
            pending -= start;
            if !out.is_empty() {
                if stream.write_all(&out).await.is_err() {
                    break;
                }
                out.clear();
            }
            if pending == buf.len() {
                break;
            }
        }
    }};
}

/// The hyper server's handler, the same on every runtime: a 200 with `HELLO`'s body and headers
/// (hyper adds `content-length` from the body, and its `date`).
#[cfg(feature = "hyper")]
async fn hyper_hello(
    _: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    let mut response = hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(b"Hello world!"),
    ));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

/// One keep-alive connection served by hyper: `$io` is the stream as this runtime's users hand
/// it to hyper. The same `http1::Builder` (its defaults: keep-alive on, no timer, no executor
/// needed for HTTP/1.1) and the same handler for every runtime.
#[cfg(feature = "hyper")]
macro_rules! hyper_connection {
    ($io:expr) => {{
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection($io, hyper::service::service_fn(hyper_hello))
            .await;
    }};
}

/// Accepts until `stop` is set (a last connection wakes the accept), one task per connection,
/// each running `$serve` (written `|stream| body`: the connection task's body, given the stream).
macro_rules! http_run {
    ($rt:expr, $load:expr, $bind:expr, |$stream:ident| $serve:expr) => {{
        let rt = $rt.clone();
        let listener = $rt.block_on($bind);
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let conn_rt = rt.clone();
        let server = rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                conn_rt.spawn_detached(async move {
                    let $stream = stream;
                    $serve
                });
            }
        });
        let out = $load(addr);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(std::net::TcpStream::connect(addr));
        rt.block_on(server);
        out
    }};
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

/// Round trips of one client: `round_trips` writes and exact reads, each timed.
macro_rules! echo_client {
    ($stream:expr, $round_trips:expr, $size:expr) => {{
        let mut stream = $stream;
        let out = vec![7u8; $size];
        let mut back = vec![0u8; $size];
        let mut times = Vec::with_capacity($round_trips);
        for _ in 0..$round_trips {
            let start = Instant::now();
            stream.write_all(&out).await.unwrap();
            stream.read_exact(&mut back).await.unwrap();
            times.push(start.elapsed());
        }
        times
    }};
}

/// The server side: echo until the client closes.
macro_rules! echo_server {
    ($stream:expr) => {{
        let mut stream = $stream;
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    }};
}

/// Runs a whole echo measurement on runtime `$rt` with listener and stream types given.
macro_rules! echo_run {
    ($rt:expr, $connections:expr, $round_trips:expr, $size:expr, $bind:expr, $connect:path) => {{
        let rt = $rt.clone();
        let (connections, round_trips, size) = ($connections, $round_trips, $size);
        $rt.block_on(async move {
            let listener = $bind.await;
            let addr = listener.local_addr().unwrap();
            let accept_rt = rt.clone();
            let server = rt.spawn(async move {
                for _ in 0..connections {
                    let (stream, _) = listener.accept().await.unwrap();
                    accept_rt.spawn_detached(async move { echo_server!(stream) });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..connections)
                .map(|_| {
                    rt.spawn(async move {
                        let stream = $connect(addr).await.unwrap();
                        echo_client!(stream, round_trips, size)
                    })
                })
                .collect();
            let mut round_trips = Vec::with_capacity(connections * round_trips);
            for client in clients {
                round_trips.extend(client.await);
            }
            let total = start.elapsed();
            server.await;
            EchoRun { total, round_trips }
        })
    }};
}

/// Runs [`Rt::many_connections`] on runtime `$rt` with listener and stream types given.
macro_rules! many_run {
    ($rt:expr, $n:expr, $Listener:ty, $Stream:ty) => {{
        let rt = $rt.clone();
        let n: usize = $n;
        $rt.block_on(async move {
            let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut addrs = Vec::new();
            let mut servers = Vec::new();
            for i in 0..MANY_LISTENERS {
                let listener = <$Listener>::bind(format!("127.0.0.{}:0", i + 1))
                    .await
                    .unwrap();
                addrs.push(listener.local_addr().unwrap());
                let (accept_rt, accepted) = (rt.clone(), accepted.clone());
                // Each listener takes its share of the connections.
                let share = n / MANY_LISTENERS + usize::from(i < n % MANY_LISTENERS);
                servers.push(rt.spawn(async move {
                    let mut conns = Vec::with_capacity(share);
                    for _ in 0..share {
                        let (stream, _) = listener.accept().await.unwrap();
                        accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // A small buffer: it lives in the task for the connection's life.
                        conns.push(accept_rt.spawn(async move {
                            let mut stream = stream;
                            let mut buf = [0u8; 64];
                            loop {
                                match stream.read(&mut buf).await {
                                    Ok(0) | Err(_) => break,
                                    Ok(k) => {
                                        if stream.write_all(&buf[..k]).await.is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                        }));
                    }
                    for conn in conns {
                        conn.await;
                    }
                }));
            }
            let mut clients: Vec<$Stream> = Vec::with_capacity(n);
            let before = heap_in_use();
            let start = Instant::now();
            for i in 0..n {
                clients.push(<$Stream>::connect(addrs[i % MANY_LISTENERS]).await.unwrap());
            }
            while accepted.load(std::sync::atomic::Ordering::Relaxed) < n {
                <Self as Rt>::sleep(Duration::from_millis(1)).await;
            }
            let connect = start.elapsed();
            // Every server task has had its first poll (it waits in `read`).
            <Self as Rt>::sleep(Duration::from_millis(20)).await;
            let heap = match (before, heap_in_use()) {
                (Some(b), Some(a)) => (a - b) / n as f64,
                _ => f64::NAN,
            };
            let start = Instant::now();
            let msg = [7u8; 64];
            for c in clients.iter_mut() {
                c.write_all(&msg).await.unwrap();
            }
            let mut buf = [0u8; 64];
            for c in clients.iter_mut() {
                c.read_exact(&mut buf).await.unwrap();
            }
            let sweep = start.elapsed();
            drop(clients);
            for server in servers {
                server.await;
            }
            ManyConnections {
                connect,
                sweep,
                heap,
            }
        })
    }};
}

/// The `echo` and `with_http_server` methods of one runtime, from its listener and stream types,
/// how its users hand a stream to hyper (`$hyper_io`), and the traits that give the streams
/// `read`/`write_all`/`read_exact` (if they are not inherent).
macro_rules! socket_methods {
    ($Listener:ty, $Stream:ty, hyper: $hyper_io:expr $(, $io:path)*) => {
        fn echo(&self, connections: usize, round_trips: usize, size: usize) -> EchoRun {
            $(#[allow(unused_imports)] use $io;)*
            async fn bind() -> $Listener {
                <$Listener>::bind("127.0.0.1:0").await.unwrap()
            }
            async fn connect(addr: SocketAddr) -> std::io::Result<$Stream> {
                let stream = <$Stream>::connect(addr).await?;
                stream.set_nodelay(true)?;
                Ok(stream)
            }
            echo_run!(self, connections, round_trips, size, bind(), connect)
        }
        fn many_connections(&self, n: usize) -> ManyConnections {
            $(#[allow(unused_imports)] use $io;)*
            many_run!(self, n, $Listener, $Stream)
        }
        fn with_http_server<T>(&self, server: HttpServer, load: impl FnOnce(SocketAddr) -> T) -> T {
            $(#[allow(unused_imports)] use $io;)*
            let bind = async { <$Listener>::bind("127.0.0.1:0").await.unwrap() };
            match server {
                HttpServer::Raw => http_run!(self, load, bind, |stream| http_connection!(stream)),
                #[cfg(feature = "hyper")]
                HttpServer::Hyper => {
                    http_run!(self, load, bind, |stream| hyper_connection!(($hyper_io)(stream)))
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------

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

#[derive(Clone)]
pub(crate) struct Filch(
    Arc<filch::Runtime>,
    /// Kept for its drop: stops the current-thread runtime's own thread.
    #[allow(dead_code)]
    Option<Arc<DriverThread>>,
);

impl Rt for Filch {
    const NAME: &'static str = "filch";
    type Join<T: Send + 'static> = Unwrap<filch::JoinHandle<T>>;

    fn new(workers: usize) -> Filch {
        if workers == 0 {
            let rt = Arc::new(
                filch::Builder::new_current_thread()
                    .build()
                    .expect("filch runtime"),
            );
            let driven = rt.clone();
            let driver = DriverThread::start("filch-ct", move |stopped| {
                let _ = driven.block_on(stopped);
            });
            return Filch(rt, Some(driver));
        }
        Filch(
            Arc::new(
                filch::Builder::new()
                    .worker_threads(workers)
                    .build()
                    .expect("filch runtime"),
            ),
            None,
        )
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(future))
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(self.0.spawn(future));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        filch::yield_now()
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        filch::sleep(duration)
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        filch::timeout(duration, future).await.ok()
    }
    async fn join_all<F: Future + Send>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send,
    {
        filch::join_all(futures).await
    }
    async fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let group = filch::TaskGroup::new();
        for i in 0..n {
            group.spawn(async move { Ok::<_, ()>(make(i).await) });
        }
        group.join().await.unwrap().len()
    }
    async fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut sum = 0;
        for i in 0..rounds {
            filch::select! {
                v = make(i) => sum += v,
                _ = std::future::pending::<()>() => unreachable!(),
            }
        }
        sum
    }
    fn local_tasks(&self, n: usize) -> usize {
        self.0.block_on(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| filch::spawn_local(local_task(count.clone(), filch::yield_now())))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            count.get()
        })
    }
    signal_round_trips!(filch::signal::unix, user_defined1, SIGUSR1);
    // filch's streams implement hyper's `Read`/`Write` themselves (the `hyper` feature).
    socket_methods!(
        filch::net::TcpListener,
        filch::net::TcpStream,
        hyper: |stream: filch::net::TcpStream| stream
    );

    type Tx<T: Send + 'static> = filch::sync::mpmc::Sender<T>;
    type Rx<T: Send + 'static> = filch::sync::mpmc::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        filch::sync::mpmc::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
    type Mutex = filch::sync::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        filch::sync::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = filch::sync::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        filch::sync::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await;
        future.await
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub(crate) struct Tokio(
    Arc<tokio::runtime::Runtime>,
    /// Kept for its drop: stops the current-thread runtime's own thread.
    #[allow(dead_code)]
    Option<Arc<DriverThread>>,
);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;

    fn new(workers: usize) -> Tokio {
        if workers == 0 {
            let rt = Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime"),
            );
            let driven = rt.clone();
            let driver = DriverThread::start("tokio-ct", move |stopped| {
                let _ = driven.block_on(stopped);
            });
            return Tokio(rt, Some(driver));
        }
        Tokio(
            Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("tokio runtime"),
            ),
            None,
        )
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(future))
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(self.0.spawn(future));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        tokio::time::timeout(duration, future).await.ok()
    }
    async fn join_all<F: Future + Send>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send,
    {
        futures_util::future::join_all(futures).await
    }
    async fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { Ok::<_, ()>(make(i).await) });
        }
        let mut done = 0;
        while let Some(result) = set.join_next().await {
            result.unwrap().unwrap();
            done += 1;
        }
        done
    }
    async fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut sum = 0;
        for i in 0..rounds {
            tokio::select! {
                v = make(i) => sum += v,
                _ = std::future::pending::<()>() => unreachable!(),
            }
        }
        sum
    }
    fn local_tasks(&self, n: usize) -> usize {
        let local = tokio::task::LocalSet::new();
        self.0.block_on(local.run_until(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    tokio::task::spawn_local(local_task(count.clone(), tokio::task::yield_now()))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            count.get()
        }))
    }
    signal_round_trips!(tokio::signal::unix, user_defined2, SIGUSR2);
    socket_methods!(
        tokio::net::TcpListener,
        tokio::net::TcpStream,
        hyper: hyper_util::rt::TokioIo::new,
        tokio::io::AsyncReadExt,
        tokio::io::AsyncWriteExt
    );

    type Tx<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await
    }
    type Mutex = tokio::sync::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        tokio::sync::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = tokio::sync::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await.expect("semaphore open");
        future.await
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub(crate) struct Smol(Arc<SmolPool>);

pub(crate) struct SmolPool {
    executor: Arc<smol::Executor<'static>>,
    /// Closing it (on drop) stops the executor threads.
    stop: Option<smol::channel::Sender<()>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.get_mut().unwrap().drain(..) {
            let _ = thread.join();
        }
    }
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Join<T: Send + 'static> = smol::Task<T>;

    fn new(workers: usize) -> Smol {
        // The current-thread column: one thread runs the executor (see `DriverThread`).
        let workers = workers.max(1);
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|i| {
                let (executor, stopped) = (executor.clone(), stopped.clone());
                std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        let _ = smol::block_on(executor.run(stopped.recv()));
                    })
                    .expect("smol thread")
            })
            .collect();
        Smol(Arc::new(SmolPool {
            executor,
            stop: Some(stop),
            threads: Mutex::new(threads),
        }))
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.executor.spawn(future)
    }
    fn spawn_detached<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.0.executor.spawn(future).detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }
    async fn timeout<F: Future + Send>(duration: Duration, future: F) -> Option<F::Output> {
        smol::future::or(async { Some(future.await) }, async {
            smol::Timer::after(duration).await;
            None
        })
        .await
    }
    async fn join_all<F: Future + Send>(futures: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send,
    {
        futures_util::future::join_all(futures).await
    }
    async fn group<F: Future<Output = usize> + Send + 'static>(
        &self,
        n: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let tasks: Vec<_> = (0..n).map(|i| self.0.executor.spawn(make(i))).collect();
        let mut done = 0;
        for task in tasks {
            task.await;
            done += 1;
        }
        done
    }
    async fn select_loop<F: Future<Output = usize> + Send>(
        rounds: usize,
        make: fn(usize) -> F,
    ) -> usize {
        let mut sum = 0;
        for i in 0..rounds {
            sum += smol::future::or(make(i), std::future::pending()).await;
        }
        sum
    }
    // smol-hyper's adapter from `futures-io`: it zeroes hyper's read buffer before every read
    fn local_tasks(&self, n: usize) -> usize {
        let local = smol::LocalExecutor::new();
        smol::block_on(local.run(async {
            let count = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..n)
                .map(|_| local.spawn(local_task(count.clone(), smol::future::yield_now())))
                .collect();
            for task in tasks {
                task.await;
            }
            count.get()
        }))
    }
    fn signal_round_trips(&self, rounds: usize) {
        use async_signal::{Signal, Signals};
        use smol::stream::StreamExt;
        let task = self.0.executor.spawn(async move {
            let mut signals = Signals::new([Signal::Winch]).expect("SIGWINCH listener");
            for _ in 0..rounds {
                raise(libc::SIGWINCH);
                signals.next().await.expect("SIGWINCH").expect("SIGWINCH");
            }
        });
        smol::block_on(task);
    }
    // (`futures-io` reads take an initialised slice) and leaves `is_write_vectored` false.
    socket_methods!(
        smol::net::TcpListener,
        smol::net::TcpStream,
        hyper: smol_hyper::rt::FuturesIo::new,
        smol::io::AsyncReadExt,
        smol::io::AsyncWriteExt
    );

    type Tx<T: Send + 'static> = smol::channel::Sender<T>;
    type Rx<T: Send + 'static> = smol::channel::Receiver<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        smol::channel::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        assert!(tx.send(value).await.is_ok(), "receiver alive");
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
    type Mutex = smol::lock::Mutex<u64>;
    fn mutex() -> Self::Mutex {
        smol::lock::Mutex::new(0)
    }
    async fn increment(mutex: &Self::Mutex) {
        *mutex.lock().await += 1;
    }
    type Semaphore = smol::lock::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        smol::lock::Semaphore::new(permits)
    }
    async fn with_permit<'a, F: Future + Send + 'a>(
        semaphore: &'a Self::Semaphore,
        future: F,
    ) -> F::Output {
        let _permit = semaphore.acquire().await;
        future.await
    }
}
