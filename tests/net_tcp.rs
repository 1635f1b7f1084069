//! TCP sockets through the facade: an echo server under 1,000 concurrent connections, half-close,
//! the errors of connecting and binding (refused, address in use, malformed and unresolvable
//! addresses), split halves on two tasks, the `futures-io` traits, sockets outside a runtime or
//! outliving it, a listener that keeps working after `accept` fails with `EMFILE`, and a reset
//! read as the data before it, then the error, then the end of the stream.

mod common;

use common::{runtime, within};
use filch::net::{TcpListener, TcpStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::io::{self, IoSlice, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Connections in the echo test. The default `ulimit -n` of 1024 on some systems is too low for
/// 2,000 sockets in one process; the test lowers the count to what the limit allows (see
/// `connections_that_fit`).
const CONNECTIONS: usize = 1_000;
const MESSAGES: usize = 100;

/// The `m`th message of connection `c`: 1 to 200 bytes, contents depending on both, so that a
/// byte delivered to the wrong connection or out of order shows.
fn message(c: usize, m: usize) -> Vec<u8> {
    let len = 1 + (c * 7 + m * 13) % 200;
    (0..len).map(|k| (c * 31 + m * 17 + k) as u8).collect()
}

/// Reads `/proc/self/limits` where there is one; a conservative 1,024 elsewhere.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// Each connection takes two descriptors (client and server end); leave room for the rest of
/// the test process (other tests run in parallel).
fn connections_that_fit() -> usize {
    let limit = open_file_limit();
    CONNECTIONS.min(limit.saturating_sub(200) / 2).max(1)
}

#[test]
fn echo_server_serves_a_thousand_concurrent_connections_byte_for_byte() {
    let connections = connections_that_fit();
    if connections < CONNECTIONS {
        eprintln!(
            "open-file limit {}: using {connections} connections",
            open_file_limit()
        );
    }
    let (echoed, checked) = within(LIMIT, "echo server", move || {
        let rt = runtime(2, "net-echo");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                let mut sessions = Vec::with_capacity(connections);
                for _ in 0..connections {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    sessions.push(filch::spawn(async move {
                        let mut buf = [0; 512];
                        let mut echoed = 0;
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return echoed;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                            echoed += n;
                        }
                    }));
                }
                let mut total = 0;
                for session in sessions {
                    total += session.await.unwrap();
                }
                total
            });
            let clients: Vec<_> = (0..connections)
                .map(|c| {
                    filch::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        let mut checked = 0;
                        for m in 0..MESSAGES {
                            let msg = message(c, m);
                            stream.write_all(&msg).await.unwrap();
                            let mut back = vec![0; msg.len()];
                            stream.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg, "connection {c}, message {m}");
                            checked += back.len();
                        }
                        stream.shutdown(Shutdown::Write).unwrap();
                        let mut rest = [0; 1];
                        assert_eq!(stream.read(&mut rest).await.unwrap(), 0, "no extra bytes");
                        checked
                    })
                })
                .collect();
            let mut checked = 0;
            for client in clients {
                checked += client.await.unwrap();
            }
            (server.await.unwrap(), checked)
        })
    });
    let expected: usize = (0..connections)
        .flat_map(|c| (0..MESSAGES).map(move |m| message(c, m).len()))
        .sum();
    assert_eq!(checked, expected);
    assert_eq!(echoed, expected);
}

#[test]
fn half_close_lets_the_server_read_eof_and_still_reply() {
    let reply = within(LIMIT, "half close", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buf = [0; 64];
                for _ in 0..1_000 {
                    match stream.read(&mut buf).await.unwrap() {
                        0 => break,
                        n => request.extend_from_slice(&buf[..n]),
                    }
                }
                assert_eq!(request, b"request");
                // The client's write side is closed; ours is still open.
                stream.write_all(b"reply to request").await.unwrap();
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(b"request").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut reply = Vec::new();
            let mut buf = [0; 64];
            for _ in 0..1_000 {
                match client.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => reply.extend_from_slice(&buf[..n]),
                }
            }
            server.await.unwrap();
            reply
        })
    });
    assert_eq!(reply, b"reply to request");
}

