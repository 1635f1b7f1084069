//! A hyper HTTP/1.1 server on filch, with a graceful shutdown.
//!
//! - `GET /` answers "Hello, world!"; `POST /echo` streams the request's body back as it
//!   arrives; `GET /delay/MS` answers after MS milliseconds (to try the shutdown with requests in
//!   flight).
//! - Each connection is a task of a supervisor `TaskGroup` (a failed connection is reported, the
//!   others go on), with hyper's header-read timeout on `FilchTimer`.
//! - On Ctrl-C (`SIGINT`) or `SIGTERM`: stop accepting (the listener is closed), ask every
//!   connection to shut down gracefully (hyper's `graceful_shutdown`: an idle keep-alive
//!   connection closes at once, a busy one after its response), give them `GRACE` to finish,
//!   close the rest, and print a summary.
//!
//! `cargo run --example hyper_server --features hyper`, then `curl http://127.0.0.1:3000/`,
//! `curl --data-binary @Cargo.toml http://127.0.0.1:3000/echo`, and Ctrl-C.
//!
//! `cargo run --example hyper_server --features hyper -- --self-test` serves on a free port,
//! makes requests to it with a hyper client, two of them still in flight (one short enough to
//! finish within the grace period, one not) when it raises `SIGINT` at itself, then checks the
//! summary and that the listener is closed; it exits with an error if anything is off (CI runs
//! it).

use filch::hyper::FilchTimer;
use filch::net::{TcpListener, TcpStream};
use filch::signal::unix::{signal, SignalKind};
use filch::TaskGroup;
use futures_channel::oneshot;
use futures_util::future::{FutureExt, Shared};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long connections get to finish their requests once the shutdown starts.
const GRACE: Duration = Duration::from_secs(2);

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// What the server counts, for the summary.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicU64,
    cut: AtomicU64,
}

/// Resolves, with the shutdown deadline, once the shutdown starts: cloned into every connection.
type Stop = Shared<oneshot::Receiver<Instant>>;

type Body = BoxBody<Bytes, hyper::Error>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let body = Full::new(body.into()).map_err(|never| match never {});
    let mut response = Response::new(body.boxed());
    *response.status_mut() = status;
    response
}

async fn route(req: Request<Incoming>, stats: Arc<Stats>) -> Result<Response<Body>, Infallible> {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    stats.in_flight.fetch_add(1, Ordering::SeqCst);
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, world!\n"),
        // The request's body is the response's, streamed back as it arrives.
        (&Method::POST, "/echo") => Response::new(req.into_body().boxed()),
        (&Method::GET, path) if path.starts_with("/delay/") => {
            match path["/delay/".len()..].parse::<u64>() {
                Ok(ms) => {
                    filch::sleep(Duration::from_millis(ms)).await;
                    text(StatusCode::OK, format!("waited {ms} ms\n"))
                }
                Err(_) => text(StatusCode::BAD_REQUEST, "usage: /delay/MILLISECONDS\n"),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "try / , /echo or /delay/MS\n"),
    };
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok(response)
}

