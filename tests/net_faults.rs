//! Network faults, each with one clear outcome: a peer that resets while we read (the read ends
//! with `ConnectionReset`) or while we write (the write ends with an error, the process is not
//! killed by `SIGPIPE`, the worker runs on), a peer that half-closes (we read the end of the
//! stream every time and can still write), a peer that never reads (the writer parks, nothing
//! piles up in user space, and everything arrives once it reads), peers that reset before
//! `accept` (the listener goes on serving), and UDP datagrams to a closed port from an
//! unconnected socket (it goes on receiving).
//!
//! A peer resets by closing with `SO_LINGER` set to 0 (through `socket2`): the kernel sends a
//! reset instead of a FIN.

mod common;

use common::{runtime, within};
use filch::net::{TcpListener, TcpStream, UdpSocket};
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Makes `socket`'s close a reset: with `SO_LINGER` 0, `close` aborts the connection.
fn reset(socket: &impl std::os::fd::AsFd) {
    socket2::SockRef::from(socket)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

/// Counts the polls of the future it wraps: a parked task is not polled, a spinning one is
/// polled again and again.
struct CountPolls<F> {
    polls: Arc<AtomicUsize>,
    inner: Pin<Box<F>>,
}

impl<F: Future> CountPolls<F> {
    fn new(polls: &Arc<AtomicUsize>, inner: F) -> CountPolls<F> {
        CountPolls {
            polls: polls.clone(),
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Waits (sleeping, so the other tasks run) until `cond` holds; the caller's `within` bounds it.
async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        filch::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_reset_while_blocked_in_read_ends_the_read_with_connection_reset() {
    let (blocked, first, next) = within(LIMIT, "reset mid-read", || {
        let rt = runtime(2, "net-fault-read");
        rt.block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut stream = TcpStream::connect(std_listener.local_addr().unwrap())
                .await
                .unwrap();
            let (peer, _) = std_listener.accept().unwrap();
            let polls = Arc::new(AtomicUsize::new(0));
            let reader = filch::spawn(CountPolls::new(&polls, async move {
                let mut buf = [0; 64];
                let first = stream.read(&mut buf).await.map_err(|e| e.kind());
                let next = stream.read(&mut buf).await.map_err(|e| e.kind());
                (first, next)
            }));
            // Polled, found nothing to read, and still waiting: blocked in `read`.
            until(|| polls.load(Ordering::SeqCst) >= 1).await;
            filch::sleep(Duration::from_millis(20)).await;
            let blocked = !reader.is_finished();
            reset(&peer);
            drop(peer);
            let (first, next) = reader.await.unwrap();
            (blocked, first, next)
        })
    });
    assert!(blocked, "the read did not wait for data");
    assert_eq!(first, Err(io::ErrorKind::ConnectionReset));
    assert_eq!(next, Ok(0), "after the reset the stream reads as ended");
}

/// The peer reads 1 MiB of a stream of 1 MiB writes, stops until the writer is parked, and
/// resets. The write ends with an error; later writes, plain and vectored, fail too (`EPIPE`,
/// which `write(2)` and `writev(2)` answer with `SIGPIPE` as well unless told not to); the one
/// worker runs another task afterwards. Run in a child process that puts `SIGPIPE` back to its
/// default action, which ends the process: a Rust `main` ignores the signal, so in this process
/// a raised `SIGPIPE` would go unseen. (Vectored writes were `writev`, and killed the child.)
#[cfg(unix)]
#[test]
fn a_reset_mid_write_is_an_error_not_a_sigpipe_and_the_worker_runs_on() {
    run_in_child(
        "mid_write_reset_child",
        "sigpipe child: every write failed, the worker ran on",
    );
}

/// The name of the environment variable that tells a child process which test it runs.
const CHILD_ENV: &str = "FILCH_NET_FAULTS_CHILD";

/// Whether this process is the child that [`run_in_child`] started for `test`: the child tests
/// are ignored, and do nothing when run otherwise.
fn is_child_for(test: &str) -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == test)
}

/// Runs the ignored test `test` of this binary alone, in a child process, and checks that it
/// passed, printing `marker`, and was not killed by a signal.
#[cfg(unix)]
fn run_in_child(test: &str, marker: &str) {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, test)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child running {test} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{test}: SIGPIPE killed the child process:\n{stdout}\n{stderr}"
    );
    assert!(out.status.success(), "{test} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(marker), "{stdout}");
}

