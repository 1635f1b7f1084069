//! hyper 1.x on filch (`--features hyper`): servers and clients on filch's sockets, the executor
//! and the timer, talking HTTP/1.1 and HTTP/2 to each other; bodies larger than every buffer on
//! the way; the header-read timeout closing a connection that stalls; a client that resets in the
//! middle of a request (an error on that connection, nothing else); the same on the
//! current-thread runtime; the `hyper::rt::Read` impl on its own, into an uninitialised buffer.

mod common;

use common::{runtime, within};
use filch::hyper::{FilchExecutor, FilchTimer};
use filch::net::{TcpListener, TcpStream, UnixStream};
use filch::JoinHandle;
use futures_channel::mpsc;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::rt::{Read, ReadBuf, Timer};
use hyper::{client, server, Request, Response, StatusCode};
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// The protocol a test server speaks.
#[derive(Clone, Copy, Debug)]
enum Proto {
    /// HTTP/1.1, with a header-read timeout on `FilchTimer` if given.
    Http1 { header_timeout: Option<Duration> },
    /// HTTP/2, with `FilchExecutor` for its streams.
    Http2,
}

const HTTP1: Proto = Proto::Http1 {
    header_timeout: None,
};

/// `/echo` answers with the request's body, read to the end; anything else with `hello`.
async fn respond(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.uri().path() == "/echo" {
        let body = req.into_body().collect().await?.to_bytes();
        Ok(Response::new(Full::new(body)))
    } else {
        Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
    }
}

/// Serves one connection to the end.
async fn serve_connection<S>(stream: S, proto: Proto) -> Result<(), hyper::Error>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(respond);
    match proto {
        Proto::Http1 { header_timeout } => {
            server::conn::http1::Builder::new()
                .timer(FilchTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(stream, service)
                .await
        }
        Proto::Http2 => {
            server::conn::http2::Builder::new(FilchExecutor::new())
                .timer(FilchTimer::new())
                .serve_connection(stream, service)
                .await
        }
    }
}

/// A server on a loopback port: one task per connection, whose join handles come out of
/// `connections` in accept order (a panic in one would show as a `JoinError` there).
struct Server {
    addr: SocketAddr,
    connections: mpsc::UnboundedReceiver<JoinHandle<Result<(), hyper::Error>>>,
    _accept: JoinHandle<io::Result<()>>,
}

async fn start_server(proto: Proto) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, connections) = mpsc::unbounded();
    let accept = filch::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = tx.unbounded_send(filch::spawn(serve_connection(stream, proto)));
        }
    });
    Server {
        addr,
        connections,
        _accept: accept,
    }
}

/// A client connection to `addr` speaking `proto`, its connection driven by a task.
async fn connect(addr: SocketAddr, proto: Proto) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    handshake(stream, proto).await
}

async fn handshake<S>(stream: S, proto: Proto) -> Sender
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    match proto {
        Proto::Http1 { .. } => {
            let (sender, conn) = client::conn::http1::handshake(stream).await.unwrap();
            drop(filch::spawn(conn));
            Sender::Http1(sender)
        }
        Proto::Http2 => {
            let (sender, conn) = client::conn::http2::Builder::new(FilchExecutor::new())
                .timer(FilchTimer::new())
                .handshake(stream)
                .await
                .unwrap();
            drop(filch::spawn(conn));
            Sender::Http2(sender)
        }
    }
}

enum Sender {
    Http1(client::conn::http1::SendRequest<Full<Bytes>>),
    Http2(client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Sends a request and reads its whole response.
    async fn send(&mut self, path: &str, body: Bytes) -> (StatusCode, Bytes) {
        let req = Request::post(path)
            .header("host", "filch.test")
            .body(Full::new(body))
            .unwrap();
        // Wait until the connection can take a request: an HTTP/1.1 connection is busy until
        // its task has finished with the previous response.
        let response = match self {
            Sender::Http1(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await
            }
            Sender::Http2(s) => {
                s.ready().await.unwrap();
                s.send_request(req).await
            }
        }
        .unwrap();
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    }
}

/// `len` bytes that differ from their neighbours and from a shifted copy of themselves, so a
/// lost, doubled or reordered chunk shows.
fn pattern(len: usize) -> Bytes {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// A few requests on one connection, then a few connections at once.
async fn round_trips(proto: Proto) {
    let server = start_server(proto).await;
    let mut sender = connect(server.addr, proto).await;
    for i in 0..5 {
        assert_eq!(
            sender.send("/", Bytes::new()).await,
            (StatusCode::OK, Bytes::from_static(b"hello"))
        );
        let body = Bytes::from(format!("request {i}"));
        assert_eq!(
            sender.send("/echo", body.clone()).await,
            (StatusCode::OK, body)
        );
    }
    let clients = (0..8).map(|i| {
        filch::spawn(async move {
            let mut sender = connect(server.addr, proto).await;
            let body = Bytes::from(format!("client {i}"));
            assert_eq!(sender.send("/echo", body.clone()).await.1, body);
        })
    });
    for client in filch::join_all(clients).await {
        client.unwrap();
    }
}

#[test]
fn http1_server_and_client_exchange_requests() {
    within(LIMIT, "http1 round trips", || {
        runtime(2, "hyper-h1").block_on(round_trips(HTTP1));
    });
}

#[test]
fn http2_server_and_client_exchange_requests_through_the_executor() {
    within(LIMIT, "http2 round trips", || {
        runtime(2, "hyper-h2").block_on(round_trips(Proto::Http2));
    });
}

#[test]
fn http1_over_a_unix_stream_pair() {
    within(LIMIT, "http1 over a Unix stream", || {
        runtime(2, "hyper-unix").block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let server = filch::spawn(serve_connection(a, HTTP1));
            let mut sender = handshake(b, HTTP1).await;
            let body = pattern(100_000);
            assert_eq!(sender.send("/echo", body.clone()).await.1, body);
            drop(sender); // the client's connection task ends, closing the stream
            server.await.unwrap().unwrap();
        });
    });
}

