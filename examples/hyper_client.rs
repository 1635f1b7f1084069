//! 100 concurrent GET requests with hyper's client on filch, handled as they complete.
//!
//! The program starts its own HTTP/2 server on a free loopback port (hyper's server, its streams
//! spawned by `FilchExecutor`), whose `/item/N` answers after a delay that varies with N (and
//! takes 3 s for every 25th item). The client opens one HTTP/2 connection and sends all 100
//! requests at once over it, each as a task of `filch::as_completed` bounded by
//! `filch::timeout(1 s)`, and prints each outcome in the order they complete: the answers sorted
//! by their delay, then the 4 that timed out (dropping a timed-out request resets its HTTP/2
//! stream, the server's handler is dropped with it). Then it exits.
//!
//! `cargo run --example hyper_client --features hyper`

use filch::hyper::{FilchExecutor, FilchTimer};
use filch::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http2::SendRequest;
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::fmt::Display;
use std::io;
use std::time::{Duration, Instant};

const REQUESTS: u64 = 100;
const TIMEOUT: Duration = Duration::from_secs(1);

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// The delay of `/item/n`: scattered over 0–99 ms, and 3 s for every 25th item.
fn delay(n: u64) -> Duration {
    if n % 25 == 24 {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(n * 37 % 100)
    }
}

async fn item(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = req
        .uri()
        .path()
        .strip_prefix("/item/")
        .map(str::parse::<u64>);
    let Some(Ok(n)) = n else {
        let mut response = Response::new(Full::new(Bytes::from("try /item/N\n")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    };
    filch::sleep(delay(n)).await;
    Ok(Response::new(Full::new(Bytes::from(format!(
        "item {n} after {:?}",
        delay(n)
    )))))
}

/// Serves HTTP/2 on `listener`, one task per connection.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(filch::spawn(
            hyper::server::conn::http2::Builder::new(FilchExecutor::new())
                .timer(FilchTimer::new())
                .serve_connection(stream, hyper::service::service_fn(item)),
        ));
    }
}

/// One request: `Ok` with the status and the body, or what went wrong.
async fn fetch(mut sender: SendRequest<Empty<Bytes>>, n: u64) -> Result<String, String> {
    let req = Request::get(format!("http://localhost/item/{n}"))
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let response = sender.send_request(req).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>(format!("{status} {}", String::from_utf8_lossy(&body)))
    };
    match filch::timeout(TIMEOUT, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!("failed: {e}")),
        Err(_) => Err(format!("timed out after {TIMEOUT:?}")),
    }
}

#[filch::main]
async fn main() -> io::Result<()> {
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = filch::spawn(serve(listener));
    log(start, format!("server: HTTP/2 on {addr}"));

    let stream = TcpStream::connect(addr).await?;
    let (sender, conn) = hyper::client::conn::http2::Builder::new(FilchExecutor::new())
        .timer(FilchTimer::new())
        .handshake::<_, Empty<Bytes>>(stream)
        .await
        .map_err(io::Error::other)?;
    drop(filch::spawn(conn));
    log(
        start,
        format!("client: one connection, {REQUESTS} requests on it at once"),
    );

    let mut done = filch::as_completed((0..REQUESTS).map(|n| {
        let sender = sender.clone();
        async move { (n, fetch(sender, n).await) }
    }));
    let (mut ok, mut failed) = (0, 0);
    while let Some(outcome) = done.next().await {
        let (n, result) = outcome.expect("a request task panicked");
        match result {
            Ok(answer) => {
                ok += 1;
                log(start, format!("#{n:<3} {answer}"));
            }
            Err(why) => {
                failed += 1;
                log(start, format!("#{n:<3} {why}"));
            }
        }
    }
    log(
        start,
        format!("done: {ok} answered, {failed} timed out or failed"),
    );
    server.abort();
    Ok(())
}
