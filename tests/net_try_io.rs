//! The socket API tokio users reach for beyond `read`/`write`: `readable()`/`writable()`, the
//! non-waiting `try_` operations, `peek`, and `into_std`, on TCP and UDP.

mod common;

use filch::net::{TcpListener, TcpStream, UdpSocket};
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// Reads with `readable` + `try_read` until `n` bytes have come.
async fn try_read_n(stream: &TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < n {
        stream.readable().await?;
        match stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[test]
fn try_read_and_try_write_never_wait() {
    filch::run(async {
        let (client, server) = pair().await?;
        let mut buf = [0u8; 16];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "nothing sent yet"
        );
        client.writable().await?;
        assert_eq!(client.try_write(b"hello")?, 5);
        assert_eq!(try_read_n(&server, 5).await?, b"hello");
        // Fill the socket buffers: try_write eventually says WouldBlock instead of waiting.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        let full = loop {
            match client.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
                Err(e) => return Err(e),
            }
            if sent > 64 << 20 {
                break false;
            }
        };
        assert!(full, "64 MiB went into a socket nobody reads");
        // Reading it all makes the socket writable again.
        let drained = try_read_n(&server, sent).await?;
        assert_eq!(drained.len(), sent);
        assert!(drained.iter().all(|&b| b == 7));
        filch::timeout(Duration::from_secs(5), client.writable())
            .await
            .expect("writable never came back")?;
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// `peek` returns the stream's next bytes without taking them, including a byte that an
/// earlier read kept (filch reads one byte past the caller's buffer to learn the socket is
/// empty).
#[test]
fn peek_sees_the_next_bytes_including_one_read_ahead() {
    filch::run(async {
        let (mut client, mut server) = pair().await?;
        client.write_all(b"abcdef").await?;
        filch::sleep(Duration::from_millis(5)).await;
        let mut three = [0u8; 3];
        server.read_exact(&mut three).await?;
        assert_eq!(&three, b"abc");
        let mut peeked = [0u8; 16];
        let n = server.peek(&mut peeked).await?;
        assert_eq!(&peeked[..n], b"def", "peek missed the byte read ahead");
        // Peeking again changes nothing; the read returns the same bytes.
        let n = server.peek(&mut peeked).await?;
        assert_eq!(&peeked[..n], b"def");
        let mut rest = [0u8; 3];
        server.read_exact(&mut rest).await?;
        assert_eq!(&rest, b"def");
        // And try_read hands out a byte read ahead before asking the socket.
        client.write_all(b"xyz").await?;
        filch::sleep(Duration::from_millis(5)).await;
        let mut one = [0u8; 1];
        server.read_exact(&mut one).await?;
        assert_eq!(&one, b"x");
        assert_eq!(try_read_n(&server, 2).await?, b"yz");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn into_std_hands_over_a_working_socket_or_refuses_clearly() {
    filch::run(async {
        let (mut client, mut server) = pair().await?;
        client.write_all(b"12345").await?;
        filch::sleep(Duration::from_millis(5)).await;
        let mut two = [0u8; 2];
        server.read_exact(&mut two).await?;
        // A byte is held (read ahead): converting would lose it.
        let err = server.into_std().unwrap_err();
        assert!(err.to_string().contains("into_std"), "{err}");

        let (mut client, server) = pair().await?;
        let std_server = server.into_std()?;
        std_server.set_nonblocking(false)?;
        client.write_all(b"over to std").await?;
        let got = filch::spawn_blocking(move || {
            let mut buf = [0u8; 11];
            let mut s = std_server;
            s.read_exact(&mut buf).map(|()| buf)
        })
        .await
        .unwrap()?;
        assert_eq!(&got, b"over to std");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn udp_try_operations_peek_and_into_std() {
    filch::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await?;
        assert_eq!(a.try_send(b"one")?, 3);
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr()?));
        let n = loop {
            b.readable().await?;
            match b.try_recv(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => break other?,
            }
        };
        assert_eq!(&buf[..n], b"one", "the peeked datagram was not received");
        assert_eq!(a.try_send_to(b"two", b.local_addr()?)?, 3);
        let std_b = b.into_std();
        std_b.set_nonblocking(false)?;
        std_b.set_read_timeout(Some(Duration::from_secs(5)))?;
        let got = filch::spawn_blocking(move || {
            let mut buf = [0u8; 16];
            std_b.recv(&mut buf).map(|n| buf[..n].to_vec())
        })
        .await
        .unwrap()?;
        assert_eq!(got, b"two");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn tcp_socket_sets_options_before_connect_and_listen() {
    use filch::net::TcpSocket;
    filch::run(async {
        // Two listeners on one port with SO_REUSEPORT.
        let first = TcpSocket::new_v4()?;
        first.set_reuseport(true)?;
        first.set_reuseaddr(true)?;
        assert!(first.reuseaddr()?);
        first.bind("127.0.0.1:0".parse().unwrap())?;
        let addr = first.local_addr()?;
        let second = TcpSocket::new_v4()?;
        second.set_reuseport(true)?;
        second.bind(addr)?;
        let (l1, l2) = (first.listen(16)?, second.listen(16)?);
        assert_eq!(l1.local_addr()?, l2.local_addr()?);

        // A client with its buffers set and a chosen local address.
        let client = TcpSocket::new_v4()?;
        client.set_send_buffer_size(64 * 1024)?;
        assert!(client.send_buffer_size()? >= 64 * 1024);
        client.set_nodelay(true)?;
        client.bind("127.0.0.1:0".parse().unwrap())?;
        let from = client.local_addr()?;
        let mut stream = client.connect(addr).await?;
        assert!(stream.nodelay()?);
        let accepted = filch::select! {
            a = l1.accept() => a?,
            a = l2.accept() => a?,
        };
        assert_eq!(accepted.1, from);
        stream.write_all(b"ok").await?;

        // A refused connection is an error, not a hang.
        let closed = {
            let s = TcpSocket::new_v4()?;
            s.bind("127.0.0.1:0".parse().unwrap())?;
            s.local_addr()? // bound, never listening
        };
        let refused = filch::timeout(Duration::from_secs(5), TcpSocket::new_v4()?.connect(closed))
            .await
            .expect("connect to a closed port hung");
        assert_eq!(refused.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn unix_stream_try_read_try_write_readable_and_into_std() {
    use filch::net::UnixStream;
    filch::run(async {
        let (a, b) = UnixStream::pair()?;
        let mut buf = [0u8; 64];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await?;
        assert_eq!(a.try_write(b"hello")?, 5);
        let n = loop {
            b.readable().await?;
            match b.try_read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => break other?,
            }
        };
        assert_eq!(&buf[..n], b"hello");
        // A full socket buffer: try_write takes what fits, then says WouldBlock, and does not wait.
        let chunk = vec![7u8; 64 << 10];
        let mut sent = 0;
        loop {
            match a.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
            assert!(sent < 256 << 20, "the socket buffer never filled");
        }
        assert!(sent > 0);
        // The end of the stream: readable, and try_read says 0 once drained.
        drop(a);
        let mut drained = 0;
        loop {
            b.readable().await?;
            match b.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => drained += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        assert_eq!(drained, sent);

        // into_std: refused while a byte read ahead is held, else a working std stream.
        let (mut a, mut b) = UnixStream::pair()?;
        a.write_all(b"12345").await?;
        filch::sleep(Duration::from_millis(5)).await;
        let mut two = [0u8; 2];
        b.read_exact(&mut two).await?;
        let err = b.into_std().unwrap_err();
        assert!(err.to_string().contains("into_std"), "{err}");
        let (mut a, b) = UnixStream::pair()?;
        let mut b = b.into_std()?;
        b.set_nonblocking(false)?;
        a.write_all(b"to std").await?;
        let got = filch::spawn_blocking(move || {
            let mut buf = [0u8; 6];
            b.read_exact(&mut buf).map(|()| buf)
        })
        .await
        .unwrap()?;
        assert_eq!(&got, b"to std");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn unix_datagram_try_operations_and_into_std() {
    use filch::net::{UnixDatagram, UnixListener};
    filch::run(async {
        let dir = std::env::temp_dir().join(format!("filch-unix-try-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let a = UnixDatagram::bind(dir.join("a"))?;
        let b = UnixDatagram::bind(dir.join("b"))?;
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await?;
        assert_eq!(a.try_send_to(b"one", dir.join("b"))?, 3);
        let (n, from) = loop {
            b.readable().await?;
            match b.try_recv_from(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => break other?,
            }
        };
        assert_eq!(&buf[..n], b"one");
        assert_eq!(from.as_pathname(), Some(dir.join("a").as_path()));

        let (c, d) = UnixDatagram::pair()?;
        // A new socket is not known to be writable until the driver has seen it so: a
        // `try_send` straight after `pair` may say `WouldBlock` (it did, in 8 runs of 20).
        c.writable().await?;
        c.try_send(b"two")?;
        let n = loop {
            d.readable().await?;
            match d.try_recv(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => break other?,
            }
        };
        assert_eq!(n, 3);
        assert_eq!(&buf[..3], b"two");
        let d = d.into_std();
        c.send(b"three").await?;
        d.set_nonblocking(false)?;
        let n = d.recv(&mut buf)?;
        assert_eq!(&buf[..n], b"three");

        let listener = UnixListener::bind(dir.join("l"))?.into_std();
        let _client = std::os::unix::net::UnixStream::connect(dir.join("l"))?;
        listener.set_nonblocking(false)?;
        listener.accept()?;
        let tcp = TcpListener::bind("127.0.0.1:0").await?.into_std();
        let _client = std::net::TcpStream::connect(tcp.local_addr()?)?;
        tcp.set_nonblocking(false)?;
        tcp.accept()?;
        std::fs::remove_dir_all(&dir)?;
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn a_short_try_read_forgets_readiness_so_readable_waits_for_more() {
    filch::run(async {
        let (mut client, server) = pair().await?;
        client.write_all(b"12345").await?;
        server.readable().await?;
        let mut buf = [0u8; 64];
        assert_eq!(server.try_read(&mut buf)?, 5);
        // The read was short: the socket is empty, and `readable` must wait for the next bytes
        // rather than send the caller to a `try_read` that says `WouldBlock`.
        let early = filch::timeout(Duration::from_millis(30), server.readable()).await;
        assert!(early.is_err(), "readable returned with nothing to read");
        client.write_all(b"6").await?;
        filch::timeout(Duration::from_secs(5), server.readable())
            .await
            .expect("readable missed the next bytes")?;
        assert_eq!(server.try_read(&mut buf)?, 1);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// Spawns, on the current (one-worker) runtime, a task that sets a flag, and returns the flag:
/// for a loop that must let it run midway. Spawned once the loop's setup is done.
fn queued_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    drop(filch::spawn(
        async move { set.store(true, Ordering::SeqCst) },
    ));
    flag
}

/// `readable()` then `try_read` in a loop, on a stream that always has more: each wait is
/// ready at once (here through the byte a read kept), so the budget must make the task yield
/// midway, as a loop of `read`s does.
#[cfg(unix)]
#[test]
fn a_readable_try_read_loop_on_a_stream_with_data_still_yields() {
    use filch::net::UnixStream;
    let midway = common::queued_task_runs_during(|_| async move {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[7u8; 8192]).await.unwrap();
        b.readable().await.unwrap();
        let other_ran = queued_flag();
        let mut midway = false;
        let mut buf = [0u8; 4];
        for i in 0..1_000u32 {
            b.readable().await.unwrap();
            assert_eq!(b.try_read(&mut buf).unwrap(), 4);
            if i < 999 && other_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: readable spent no budget"
    );
}

/// The same with `writable()` then `try_write`, on a stream whose buffer has room (TCP: a
/// byte at a time, which a Unix stream's buffer would count a whole packet each for).
#[test]
fn a_writable_try_write_loop_on_a_stream_with_room_still_yields() {
    let midway = common::queued_task_runs_during(|_| async move {
        let (a, _b) = pair().await.unwrap();
        a.writable().await.unwrap();
        let other_ran = queued_flag();
        let mut midway = false;
        for i in 0..1_000u32 {
            a.writable().await.unwrap();
            assert_eq!(a.try_write(b"x").unwrap(), 1);
            if i < 999 && other_ran.load(Ordering::SeqCst) {
                midway = true;
            }
        }
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the loop: writable spent no budget"
    );
}
