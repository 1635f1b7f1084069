//! UDP sockets through the facade: `send_to`/`recv_from` and `connect`/`send`/`recv` round
//! trips, many datagrams from several clients to one echo socket, a socket shared by a sending
//! and a receiving task, errors (malformed address, outside a runtime), and the ICMP error a
//! datagram to a closed port brings back (reported once, then the socket waits again).

mod common;

use common::{runtime, within};
use filch::net::UdpSocket;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
/// For the ICMP error tests, whose failure mode is a worker spinning forever: fail soon.
const ICMP_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn send_to_and_recv_from_round_trip() {
    let (got, from_matches, back) = within(LIMIT, "udp round trip", || {
        filch::run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let a_addr = a.local_addr().unwrap();
            let b_addr = b.local_addr().unwrap();
            assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
            let mut buf = [0; 64];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            let got = buf[..n].to_vec();
            // Reply by address string.
            b.send_to(b"world", format!("127.0.0.1:{}", a_addr.port()))
                .await
                .unwrap();
            let (n, _) = a.recv_from(&mut buf).await.unwrap();
            (got, from == a_addr, buf[..n].to_vec())
        })
    });
    assert_eq!(got, b"hello");
    assert!(from_matches, "recv_from reported the wrong sender");
    assert_eq!(back, b"world");
}

#[test]
fn connected_sockets_send_and_recv() {
    let (peer_ok, got, back) = within(LIMIT, "udp connected", || {
        filch::run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            assert_eq!(
                a.peer_addr().unwrap_err().kind(),
                io::ErrorKind::NotConnected
            );
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            let peer_ok = a.peer_addr().unwrap() == b.local_addr().unwrap();
            a.send(b"ping").await.unwrap();
            let mut buf = [0; 64];
            let n = b.recv(&mut buf).await.unwrap();
            let got = buf[..n].to_vec();
            b.send(b"pong").await.unwrap();
            let n = a.recv(&mut buf).await.unwrap();
            (peer_ok, got, buf[..n].to_vec())
        })
    });
    assert!(peer_ok);
    assert_eq!(got, b"ping");
    assert_eq!(back, b"pong");
}

/// Several clients, each in its own task, ping-pong numbered datagrams with one echo socket:
/// every datagram comes back to its sender, whole and in order. (Ping-pong, not a burst: UDP may
/// drop what overflows the receive buffer, even on loopback.)
#[test]
fn many_datagrams_from_many_clients_echo_back_intact() {
    const CLIENTS: usize = 8;
    const DATAGRAMS: usize = 250;
    let (echoed, checked) = within(LIMIT, "udp many", || {
        let rt = runtime(2, "net-udp");
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let server_addr = server.local_addr().unwrap();
            let echo = filch::spawn(async move {
                let mut buf = [0; 2048];
                for _ in 0..CLIENTS * DATAGRAMS {
                    let (n, from) = server.recv_from(&mut buf).await.unwrap();
                    server.send_to(&buf[..n], from).await.unwrap();
                }
                CLIENTS * DATAGRAMS
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    filch::spawn(async move {
                        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                        socket.connect(server_addr).await.unwrap();
                        let mut buf = [0; 2048];
                        for d in 0..DATAGRAMS {
                            let len = 8 + (c * 131 + d * 7) % 1000;
                            let msg: Vec<u8> = (0..len).map(|k| (c + d + k) as u8).collect();
                            assert_eq!(socket.send(&msg).await.unwrap(), len);
                            let n = socket.recv(&mut buf).await.unwrap();
                            assert_eq!(&buf[..n], &msg[..], "client {c}, datagram {d}");
                        }
                        DATAGRAMS
                    })
                })
                .collect();
            let mut checked = 0;
            for client in clients {
                checked += client.await.unwrap();
            }
            (echo.await.unwrap(), checked)
        })
    });
    assert_eq!(echoed, CLIENTS * DATAGRAMS);
    assert_eq!(checked, CLIENTS * DATAGRAMS);
}