/// The child half of `a_reset_mid_write_is_an_error_not_a_sigpipe_and_the_worker_runs_on`.
#[cfg(unix)]
#[test]
#[ignore = "run by a_reset_mid_write_is_an_error_not_a_sigpipe_and_the_worker_runs_on"]
fn mid_write_reset_child() {
    use filch::net::UnixStream;
    use futures_util::io::AsyncWriteExt;
    use std::io::Read;
    const CHUNK: usize = 1 << 20;
    if !is_child_for("mid_write_reset_child") {
        return;
    }
    // SAFETY: `signal` with a valid signal number and `SIG_DFL` only changes the disposition; no
    // handler of ours runs, and this child process runs this one test.
    let before = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_eq!(before, libc::SIG_IGN, "Rust's main ignores SIGPIPE");
    let rt = runtime(1, "net-fault-write");
    let (tcp, unix, after) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let mut peer = std::net::TcpStream::connect(addr).unwrap();
            let mut buf = vec![0; 64 << 10];
            let mut read = 0;
            while read < CHUNK {
                read += peer.read(&mut buf).unwrap();
            }
            // Long enough for the writer to fill the buffers and park.
            std::thread::sleep(Duration::from_millis(100));
            reset(&peer);
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let writer = filch::spawn(async move {
            let chunk = vec![7u8; CHUNK];
            let mut sent = 0;
            let first = loop {
                match stream.write(&chunk).await {
                    Ok(n) => sent += n,
                    Err(e) => break e.kind(),
                }
                assert!(sent < 1 << 30, "1 GiB written to a peer that reset");
            };
            let plain = stream.write(b"more").await.map_err(|e| e.kind());
            let bufs = [IoSlice::new(b"more")];
            let vectored = stream.write_vectored(&bufs).await.map_err(|e| e.kind());
            [Err(first), plain, vectored]
        });
        let tcp = writer.await.unwrap();
        peer.join().unwrap();
        // A Unix stream whose peer is gone: the same two writes.
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        let plain = ours.write(b"more").await.map_err(|e| e.kind());
        let bufs = [IoSlice::new(b"more")];
        let vectored = ours.write_vectored(&bufs).await.map_err(|e| e.kind());
        // The worker survived: it runs another task.
        let after = filch::spawn(async {
            filch::yield_now().await;
            42
        })
        .await
        .unwrap();
        (tcp, [plain, vectored], after)
    });
    let failed = |r: &Result<usize, io::ErrorKind>| {
        matches!(
            r,
            Err(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
        )
    };
    assert!(tcp.iter().all(failed), "tcp writes: {tcp:?}");
    assert!(unix.iter().all(failed), "unix writes: {unix:?}");
    assert_eq!(after, 42);
    println!("sigpipe child: every write failed, the worker ran on (tcp {tcp:?}, unix {unix:?})");
}

/// `net_tcp` shows the other direction (we shut down, the peer reads the end and replies). Here
/// the peer shuts its write direction down: we read its last bytes, then `Ok(0)` on every read,
/// at once; we keep writing and the peer receives it; the peer's own writes after its shutdown
/// fail with `BrokenPipe`.
#[test]
fn after_the_peer_half_closes_we_read_eof_every_time_and_still_write() {
    let (eofs, peer_write, received) = within(LIMIT, "peer half-close", || {
        filch::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut ours = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut theirs, _) = listener.accept().await.unwrap();
            theirs.write_all(b"last words").await.unwrap();
            theirs.shutdown(Shutdown::Write).unwrap();
            let peer_write = theirs.write(b"x").await.map_err(|e| e.kind());
            let mut last = [0; 10];
            ours.read_exact(&mut last).await.unwrap();
            assert_eq!(&last, b"last words");
            let mut eofs = Vec::new();
            let mut buf = [0; 16];
            for _ in 0..5 {
                eofs.push(ours.read(&mut buf).await.map_err(|e| e.kind()));
            }
            ours.write_all(b"still here").await.unwrap();
            ours.shutdown(Shutdown::Write).unwrap();
            let mut received = Vec::new();
            loop {
                match theirs.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
            (eofs, peer_write, received)
        })
    });
    assert_eq!(eofs, [Ok(0); 5], "reads after the end of the stream");
    assert_eq!(peer_write, Err(io::ErrorKind::BrokenPipe));
    assert_eq!(received, b"still here");
}