/// A 4 MiB body each way: far larger than the socket buffers, hyper's read buffer (400 KiB at
/// most) and HTTP/2's flow-control windows, so both sides park on full buffers many times.
fn big_body_echoes_byte_for_byte(proto: Proto) {
    runtime(2, "hyper-big").block_on(async {
        let server = start_server(proto).await;
        let mut sender = connect(server.addr, proto).await;
        let body = pattern(4 << 20);
        let (status, echoed) = sender.send("/echo", body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed.len(), body.len());
        let first_difference = echoed.iter().zip(&body).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "the echo differs");
    });
}

#[test]
fn a_4_mib_body_echoes_byte_for_byte_over_http1() {
    within(LIMIT, "4 MiB over http1", || {
        big_body_echoes_byte_for_byte(HTTP1)
    });
}

#[test]
fn a_4_mib_body_echoes_byte_for_byte_over_http2() {
    within(LIMIT, "4 MiB over http2", || {
        big_body_echoes_byte_for_byte(Proto::Http2)
    });
}

#[test]
fn the_header_read_timeout_closes_a_connection_that_sends_half_a_header() {
    within(LIMIT, "header read timeout", || {
        runtime(2, "hyper-timeout").block_on(async {
            let timeout = Duration::from_millis(300);
            let mut server = start_server(Proto::Http1 {
                header_timeout: Some(timeout),
            })
            .await;
            // Before the connect: the server's timer starts after its accept, so after this.
            let start = Instant::now();
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: filch.test\r\nX-Half")
                .await
                .unwrap();
            // The server closes the connection, sending nothing back.
            let mut rest = Vec::new();
            let mut buf = [0u8; 256];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => rest.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("the server should close, not fail: {e}"),
                }
            }
            let waited = start.elapsed();
            assert!(rest.is_empty(), "the server answered {rest:?}");
            assert!(
                waited >= timeout,
                "closed after {waited:?}, before the timeout"
            );
            assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
            let conn = server.connections.next().await.unwrap();
            let err = conn.await.unwrap().unwrap_err();
            assert!(err.is_timeout(), "{err:?}");
        });
    });
}

#[test]
fn a_client_reset_mid_request_fails_its_connection_and_the_server_serves_on() {
    within(LIMIT, "reset mid-request", || {
        runtime(2, "hyper-reset").block_on(async {
            let mut server = start_server(HTTP1).await;
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream
                .write_all(
                    b"POST /echo HTTP/1.1\r\nHost: filch.test\r\nContent-Length: 100000\r\n\r\n",
                )
                .await
                .unwrap();
            stream.write_all(&pattern(50_000)).await.unwrap();
            // Let the server read what came, then reset: `SO_LINGER` 0 makes the close an RST.
            filch::sleep(Duration::from_millis(50)).await;
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(stream);

            let conn = server.connections.next().await.unwrap();
            let result = conn.await.expect("the connection task panicked");
            assert!(result.is_err(), "a reset request ended well: {result:?}");

            // The listener and the other connections are untouched.
            let mut sender = connect(server.addr, HTTP1).await;
            let body = pattern(10_000);
            assert_eq!(sender.send("/echo", body.clone()).await.1, body);
        });
    });
}

#[test]
fn http1_and_http2_run_on_the_current_thread_runtime() {
    within(LIMIT, "hyper on the current-thread runtime", || {
        let rt = filch::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            round_trips(HTTP1).await;
            round_trips(Proto::Http2).await;
            let server = start_server(Proto::Http2).await;
            let mut sender = connect(server.addr, Proto::Http2).await;
            let body = pattern(1 << 20);
            assert_eq!(sender.send("/echo", body.clone()).await.1, body);
        });
    });
}

/// Reads once through `hyper::rt::Read` into a fresh uninitialised buffer of `cap` bytes.
async fn hyper_read(stream: &mut (impl Read + Unpin), cap: usize) -> Vec<u8> {
    let mut storage = vec![MaybeUninit::<u8>::uninit(); cap];
    let mut buf = ReadBuf::uninit(&mut storage);
    poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, buf.unfilled()))
        .await
        .unwrap();
    buf.filled().to_vec()
}

#[test]
fn hyper_reads_fill_an_uninitialised_buffer_then_see_the_end_of_the_stream() {
    within(LIMIT, "hyper::rt::Read", || {
        runtime(1, "hyper-read").block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let (mut rd, _wr) = server.into_split();
            client.write_all(b"0123456789").await.unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            // A buffer smaller than what is queued: the read keeps a spare byte for the next.
            assert_eq!(hyper_read(&mut rd, 4).await, b"0123");
            assert_eq!(hyper_read(&mut rd, 4).await, b"4567");
            assert_eq!(hyper_read(&mut rd, 64).await, b"89");
            assert_eq!(hyper_read(&mut rd, 64).await, b"");
            assert_eq!(hyper_read(&mut rd, 64).await, b"");
        });
    });
}

#[test]
fn the_timer_resets_its_sleeps_in_place_and_follows_a_paused_clock() {
    within(LIMIT, "FilchTimer", || {
        let rt = filch::Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let timer = FilchTimer::new();
            let start = timer.now();
            assert_eq!(start, filch::time::now());
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let before: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
            timer.reset(&mut sleep, start + Duration::from_secs(5));
            let after: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
            assert_eq!(before, after, "reset made a new sleep");
            sleep.await;
            // The paused clock jumped to the new deadline, not the old one.
            assert_eq!(timer.now() - start, Duration::from_secs(5));
        });
    });
}