#[test]
fn connecting_to_a_port_nobody_listens_on_is_refused() {
    // Port 1 on loopback: privileged, and no test binds it. (A port picked by binding and
    // closing a socket could be taken by a concurrent test in between: it flaked once.)
    let port = 1;
    let err = within(LIMIT, "refused", move || {
        filch::run(async move { TcpStream::connect(("127.0.0.1", port)).await.unwrap_err() })
    });
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

/// The peer writes 9 bytes and resets the connection (Linux sends a reset instead of a FIN when a
/// socket is closed with unread data). Read 8 bytes at a time, `std` sees `8, 1,
/// ConnectionReset, 0`, and so must filch. (The stream read asks for one spare byte past the
/// caller's buffer; the read that handed the spare byte out dropped the reset that the kernel
/// reported to it — and only once — so the connection read as a clean end of stream.)
#[test]
fn a_reset_after_data_reads_as_the_data_then_the_error_then_eof() {
    let reads = within(LIMIT, "tcp reset after data", || {
        filch::run(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut stream = TcpStream::connect(std_listener.local_addr().unwrap())
                .await
                .unwrap();
            let (peer, _) = std_listener.accept().unwrap();
            stream.write_all(b"unread").await.unwrap();
            // Wait (blocking this test's only task) until the bytes are in the peer's receive
            // buffer, without taking them: closing the peer now resets the connection.
            let mut seen = [0; 6];
            while peer.peek(&mut seen).unwrap() < seen.len() {}
            (&peer).write_all(b"123456789").unwrap();
            drop(peer);
            let mut buf = [0; 8];
            let mut reads = Vec::new();
            for _ in 0..4 {
                reads.push(stream.read(&mut buf).await.map_err(|e| e.kind()));
            }
            reads
        })
    });
    assert_eq!(
        reads,
        [Ok(8), Ok(1), Err(io::ErrorKind::ConnectionReset), Ok(0)]
    );
}

#[test]
fn binding_a_port_in_use_fails_with_addr_in_use() {
    let err = within(LIMIT, "addr in use", || {
        filch::run(async {
            let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = first.local_addr().unwrap();
            let err = TcpListener::bind(addr).await.unwrap_err();
            // The first listener still works.
            let client = filch::spawn(async move { TcpStream::connect(addr).await.map(drop) });
            first.accept().await.unwrap();
            client.await.unwrap().unwrap();
            err
        })
    });
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
}

#[test]
fn malformed_addresses_are_errors_not_panics() {
    let errors = within(LIMIT, "malformed", || {
        filch::run(async {
            let mut errors = Vec::new();
            for bad in ["not an address", "127.0.0.1:99999", "127.0.0.1", ":80"] {
                errors.push((bad, TcpStream::connect(bad).await.unwrap_err()));
                errors.push((bad, TcpListener::bind(bad).await.map(drop).unwrap_err()));
            }
            errors
        })
    });
    assert_eq!(errors.len(), 8);
    for (addr, err) in errors {
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{addr:?}: {err}");
    }
}

#[test]
fn an_unresolvable_host_is_an_error() {
    let (connect, bind) = within(LIMIT, "unresolvable", || {
        filch::run(async {
            let connect = TcpStream::connect("no-such-host.invalid:80").await;
            let bind = TcpListener::bind(("no-such-host.invalid", 0)).await;
            (connect.map(drop), bind.map(drop))
        })
    });
    assert!(connect.is_err(), "connect resolved a .invalid name");
    assert!(bind.is_err(), "bind resolved a .invalid name");
}

#[test]
fn localhost_resolves_through_the_helper_thread() {
    let echoed = within(LIMIT, "localhost", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = filch::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await.unwrap();
                buf
            });
            // "localhost" may resolve to ::1 first: connect tries each address in turn.
            let mut client = TcpStream::connect(format!("localhost:{port}"))
                .await
                .unwrap();
            client.write_all(b"hello").await.unwrap();
            server.await.unwrap()
        })
    });
    assert_eq!(&echoed, b"hello");
}

