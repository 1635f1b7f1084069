//! A minimal HTTP/1.1 "hello world" server with keep-alive, to measure the runtime's cost per
//! request (it is not an HTTP implementation: it answers every request-ending blank line).
//!
//! `cargo run --release --example http_hello -- [127.0.0.1:8080]`, then load it with
//! `wrk -t2 -c50 -d5s http://127.0.0.1:8080/`.

use filch::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!";

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let mut pending = 0;
    loop {
        let n = stream.read(&mut buf[pending..]).await?;
        if n == 0 {
            return Ok(());
        }
        pending += n;
        // Answer every complete request in the buffer (pipelining included), in one write.
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(end) = find(&buf[start..pending], b"\r\n\r\n") {
            out.extend_from_slice(RESPONSE);
            start += end + 4;
        }
        buf.copy_within(start..pending, 0);
        pending -= start;
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if pending == buf.len() {
            return Ok(()); // a request larger than the buffer: not ours to handle
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[filch::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        // Detached: dropping the handle lets the connection's task run on its own.
        drop(filch::spawn(async move {
            let _ = serve(stream).await;
        }));
    }
}
