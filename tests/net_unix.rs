//! Unix domain sockets through the facade: a stream round trip through a listener on a socket
//! file in the temp dir (and its cleanup), `UnixStream::pair` with the `futures-io` traits,
//! datagram sockets, errors (a path nobody listens on, outside a runtime), a reset read as the
//! data, the error, then the end of the stream, accepted streams that join the listener's runtime
//! wherever `accept` is polled, and a connect that waits while the listener's backlog is full.

#![cfg(unix)]

mod common;

use common::{block_on_plain, runtime, within};
use filch::net::{UnixDatagram, UnixListener, UnixStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::io::{self, Read as _, Write as _};
use std::net::Shutdown;
use std::path::PathBuf;
use std::pin::pin;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A socket path unique to this process and test, removed (if left over) before use and on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        let path =
            std::env::temp_dir().join(format!("filch-net-unix-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn stream_round_trip_through_a_listener_in_the_temp_dir() {
    const CLIENTS: usize = 20;
    const MESSAGES: usize = 50;
    let socket = TempPath::new("listener");
    let path = socket.0.clone();
    let (checked, bound_to) = within(LIMIT, "unix listener", move || {
        let rt = runtime(2, "net-unix");
        rt.block_on(async move {
            let listener = UnixListener::bind(&path).unwrap();
            let bound_to = listener
                .local_addr()
                .unwrap()
                .as_pathname()
                .map(PathBuf::from);
            let server = filch::spawn(async move {
                let mut sessions = Vec::new();
                for _ in 0..CLIENTS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    sessions.push(filch::spawn(async move {
                        let mut buf = [0; 256];
                        for _ in 0..10_000 {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                        panic!("the client never closed");
                    }));
                }
                for session in sessions {
                    session.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    let path = path.clone();
                    filch::spawn(async move {
                        let mut stream = UnixStream::connect(&path).await.unwrap();
                        let mut checked = 0;
                        for m in 0..MESSAGES {
                            let msg: Vec<u8> = (0..1 + (c + m) % 100)
                                .map(|k| (c * 3 + m + k) as u8)
                                .collect();
                            stream.write_all(&msg).await.unwrap();
                            let mut back = vec![0; msg.len()];
                            stream.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg, "client {c}, message {m}");
                            checked += 1;
                        }
                        stream.shutdown(Shutdown::Write).unwrap();
                        checked
                    })
                })
                .collect();
            let mut checked = 0;
            for client in clients {
                checked += client.await.unwrap();
            }
            server.await.unwrap();
            (checked, bound_to)
        })
    });
    assert_eq!(checked, CLIENTS * MESSAGES);
    assert_eq!(bound_to.as_deref(), Some(socket.0.as_path()));
    // The listener is gone but, as with std, its file stays until removed.
    assert!(socket.0.exists());
    std::fs::remove_file(&socket.0).unwrap();
    assert!(!socket.0.exists());
}

#[test]
fn pair_streams_talk_through_the_futures_io_traits() {
    let (a_got, b_got) = within(LIMIT, "unix pair", || {
        filch::run(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let writer = filch::spawn(async move {
                AsyncWriteExt::write_all(&mut a, b"from a").await.unwrap();
                AsyncWriteExt::close(&mut a).await.unwrap();
                let mut got = Vec::new();
                AsyncReadExt::read_to_end(&mut a, &mut got).await.unwrap();
                got
            });
            let mut got = Vec::new();
            AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
            b.write_all(b"from b").await.unwrap();
            drop(b);
            (writer.await.unwrap(), got)
        })
    });
    assert_eq!(a_got, b"from b");
    assert_eq!(b_got, b"from a");
}

#[test]
fn connecting_to_a_path_nobody_listens_on_fails() {
    let socket = TempPath::new("nobody");
    let path = socket.0.clone();
    let err = within(LIMIT, "unix connect", move || {
        filch::run(async move { UnixStream::connect(&path).await.unwrap_err() })
    });
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn datagrams_between_a_pair_and_between_bound_paths() {
    let a_socket = TempPath::new("dgram-a");
    let b_socket = TempPath::new("dgram-b");
    let (a_path, b_path) = (a_socket.0.clone(), b_socket.0.clone());
    let (pair_got, got, from) = within(LIMIT, "unix datagram", move || {
        filch::run(async move {
            let (x, y) = UnixDatagram::pair().unwrap();
            let mut buf = [0; 64];
            for i in 0..100u8 {
                x.send(&[i; 3]).await.unwrap();
                let n = y.recv(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], &[i; 3]);
            }
            let n = {
                y.send(b"pair").await.unwrap();
                x.recv(&mut buf).await.unwrap()
            };
            let pair_got = buf[..n].to_vec();

            let a = UnixDatagram::bind(&a_path).unwrap();
            let b = UnixDatagram::bind(&b_path).unwrap();
            a.send_to(b"by path", &b_path).await.unwrap();
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            let from = from.as_pathname().map(PathBuf::from);
            (pair_got, buf[..n].to_vec(), from)
        })
    });
    assert_eq!(pair_got, b"pair");
    assert_eq!(got, b"by path");
    assert_eq!(from.as_deref(), Some(a_socket.0.as_path()));
}

#[test]
fn unix_sockets_outside_a_runtime_are_an_error_that_names_filch_run() {
    let err = UnixStream::pair().map(drop).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
    let socket = TempPath::new("outside");
    let err = UnixListener::bind(&socket.0).map(drop).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
    assert!(
        !socket.0.exists(),
        "bind outside a runtime left a socket file"
    );
    let err = UnixDatagram::unbound().map(drop).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
}

/// The peer writes 9 bytes and closes with bytes of ours unread, which resets the connection
/// (`ECONNRESET` on our side). Read 8 bytes at a time, `std` sees `8, 1, ConnectionReset, 0`,
/// and so must filch. (The stream read asks for one spare byte past the caller's buffer; the
/// read that handed the spare byte out dropped the error that the kernel reported to it — and
/// only once — so the connection read as a clean end of stream.)
#[test]
fn a_reset_after_data_reads_as_the_data_then_the_error_then_eof() {
    let reads = within(LIMIT, "unix reset after data", || {
        filch::run(async {
            let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
            let mut stream = UnixStream::from_std(ours).unwrap();
            stream.write_all(b"unread").await.unwrap();
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

/// An accepted stream is registered with the listener's runtime, whichever thread polls
/// `accept`. (It used to join the polling thread's runtime: from another runtime's `block_on`
/// the stream joined that runtime's driver and failed once that runtime was dropped, and
/// polled outside any runtime the accepted connection was lost with an error.)
#[test]
fn an_accepted_stream_joins_the_listeners_runtime_wherever_accept_is_polled() {
    let socket = TempPath::new("accept-elsewhere");
    let path = socket.0.clone();
    let echoed = within(LIMIT, "unix accept elsewhere", move || {
        let home = runtime(1, "net-unix-home");
        let listener = home.block_on(async { UnixListener::bind(&path) }).unwrap();
        let mut clients = Vec::new();
        let mut accepted = Vec::new();

        clients.push(std::os::unix::net::UnixStream::connect(&path).unwrap());
        let other = runtime(1, "net-unix-other");
        let from_other = other.block_on(listener.accept());
        accepted.push(from_other.expect("accept polled from another runtime").0);
        drop(other);

        clients.push(std::os::unix::net::UnixStream::connect(&path).unwrap());
        let off_runtime = block_on_plain(listener.accept());
        accepted.push(off_runtime.expect("accept polled outside any runtime").0);

        home.block_on(async move {
            let mut echoed = Vec::new();
            for (stream, mut client) in accepted.iter_mut().zip(clients) {
                client.write_all(b"ping").unwrap();
                let mut buf = [0; 4];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
                client.read_exact(&mut buf).unwrap();
                echoed.push(buf);
            }
            echoed
        })
    });
    assert_eq!(echoed, [*b"ping"; 2]);
}

/// A connect to a listener whose queue of pending connections is full waits for room, as a
/// blocking connect does. (`connect(2)` on a non-blocking Unix socket fails with `EAGAIN` then,
/// with nothing in flight, and the future used to return it as `WouldBlock`.)
#[test]
fn connecting_to_a_listener_with_a_full_backlog_waits_for_room() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = TempPath::new("full-backlog");
    let path = socket.0.clone();
    let (early, connected) = within(LIMIT, "unix connect to a full backlog", move || {
        let addr = SockAddr::unix(&path).unwrap();
        // std listens with a backlog of its choosing; ask for the smallest.
        let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        listener.bind(&addr).unwrap();
        listener.listen(0).unwrap();
        let listener = std::os::unix::net::UnixListener::from(listener);
        // Queue non-blocking connects until the listener turns one away.
        let mut queued = Vec::new();
        loop {
            let client = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            client.set_nonblocking(true).unwrap();
            match client.connect(&addr) {
                Ok(()) => queued.push(client),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling the backlog: {e}"),
            }
            assert!(queued.len() < 10_000, "the backlog never filled");
        }
        filch::run(async move {
            let mut connect = pin!(UnixStream::connect(&path));
            let early = filch::timeout(Duration::from_millis(50), connect.as_mut())
                .await
                .map(|r| r.map(drop).map_err(|e| e.kind()));
            if early.is_ok() {
                return (early, None);
            }
            // Make room for one more.
            drop(listener.accept().unwrap());
            let connected = filch::timeout(Duration::from_secs(10), connect)
                .await
                .map(|r| r.map(|s| s.peer_addr().is_ok()).map_err(|e| e.kind()));
            drop(queued);
            (early, Some(connected))
        })
    });
    assert!(
        early.is_err(),
        "connect finished while the backlog was full: {early:?}"
    );
    assert_eq!(
        connected
            .unwrap()
            .expect("connect still waiting after the backlog had room"),
        Ok(true)
    );
}