/// The same on a Unix stream pair: the peer shuts its write direction down, we read the end of
/// the stream every time and can still write to it.
#[cfg(unix)]
#[test]
fn a_half_closed_unix_stream_reads_eof_every_time_and_still_writes() {
    use filch::net::UnixStream;
    let (eofs, received) = within(LIMIT, "unix half-close", || {
        filch::run(async {
            let (mut ours, mut theirs) = UnixStream::pair().unwrap();
            theirs.shutdown(Shutdown::Write).unwrap();
            let mut eofs = Vec::new();
            let mut buf = [0; 16];
            for _ in 0..5 {
                eofs.push(ours.read(&mut buf).await.map_err(|e| e.kind()));
            }
            ours.write_all(b"still here").await.unwrap();
            let mut received = [0; 10];
            theirs.read_exact(&mut received).await.unwrap();
            (eofs, received)
        })
    });
    assert_eq!(eofs, [Ok(0); 5], "reads after the end of the stream");
    assert_eq!(&received, b"still here");
}

/// The resident set of this process, in bytes.
#[cfg(target_os = "linux")]
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: `sysconf` only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap()
}

/// A writer streams to a peer that does not read. It fills the kernel's buffers and parks:
/// polled at most a few times while it waits (a writer that spins is polled thousands of times),
/// and the process's resident set grows by far less than what a user-space buffer of its writes
/// would take. Then the peer reads, and every byte arrives, in order. Measured in a child process
/// of its own: the tests running beside it here would move the resident set (a failing one's
/// backtrace alone maps tens of MiB of debug information).
#[cfg(target_os = "linux")]
#[test]
fn a_writer_to_a_peer_that_never_reads_parks_without_buffering_then_delivers_everything() {
    run_in_child(
        "never_reading_peer_child",
        "never-reading peer child: parked, delivered",
    );
}

/// The child half of
/// `a_writer_to_a_peer_that_never_reads_parks_without_buffering_then_delivers_everything`.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by a_writer_to_a_peer_that_never_reads_parks_without_buffering_then_delivers_everything"]
fn never_reading_peer_child() {
    const CHUNK: usize = 64 << 10;
    /// The writer stops here if it never waits (the test fails then).
    const CAP: usize = 1 << 30;
    /// How much more memory the process may hold while the writer waits: the kernel holds the
    /// written bytes, not the process.
    const GROWTH_BOUND: usize = 16 << 20;
    if !is_child_for("never_reading_peer_child") {
        return;
    }
    let (total, received, polls_while_parked, growth) = within(LIMIT, "never reads", || {
        let rt = runtime(2, "net-fault-stall");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut stream = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut reader, _) = listener.accept().await.unwrap();
            let written = Arc::new(AtomicUsize::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let polls = Arc::new(AtomicUsize::new(0));
            // Byte k of the stream is k % 251: one chunk can start at any offset of the cycle.
            let pattern: Vec<u8> = (0..CHUNK + 251).map(|i| (i % 251) as u8).collect();
            let before = resident_bytes();
            let writer = filch::spawn(CountPolls::new(&polls, {
                let (written, stop) = (written.clone(), stop.clone());
                async move {
                    let mut total = 0;
                    while !stop.load(Ordering::SeqCst) && total < CAP {
                        let start = total % 251;
                        total += stream.write(&pattern[start..start + CHUNK]).await.unwrap();
                        written.store(total, Ordering::SeqCst);
                    }
                    stream.shutdown(Shutdown::Write).unwrap();
                    total
                }
            }));
            // Settled: nothing more written for 100 ms.
            let mut last = usize::MAX;
            while written.load(Ordering::SeqCst) != last {
                last = written.load(Ordering::SeqCst);
                filch::sleep(Duration::from_millis(100)).await;
            }
            assert!(!writer.is_finished(), "the writer never waited");
            let polls_before = polls.load(Ordering::SeqCst);
            filch::sleep(Duration::from_millis(200)).await;
            let polls_while_parked = polls.load(Ordering::SeqCst) - polls_before;
            let growth = resident_bytes().saturating_sub(before);
            stop.store(true, Ordering::SeqCst);
            let mut buf = vec![0; CHUNK];
            let mut received = 0;
            loop {
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                for (i, byte) in buf[..n].iter().enumerate() {
                    let k = received + i;
                    assert_eq!(*byte, (k % 251) as u8, "byte {k}");
                }
                received += n;
            }
            (writer.await.unwrap(), received, polls_while_parked, growth)
        })
    });
    assert!(
        total < CAP,
        "the writer wrote 1 GiB to a peer that never read"
    );
    assert!(
        polls_while_parked <= 10,
        "the parked writer was polled {polls_while_parked} times in 200 ms"
    );
    assert!(
        growth < GROWTH_BOUND,
        "the resident set grew by {growth} bytes while the writer waited ({total} bytes written)"
    );
    assert_eq!(received, total, "bytes lost or added");
    println!(
        "never-reading peer child: parked, delivered ({total} bytes, {polls_while_parked} polls \
         while parked, resident set +{growth} bytes)"
    );
}

