//! An axum `Router` served on filch.
//!
//! axum's own `serve` is tied to tokio's listener and runtime; its `Router` is not: it is a
//! `tower::Service`, which hyper-util's `TowerToHyperService` makes a hyper service, served here
//! by hyper-util's `auto` connection builder (HTTP/1.1, or HTTP/2 for a client that asks with
//! the HTTP/2 preface) on filch's `TcpStream`, with `FilchExecutor` and `FilchTimer`. axum is
//! built without its `tokio` feature (`default-features = false, features = ["json"]`), so no
//! tokio runtime is anywhere.
//!
//! Routes: `GET /` (text) and `GET /sum/{a}/{b}` (JSON, with a path extractor).
//!
//! `cargo run --example axum --features hyper` serves on 127.0.0.1:3000 until killed (it
//! prints the curl commands to try); `-- --self-test` serves on a free port, requests both
//! routes with a hyper client, checks the answers and exits (CI runs it).

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use filch::hyper::{FilchExecutor, FilchTimer};
use filch::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on filch!\n" }))
        .route(
            "/sum/{a}/{b}",
            get(|Path((a, b)): Path<(i64, i64)>| async move {
                Json(BTreeMap::from([("a", a), ("b", b), ("sum", a + b)]))
            }),
        )
}

/// Serves `app` on `listener`, one task per connection.
async fn serve(listener: TcpListener, app: Router) -> io::Result<()> {
    let mut builder = auto::Builder::new(FilchExecutor::new());
    builder
        .http1()
        .timer(FilchTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    builder.http2().timer(FilchTimer::new());
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(stream, service).into_owned();
        drop(filch::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("connection from {peer} failed: {e}");
            }
        }));
    }
}

#[filch::main]
async fn main() -> io::Result<()> {
    let self_test = std::env::args().any(|arg| arg == "--self-test");
    let addr = if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    };
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    if !self_test {
        println!("axum on filch, serving http://{addr}/ until killed; try:");
        println!("  curl http://{addr}/");
        println!("  curl http://{addr}/sum/40/2");
        println!("  curl --http2-prior-knowledge http://{addr}/sum/1/2");
        return serve(listener, app()).await;
    }

    let server = filch::spawn(serve(listener, app()));
    let checks = [
        ("/", StatusCode::OK, "Hello from axum on filch!\n"),
        ("/sum/40/2", StatusCode::OK, r#"{"a":40,"b":2,"sum":42}"#),
        ("/sum/forty/2", StatusCode::BAD_REQUEST, ""),
        ("/nowhere", StatusCode::NOT_FOUND, ""),
    ];
    for (path, status, body) in checks {
        let (got_status, got_body) = fetch(addr, path).await?;
        println!(
            "GET {path} -> {got_status} {:?}",
            String::from_utf8_lossy(&got_body)
        );
        // Only the status of an error is checked: its text is axum's to word.
        if got_status != status || (status == StatusCode::OK && got_body != body) {
            return Err(io::Error::other(format!(
                "self-test: GET {path}: expected {status} {body:?}"
            )));
        }
    }
    server.abort();
    println!("self-test passed");
    Ok(())
}

/// `GET path` on a new HTTP/1.1 connection to `addr`.
async fn fetch(addr: SocketAddr, path: &str) -> io::Result<(StatusCode, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    drop(filch::spawn(conn));
    let req = Request::get(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let response = sender.send_request(req).await.map_err(io::Error::other)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?;
    Ok((status, body.to_bytes()))
}