/// 1 MiB through a copying server: the client writes from one task and reads from another
/// (owned halves); the server copies with borrowed halves.
#[test]
fn split_halves_read_and_write_from_two_tasks() {
    const TOTAL: usize = 1 << 20;
    let received = within(LIMIT, "split", || {
        let rt = runtime(2, "net-split");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                // Spelled out: with futures' `AsyncReadExt` in scope, `stream.split()` would pick
                // its by-value `split`.
                let (mut rd, mut wr) = TcpStream::split(&mut stream);
                let mut buf = vec![0; 8192];
                let mut copied = 0;
                for _ in 0..TOTAL {
                    let n = rd.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    wr.write_all(&buf[..n]).await.unwrap();
                    copied += n;
                }
                wr.shutdown().unwrap();
                copied
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut rd, mut wr) = stream.into_split();
            let writer = filch::spawn(async move {
                let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
                for chunk in data.chunks(10_000) {
                    wr.write_all(chunk).await.unwrap();
                }
                // Dropping the owned write half shuts the write direction down.
            });
            let reader = filch::spawn(async move {
                let mut received = Vec::with_capacity(TOTAL);
                let mut buf = vec![0; 8192];
                for _ in 0..TOTAL {
                    let n = rd.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    received.extend_from_slice(&buf[..n]);
                }
                received
            });
            writer.await.unwrap();
            let received = reader.await.unwrap();
            assert_eq!(server.await.unwrap(), TOTAL);
            received
        })
    });
    assert_eq!(received.len(), TOTAL);
    for (i, byte) in received.iter().enumerate() {
        assert_eq!(*byte, (i % 251) as u8, "byte {i}");
    }
}

#[test]
fn owned_halves_reunite_only_with_their_own_stream() {
    let (same, different) = within(LIMIT, "reunite", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let a = TcpStream::connect(addr).await.unwrap();
            let b = TcpStream::connect(addr).await.unwrap();
            let a_local = a.local_addr().unwrap();
            let (a_rd, a_wr) = a.into_split();
            let (b_rd, b_wr) = b.into_split();
            let err = a_rd.reunite(b_wr).unwrap_err();
            let (a_rd, b_wr) = (err.0, err.1);
            let a = a_rd.reunite(a_wr).unwrap();
            let b = b_wr.reunite(b_rd).unwrap();
            (
                a.local_addr().unwrap() == a_local,
                a.local_addr().unwrap() != b.local_addr().unwrap(),
            )
        })
    });
    assert!(same, "reunite gave back another stream");
    assert!(different);
}

#[test]
fn futures_io_traits_read_and_write_through_the_stream() {
    let (request, reply) = within(LIMIT, "futures-io", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                AsyncReadExt::read_to_end(&mut stream, &mut request)
                    .await
                    .unwrap();
                AsyncWriteExt::write_all(&mut stream, b"pong ")
                    .await
                    .unwrap();
                let bufs = [IoSlice::new(b"vec"), IoSlice::new(b"tored")];
                let n = AsyncWriteExt::write_vectored(&mut stream, &bufs)
                    .await
                    .unwrap();
                assert_eq!(n, 8, "a small vectored write goes out whole");
                AsyncWriteExt::close(&mut stream).await.unwrap();
                request
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            AsyncWriteExt::write_all(&mut client, b"ping")
                .await
                .unwrap();
            AsyncWriteExt::flush(&mut client).await.unwrap();
            // poll_close shuts the write direction down: the server's read_to_end ends.
            AsyncWriteExt::close(&mut client).await.unwrap();
            let mut reply = String::new();
            AsyncReadExt::read_to_string(&mut client, &mut reply)
                .await
                .unwrap();
            (server.await.unwrap(), reply)
        })
    });
    assert_eq!(request, b"ping");
    assert_eq!(reply, "pong vectored");
}