/// Clients connect and reset before the server accepts: each queued connection is accepted
/// (its read fails or ends) or `accept` fails with a per-connection error; the listener goes on,
/// and a good client that connects afterwards is accepted and served.
#[test]
fn peers_that_reset_before_accept_leave_the_listener_serving() {
    const RESETS: usize = 32;
    let (reply, read_errors, eofs, accept_errors) = within(LIMIT, "reset before accept", || {
        let rt = runtime(2, "net-fault-accept");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // The kernel completes each handshake and queues the connection; the reset follows.
            for _ in 0..RESETS {
                reset(&std::net::TcpStream::connect(addr).unwrap());
            }
            let good = filch::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(b"hello").await.unwrap();
                let mut reply = Vec::new();
                let mut buf = [0; 16];
                loop {
                    match stream.read(&mut buf).await.unwrap() {
                        0 => return reply,
                        n => reply.extend_from_slice(&buf[..n]),
                    }
                }
            });
            let (mut read_errors, mut eofs, mut accept_errors) = (Vec::new(), 0, Vec::new());
            let mut served = false;
            for _ in 0..=RESETS {
                let mut stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        accept_errors.push(e.kind());
                        continue;
                    }
                };
                let mut hello = [0; 5];
                match stream.read(&mut hello[..1]).await {
                    Ok(0) => eofs += 1,
                    Err(e) => read_errors.push(e.kind()),
                    Ok(_) => {
                        stream.read_exact(&mut hello[1..]).await.unwrap();
                        assert_eq!(&hello, b"hello");
                        stream.write_all(b"served").await.unwrap();
                        served = true;
                        break;
                    }
                }
            }
            assert!(
                served,
                "the good client was not accepted after {RESETS} resets"
            );
            (good.await.unwrap(), read_errors, eofs, accept_errors)
        })
    });
    assert_eq!(reply, b"served");
    assert!(
        read_errors.len() + eofs + accept_errors.len() <= RESETS,
        "more failed connections than resets"
    );
    for kind in read_errors.iter().chain(&accept_errors) {
        assert!(
            matches!(
                kind,
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
            "{kind:?}"
        );
    }
}

/// `net_udp` covers a connected socket, to which the kernel reports the ICMP error of a closed
/// port. An unconnected socket is told nothing: its `send_to` a closed port succeeds, a `recv_from`
/// with nothing queued waits, and it goes on receiving from and sending to a good peer.
#[test]
fn an_unconnected_udp_socket_sending_to_a_closed_port_still_serves_a_good_peer() {
    let (sends, waited, got, back) = within(Duration::from_secs(10), "udp closed port", || {
        filch::run(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut sends = Vec::new();
            for _ in 0..5 {
                // Port 1: privileged and unused, so no test beside this one can take it.
                let sent = socket.send_to(b"anyone there?", "127.0.0.1:1").await;
                sends.push(sent.map_err(|e| e.kind()));
                // Time for the ICMP error to come back.
                filch::sleep(Duration::from_millis(1)).await;
            }
            let mut buf = [0; 64];
            let waited = filch::timeout(Duration::from_millis(50), socket.recv_from(&mut buf))
                .await
                .is_err();
            peer.send_to(b"hello", socket.local_addr().unwrap())
                .await
                .unwrap();
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, peer.local_addr().unwrap());
            let got = buf[..n].to_vec();
            socket.send_to(b"reply", from).await.unwrap();
            let (n, _) = peer.recv_from(&mut buf).await.unwrap();
            (sends, waited, got, buf[..n].to_vec())
        })
    });
    assert_eq!(sends, [Ok(13); 5]);
    assert!(waited, "a recv_from with nothing queued did not wait");
    assert_eq!(got, b"hello");
    assert_eq!(back, b"reply");
}