/// `&self` methods: one task receives while another sends, on the same socket.
#[test]
fn one_socket_shared_by_a_sender_and_a_receiver() {
    const ROUNDS: u32 = 200;
    let received = within(LIMIT, "udp shared", || {
        let rt = runtime(2, "net-udp-shared");
        rt.block_on(async {
            let local = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            local.connect(echo.local_addr().unwrap()).await.unwrap();
            echo.connect(local.local_addr().unwrap()).await.unwrap();
            let echo_task = filch::spawn(async move {
                let mut buf = [0; 16];
                for _ in 0..ROUNDS {
                    let n = echo.recv(&mut buf).await.unwrap();
                    echo.send(&buf[..n]).await.unwrap();
                }
            });
            let (tx, rx) = (local.clone(), local);
            let receiver = filch::spawn(async move {
                let mut buf = [0; 16];
                let mut received = Vec::new();
                for _ in 0..ROUNDS {
                    let n = rx.recv(&mut buf).await.unwrap();
                    received.push(u32::from_le_bytes(buf[..n].try_into().unwrap()));
                }
                received
            });
            let sender = filch::spawn(async move {
                for i in 0..ROUNDS {
                    tx.send(&i.to_le_bytes()).await.unwrap();
                    // Pace the sender so that no datagram overflows a buffer.
                    if i % 16 == 15 {
                        filch::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            });
            sender.await.unwrap();
            echo_task.await.unwrap();
            receiver.await.unwrap()
        })
    });
    let mut sorted = received.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..ROUNDS).collect::<Vec<_>>(),
        "a datagram was lost or duplicated"
    );
}

/// A loopback address where no socket listens: port 1 (tcpmux, unused), below the range that
/// binding to port 0 hands out, so no test running beside these can take it (a port bound and
/// closed again could be).
const CLOSED_PORT: &str = "127.0.0.1:1";

/// A datagram to a closed port brings back an ICMP "port unreachable", which the kernel keeps as
/// the socket's pending error and epoll reports as an error edge. The next `recv` answers
/// `ConnectionRefused`, once, as `std` does; a later `recv` with nothing queued must wait. (The
/// error readiness used to be sticky and ready for every interest: that `recv` spun on
/// `WouldBlock` inside one poll, the worker at 100% CPU, and the `timeout` around it never fired.)
#[test]
fn recv_after_an_icmp_error_reports_it_once_then_waits() {
    let (first, later) = within(ICMP_LIMIT, "udp recv after icmp error", || {
        filch::run(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.connect(CLOSED_PORT).await.unwrap();
            socket.send(b"anyone there?").await.unwrap();
            let mut buf = [0; 64];
            let first = socket.recv(&mut buf).await.map_err(|e| e.kind());
            let later = filch::timeout(Duration::from_millis(50), socket.recv(&mut buf))
                .await
                .map(|r| r.map_err(|e| e.kind()));
            (first, later.is_err())
        })
    });
    assert_eq!(first, Err(io::ErrorKind::ConnectionRefused));
    assert!(later, "a recv with nothing queued did not wait");
}

/// The same pending error can be taken by a `send` instead (Linux reports it there too): then a
/// `recv` must find nothing and wait, and sending goes on working.
#[test]
fn send_after_an_icmp_error_reports_it_then_recv_waits() {
    let (refused_after, later, resent) = within(ICMP_LIMIT, "udp send after icmp error", || {
        filch::run(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.connect(CLOSED_PORT).await.unwrap();
            // Each datagram that goes out brings an ICMP error back; send until a send reports
            // one (on loopback the second does: the error arrives before the first send returns).
            let mut refused_after = None;
            for sent in 1..=1000 {
                match socket.send(b"anyone there?").await {
                    Ok(_) => filch::sleep(Duration::from_millis(1)).await,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        refused_after = Some(sent);
                        break;
                    }
                    Err(e) => panic!("send: {e}"),
                }
            }
            let mut buf = [0; 64];
            let later = filch::timeout(Duration::from_millis(50), socket.recv(&mut buf))
                .await
                .map(|r| r.map_err(|e| e.kind()));
            let resent = socket.send(b"still there?").await.map_err(|e| e.kind());
            (refused_after, later.is_err(), resent)
        })
    });
    assert!(refused_after.is_some(), "no send reported the ICMP error");
    assert!(later, "a recv with nothing queued did not wait");
    assert_eq!(resent, Ok(12));
}

#[test]
fn malformed_addresses_are_errors() {
    let (bind, send) = within(LIMIT, "udp malformed", || {
        filch::run(async {
            let bind = UdpSocket::bind("127.0.0.1:70000").await.map(drop);
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let send = socket.send_to(b"x", "nowhere").await;
            (bind, send)
        })
    });
    assert_eq!(bind.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(send.unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn binding_outside_a_runtime_is_an_error_that_names_filch_run() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    let fut = pin!(UdpSocket::bind("127.0.0.1:0"));
    match fut.poll(&mut cx) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("filch::run"), "{e}"),
        other => panic!("bind outside a runtime gave {other:?}"),
    }
    let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = UdpSocket::from_std(std_socket).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
}