#[test]
fn split_halves_implement_the_futures_io_traits() {
    let reply = within(LIMIT, "halves futures-io", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = filch::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let (mut rd, mut wr) = stream.into_split();
                // Echo everything back with futures-util's copy, then close.
                futures_util::io::copy(&mut rd, &mut wr).await.unwrap();
                wr.close().await.unwrap();
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut rd, mut wr) = TcpStream::split(&mut client);
            wr.write_all(b"through the halves").await.unwrap();
            wr.close().await.unwrap();
            let mut reply = Vec::new();
            rd.read_to_end(&mut reply).await.unwrap();
            server.await.unwrap();
            reply
        })
    });
    assert_eq!(reply, b"through the halves");
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once on this thread, outside any runtime.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    pin!(fut).poll(&mut cx)
}

fn assert_no_runtime_error<T: std::fmt::Debug>(what: &str, result: Poll<io::Result<T>>) {
    match result {
        Poll::Ready(Err(e)) => {
            assert!(e.to_string().contains("filch::run"), "{what}: {e}");
        }
        other => panic!("{what} outside a runtime gave {other:?}"),
    }
}

#[test]
fn sockets_outside_a_runtime_are_an_error_that_names_filch_run() {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    assert_no_runtime_error("bind", poll_once(TcpListener::bind("127.0.0.1:0")));
    assert_no_runtime_error("connect", poll_once(TcpStream::connect(addr)));
    // Even a name that would need a lookup fails at once, without starting one.
    assert_no_runtime_error(
        "connect by name",
        poll_once(TcpStream::connect("localhost:1")),
    );
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    assert_no_runtime_error("from_std", Poll::Ready(TcpListener::from_std(std_listener)));
}

/// An `accept` that fails with `EMFILE` must leave the listener working: the queued connection
/// is accepted by the next call once a descriptor is free (with edge-triggered readiness,
/// clearing it on that error would hang the listener forever).
///
/// The descriptor table is filled in a child process run under `ulimit -n 64` (no libc here to
/// call `setrlimit`, and filling this process's table would break the tests running beside it).
#[cfg(unix)]
#[test]
fn accept_keeps_working_after_emfile() {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" \"$@\"")
        .arg(exe)
        .args([
            "--exact",
            "emfile_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FILCH_NET_EMFILE_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the EMFILE child did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("emfile child: accepted after EMFILE"),
        "{stdout}"
    );
}

/// The child half of `accept_keeps_working_after_emfile`; does nothing unless run by it.
#[cfg(unix)]
#[test]
#[ignore = "run by accept_keeps_working_after_emfile in a child process"]
fn emfile_child() {
    use std::io::{Read, Write};
    const EMFILE: i32 = 24; // Linux, macOS and the BSDs agree.
    if std::env::var_os("FILCH_NET_EMFILE_CHILD").is_none() {
        return;
    }
    let rt = runtime(1, "net-emfile");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Connected by the kernel's backlog; queued until accepted.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let mut hog = Vec::new();
        for _ in 0..100_000 {
            match std::fs::File::open("/dev/null") {
                Ok(file) => hog.push(file),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(EMFILE), "{e}");
                    break;
                }
            }
        }
        let err = listener.accept().await.map(drop).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EMFILE), "{err}");
        // Free one descriptor: the queued connection must be accepted now.
        hog.pop();
        let (mut server_side, _) = filch::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the listener is stuck after EMFILE")
            .unwrap();
        client.write_all(b"ok").unwrap();
        let mut buf = [0; 2];
        server_side.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
        server_side.write_all(b"!").await.unwrap();
        let mut one = [0; 1];
        client.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"!");
        drop(hog);
    });
    println!("emfile child: accepted after EMFILE");
}

/// A socket that outlives its runtime answers every operation with an error instead of waiting
/// for a driver that will never turn again.
#[test]
fn a_socket_outliving_its_runtime_answers_with_an_error() {
    let rt = runtime(1, "net-outlive");
    let (listener, mut stream) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (listener, stream)
    });
    drop(rt);
    let accept = poll_once(listener.accept());
    assert!(
        matches!(accept, Poll::Ready(Err(_))),
        "accept after shutdown: {:?}",
        accept.map(|r| r.map(drop))
    );
    let mut buf = [0; 8];
    let read = poll_once(stream.read(&mut buf));
    assert!(
        matches!(read, Poll::Ready(Err(_))),
        "read after shutdown: {read:?}"
    );
}