/// Serves one connection until it ends or, once the shutdown starts, until it has shut down
/// gracefully or the deadline passes (then it is closed: dropping the connection closes the
/// socket).
async fn serve_connection(
    stream: TcpStream,
    stats: Arc<Stats>,
    stop: Stop,
) -> Result<(), hyper::Error> {
    let service = service_fn({
        let stats = stats.clone();
        move |req| route(req, stats.clone())
    });
    let mut conn = pin!(http1::Builder::new()
        .timer(FilchTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(stream, service));
    let deadline = filch::select! {
        result = conn.as_mut() => return result,
        deadline = stop => deadline.unwrap_or_else(|_| Instant::now()),
    };
    conn.as_mut().graceful_shutdown();
    match filch::timeout_at(deadline, conn).await {
        Ok(result) => result,
        Err(_) => {
            stats.cut.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// Waits for Ctrl-C or `SIGTERM`; says which.
async fn shutdown_signal() -> io::Result<&'static str> {
    let mut terminate = signal(SignalKind::terminate())?;
    filch::select! {
        result = filch::signal::ctrl_c() => { result?; Ok("Ctrl-C (SIGINT)") }
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

/// Serves on `listener` until a signal, then shuts down, counting in `stats`.
async fn serve(start: Instant, listener: TcpListener, stats: Arc<Stats>) -> io::Result<()> {
    let (stop_tx, stop_rx) = oneshot::channel();
    let stop = stop_rx.shared();
    let connections = TaskGroup::supervisor();
    let mut signalled = pin!(shutdown_signal());
    let why = loop {
        // `biased`: the signal listeners are polled (so installed) before the first connection
        // is accepted, and a signal wins over a connection that arrives with it.
        filch::select! {
            biased;
            why = signalled.as_mut() => break why?,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let n = stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
                    log(start, format!("connection {n} from {peer}"));
                    let _ = stream.set_nodelay(true);
                    connections.spawn_named(
                        format!("connection {n} ({peer})"),
                        serve_connection(stream, stats.clone(), stop.clone()),
                    );
                }
                // Out of descriptors, a connection reset before it was accepted, ...: the
                // listener goes on.
                Err(e) => log(start, format!("accept failed: {e}")),
            },
        }
    };
    drop(listener);
    log(
        start,
        format!(
            "{why}: stopped accepting; {} connection(s) open, {} request(s) in flight; \
             giving them {GRACE:?}",
            connections.len(),
            stats.in_flight.load(Ordering::SeqCst)
        ),
    );
    let _ = stop_tx.send(Instant::now() + GRACE);
    if let Err(errors) = connections.join().await {
        for failure in errors.failures() {
            let what = failure.name().unwrap_or("a connection");
            match failure.as_error() {
                Some(e) => log(start, format!("{what} failed: {e}")),
                None => log(start, format!("{what} panicked")),
            }
        }
    }
    log(
        start,
        format!(
            "shut down: {} connection(s) served, {} request(s), {} connection(s) cut at the \
             deadline",
            stats.connections.load(Ordering::Relaxed),
            stats.requests.load(Ordering::Relaxed),
            stats.cut.load(Ordering::Relaxed)
        ),
    );
    Ok(())
}

#[filch::main]
async fn main() -> io::Result<()> {
    let self_test = std::env::args().any(|arg| arg == "--self-test");
    let start = Instant::now();
    let addr = if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    };
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    log(
        start,
        format!(
            "pid {}: serving http://{addr}/ (also /echo and /delay/MS); Ctrl-C or SIGTERM to stop",
            std::process::id()
        ),
    );
    let stats = Arc::new(Stats::default());
    if !self_test {
        return serve(start, listener, stats).await;
    }

    let server = filch::spawn(serve(start, listener, stats.clone()));
    let client = filch::spawn(self_test_client(start, addr, stats.clone()));
    server.await.expect("the server panicked")?;
    client.await.expect("the client panicked")?;
    let summary = (
        stats.connections.load(Ordering::Relaxed),
        stats.requests.load(Ordering::Relaxed),
        stats.cut.load(Ordering::Relaxed),
    );
    // Three connections: one for `/` and `/echo`, one for each delayed request; the long one
    // is cut.
    if summary != (3, 4, 1) {
        return Err(io::Error::other(format!(
            "self-test: expected (connections, requests, cut) = (3, 4, 1), got {summary:?}"
        )));
    }
    log(start, "self-test passed");
    Ok(())
}

/// A hyper client connection to `addr`.
async fn client_connection(
    addr: SocketAddr,
) -> io::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    drop(filch::spawn(conn));
    Ok(sender)
}

async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    method: Method,
    path: &str,
    body: &'static str,
) -> Result<(StatusCode, Bytes), hyper::Error> {
    sender.ready().await?;
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid request");
    let response = sender.send_request(req).await?;
    let status = response.status();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

/// The self-test's client: two plain requests, then two delayed ones that are in flight when it
/// raises `SIGINT`; checks every answer, and that the listener is closed afterwards.
async fn self_test_client(start: Instant, addr: SocketAddr, stats: Arc<Stats>) -> io::Result<()> {
    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(io::Error::other(format!("self-test: {what}")))
        }
    };
    let mut sender = client_connection(addr).await?;
    let hello = get(&mut sender, Method::GET, "/", "").await;
    log(start, format!("client: GET / -> {hello:?}"));
    check(
        matches!(&hello, Ok((StatusCode::OK, b)) if b == "Hello, world!\n"),
        "GET /",
    )?;
    let echo = get(&mut sender, Method::POST, "/echo", "ping").await;
    log(start, format!("client: POST /echo -> {echo:?}"));
    check(
        matches!(&echo, Ok((StatusCode::OK, b)) if b == "ping"),
        "POST /echo",
    )?;

    // Two requests on connections of their own, in flight when the signal comes: 300 ms is
    // within the grace period, a minute is not.
    let short = filch::spawn(async move {
        let mut sender = client_connection(addr).await?;
        Ok::<_, io::Error>(get(&mut sender, Method::GET, "/delay/300", "").await)
    });
    let long = filch::spawn(async move {
        let mut sender = client_connection(addr).await?;
        Ok::<_, io::Error>(get(&mut sender, Method::GET, "/delay/60000", "").await)
    });
    // Wait until the server has both (the client shares its process, so it can look).
    let waiting = Instant::now();
    while stats.in_flight.load(Ordering::SeqCst) < 2 {
        check(
            waiting.elapsed() < Duration::from_secs(10),
            "the delayed requests never reached the server",
        )?;
        filch::sleep(Duration::from_millis(5)).await;
    }
    log(start, "client: raising SIGINT");
    // SAFETY: `raise` has no memory-safety preconditions; the server polled `ctrl_c` before it
    // accepted the first connection, so SIGINT's handler is installed and does not kill the
    // process.
    unsafe { libc::raise(libc::SIGINT) };

    let short = short.await.expect("the short request panicked")?;
    log(start, format!("client: GET /delay/300 -> {short:?}"));
    check(
        matches!(&short, Ok((StatusCode::OK, b)) if b == "waited 300 ms\n"),
        "the short request should finish within the grace period",
    )?;
    let long = long.await.expect("the long request panicked")?;
    log(
        start,
        format!(
            "client: GET /delay/60000 -> {:?}",
            long.as_ref().map(|_| ())
        ),
    );
    check(long.is_err(), "the long request should be cut")?;
    let refused = TcpStream::connect(addr).await;
    log(
        start,
        format!(
            "client: a new connection -> {:?}",
            refused.as_ref().map(|_| ())
        ),
    );
    check(refused.is_err(), "the listener should be closed")?;
    Ok(())
}
