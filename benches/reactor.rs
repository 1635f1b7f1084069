//! Reactor benchmarks: timers and TCP echo, on filch and on tokio side by side (2 workers each,
//! same parameters, same allocator, same process).
//!
//! `cargo bench --bench reactor`, then `python3 benches/ratios.py`. Groups:
//! - `timers_fire`: 100,000 tasks each sleep a random 0–10 ms (the same pseudo-random sequence on
//!   both runtimes) and are joined; time per iteration.
//! - `timers_cancel`: 100,000 sleeps of one hour, each polled once (which registers it with the
//!   timer wheel — tokio's own timer benches never do) and then dropped.
//! - `timer_lateness`: 1,000 tasks sleep random 0–10 ms; the reported "time" is the *mean
//!   lateness* past the deadline (criterion's `iter_custom` returns it), so lower is better.
//! - `tcp_echo`: 50 connections × 2,000 round trips of 64 bytes over loopback; time per iteration.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use std::time::Duration;

mod common;

const WORKERS: usize = 2;
const TIMERS: usize = 100_000;
const LATENESS_TIMERS: usize = 1_000;
const ECHO_CONNECTIONS: usize = 50;
const ECHO_ROUND_TRIPS: usize = 2_000;
const ECHO_MESSAGE: usize = 64;

/// The shared pseudo-random sleep durations, 0–10 ms.
use common::work::durations;

macro_rules! suite {
    (
        $name:ident, $Rt:ty, $build:expr, $spawn:path, $sleep:path, $sleep_until:path,
        $TcpListener:ty, $TcpStream:ty, $($io_traits:path),*
    ) => {
        mod $name {
            use super::{durations, LATENESS_TIMERS, TIMERS, WORKERS};
            use super::{ECHO_CONNECTIONS, ECHO_MESSAGE, ECHO_ROUND_TRIPS};
            #[allow(unused_imports)]
            use {$($io_traits),*};
            use criterion::measurement::WallTime;
            use criterion::BenchmarkGroup;
            use std::future::Future;
            use std::pin::pin;
            use std::task::Poll;
            use std::time::{Duration, Instant};

            const ID: &str = stringify!($name);

            fn rt() -> $Rt {
                let _ = WORKERS;
                $build
            }

            pub(crate) fn timers_fire(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let ds = durations(TIMERS);
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let handles: Vec<_> = ds
                                .iter()
                                .map(|&d| $spawn(async move { $sleep(d).await }))
                                .collect();
                            for h in handles {
                                h.await.unwrap();
                            }
                        })
                    })
                });
            }

            pub(crate) fn timers_cancel(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            for _ in 0..TIMERS {
                                let mut sleep = pin!($sleep(Duration::from_secs(3600)));
                                std::future::poll_fn(|cx| {
                                    assert!(sleep.as_mut().poll(cx).is_pending());
                                    Poll::Ready(())
                                })
                                .await;
                            }
                        })
                    })
                });
            }

            pub(crate) fn timer_lateness(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let ds = durations(LATENESS_TIMERS);
                g.bench_function(ID, |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let late: Duration = rt.block_on(async {
                                let handles: Vec<_> = ds
                                    .iter()
                                    .map(|&d| {
                                        $spawn(async move {
                                            let deadline = Instant::now() + d;
                                            $sleep_until(deadline.into()).await;
                                            Instant::now().saturating_duration_since(deadline)
                                        })
                                    })
                                    .collect();
                                let mut sum = Duration::ZERO;
                                for h in handles {
                                    sum += h.await.unwrap();
                                }
                                sum
                            });
                            total += late / LATENESS_TIMERS as u32;
                        }
                        total
                    })
                });
            }

            pub(crate) fn tcp_echo(g: &mut BenchmarkGroup<'_, WallTime>) {
                let rt = rt();
                let listener = rt.block_on(async {
                    <$TcpListener>::bind("127.0.0.1:0").await.unwrap()
                });
                let addr = listener.local_addr().unwrap();
                // The server: one task per connection, echoing until the client closes.
                let server = rt.spawn(async move {
                    loop {
                        let (mut stream, _) = listener.accept().await.unwrap();
                        let _detached = $spawn(async move {
                            let mut buf = [0u8; 4096];
                            loop {
                                match stream.read(&mut buf).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => {
                                        if stream.write_all(&buf[..n]).await.is_err() {
                                            return;
                                        }
                                    }
                                }
                            }
                        });
                    }
                });
                g.bench_function(ID, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let clients: Vec<_> = (0..ECHO_CONNECTIONS)
                                .map(|c| {
                                    $spawn(async move {
                                        let mut stream = <$TcpStream>::connect(addr).await.unwrap();
                                        stream.set_nodelay(true).unwrap();
                                        let out = [c as u8; ECHO_MESSAGE];
                                        let mut back = [0u8; ECHO_MESSAGE];
                                        for _ in 0..ECHO_ROUND_TRIPS {
                                            stream.write_all(&out).await.unwrap();
                                            stream.read_exact(&mut back).await.unwrap();
                                            assert_eq!(back, out);
                                        }
                                    })
                                })
                                .collect();
                            for c in clients {
                                c.await.unwrap();
                            }
                        })
                    })
                });
                server.abort();
            }
        }
    };
}

suite!(
    filch,
    filch::Runtime,
    filch::Builder::new()
        .worker_threads(WORKERS)
        .build()
        .unwrap(),
    filch::spawn,
    filch::sleep,
    filch::sleep_until,
    filch::net::TcpListener,
    filch::net::TcpStream,
    std::io::Read
);
suite!(
    tokio,
    tokio::runtime::Runtime,
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap(),
    tokio::spawn,
    tokio::time::sleep,
    tokio::time::sleep_until,
    tokio::net::TcpListener,
    tokio::net::TcpStream,
    tokio::io::AsyncReadExt,
    tokio::io::AsyncWriteExt
);

/// Few samples of a few seconds: an iteration takes milliseconds to seconds here.
fn run_pair(c: &mut Criterion, name: &str, filch: common::Workload, tokio: common::Workload) {
    let configure = |group: &mut BenchmarkGroup<'_, WallTime>| {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(5));
    };
    common::run_pair(c, name, configure, filch, tokio);
}

fn reactor(c: &mut Criterion) {
    run_pair(c, "timers_fire", filch::timers_fire, tokio::timers_fire);
    run_pair(
        c,
        "timers_cancel",
        filch::timers_cancel,
        tokio::timers_cancel,
    );
    run_pair(
        c,
        "timer_lateness",
        filch::timer_lateness,
        tokio::timer_lateness,
    );
    run_pair(c, "tcp_echo", filch::tcp_echo, tokio::tcp_echo);
}

criterion_group!(benches, reactor);
criterion_main!(benches);
