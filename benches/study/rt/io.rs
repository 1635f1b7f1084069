//! Each runtime's own I/O, written once as macros that every runtime's `Rt` impl expands with its
//! own types: the signal round trips, TCP echo, the many-connections run and the HTTP servers.

use std::time::Duration;

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

/// Raises `signal` at the calling thread: its handler has run when this returns.
pub(super) fn raise(signal: libc::c_int) {
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

pub(super) const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!";

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
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
pub(super) async fn hyper_hello(
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

/// `Rt::try_read_ping_pong` for a runtime whose stream has tokio's `readable`/`try_read` and a
/// `write_all` (inherent, or from the traits `$io`).
macro_rules! try_read_ping_pong {
    ($Listener:ty, $Stream:ty $(, $io:path)*) => {
        fn try_read_ping_pong(&self, rounds: usize) {
            $(#[allow(unused_imports)] use $io;)*
            /// One byte: `readable().await`, then `try_read`, again while it says `WouldBlock`.
            async fn read_byte(stream: &$Stream) -> u8 {
                let mut byte = [0u8; 1];
                loop {
                    stream.readable().await.unwrap();
                    match stream.try_read(&mut byte) {
                        Ok(1) => return byte[0],
                        Ok(_) => panic!("the peer closed the stream"),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(e) => panic!("try_read: {e}"),
                    }
                }
            }
            let rt = self.clone();
            self.block_on(self.spawn(async move {
                let listener = <$Listener>::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let echo = rt.spawn(async move {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    for _ in 0..rounds {
                        let byte = read_byte(&stream).await;
                        stream.write_all(&[byte]).await.unwrap();
                    }
                });
                let mut stream = <$Stream>::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                for i in 0..rounds {
                    stream.write_all(&[i as u8]).await.unwrap();
                    assert_eq!(read_byte(&stream).await, i as u8);
                }
                echo.await;
            }));
        }
    };
}

/// `TokioShaped::socket_connects` for a runtime with tokio's `TcpSocket` API.
///
/// The listener is made with `TcpSocket` too, for its backlog: `bind`'s is std's 128, and
/// 200 connects made faster than the accept task takes them overflowed it, the kernel dropped
/// the SYN and the connect waited for its retransmission, 1 s later (`nstat`'s
/// `TcpExtListenOverflows` counted one per such sample, on both runtimes).
macro_rules! socket_connects {
    ($Socket:ty) => {
        fn socket_connects(&self, n: usize) {
            let rt = self.clone();
            self.block_on(self.spawn(async move {
                let listening = <$Socket>::new_v4().unwrap();
                listening.set_reuseaddr(true).unwrap();
                listening.bind(([127, 0, 0, 1], 0).into()).unwrap();
                let listener = listening.listen(1_024).unwrap();
                let addr = listener.local_addr().unwrap();
                let acceptor = rt.spawn(async move {
                    let mut accepted = Vec::with_capacity(n);
                    for _ in 0..n {
                        accepted.push(listener.accept().await.unwrap().0);
                    }
                    accepted
                });
                let mut streams = Vec::with_capacity(n);
                for _ in 0..n {
                    let socket = <$Socket>::new_v4().unwrap();
                    socket.set_reuseaddr(true).unwrap();
                    streams.push(socket.connect(addr).await.unwrap());
                }
                assert_eq!(acceptor.await.len(), n);
            }));
        }
    };
}
