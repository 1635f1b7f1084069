//! A TCP echo server with one task per connection, and three clients in the same program, so
//! that it finishes by itself: each client sends a few lines, reads each echo back and prints its
//! round-trip time, then closes its side; when every client is done, the server is aborted.
//!
//! `cargo run --example echo_server`

use filch::net::{TcpListener, TcpStream};
use std::fmt::Display;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Accepts connections forever, each served by its own task.
async fn serve(start: Instant, listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        log(start, format!("server: connection from {peer}"));
        drop(filch::spawn(async move {
            match echo(stream).await {
                Ok(bytes) => log(start, format!("server: {peer} closed after {bytes} bytes")),
                Err(err) => log(start, format!("server: {peer} failed: {err}")),
            }
        }));
    }
}

/// Writes back everything it reads, until the client closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<usize> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// Sends three lines, one at a time, each read back before the next.
async fn client(start: Instant, id: u32, addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    log(
        start,
        format!("client {id}: connected from {}", stream.local_addr()?),
    );
    for i in 1..=3 {
        let line = format!("client {id}, line {i}\n");
        let sent = Instant::now();
        stream.write_all(line.as_bytes()).await?;
        let mut echoed = vec![0u8; line.len()];
        stream.read_exact(&mut echoed).await?;
        let rtt = sent.elapsed();
        let text = String::from_utf8_lossy(&echoed);
        log(
            start,
            format!("client {id}: {:?} echoed in {rtt:.1?}", text.trim_end()),
        );
        filch::sleep(Duration::from_millis(20 * u64::from(id))).await;
    }
    // Close our side, then wait for the server to close its own: it has logged by then.
    stream.shutdown(Shutdown::Write)?;
    let n = stream.read(&mut [0u8; 16]).await?;
    log(
        start,
        format!("client {id}: done (read {n} bytes after closing)"),
    );
    Ok(())
}

#[filch::main]
async fn main() -> io::Result<()> {
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    log(start, format!("server: listening on {addr}"));
    let server = filch::spawn(serve(start, listener));

    let clients = (1..=3).map(|id| filch::spawn(client(start, id, addr)));
    for result in filch::join_all(clients).await {
        result??;
    }

    server.abort();
    let stopped = server.await.expect_err("the server runs until aborted");
    log(start, format!("server: stopped ({stopped})"));
    Ok(())
}
