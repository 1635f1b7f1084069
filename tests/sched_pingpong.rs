//! Cross-thread wake-ups: long ping-pongs between two tasks (and between a task and
//! `block_on`) never hang, and a task woken from a plain thread is never left asleep (a
//! lost-wake-up stress of many rounds).

mod common;

use common::{runtime, within};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A one-slot channel: `send` stores a value and wakes the receiver, `recv` waits for it. Built
/// on a `Mutex` and a `Waker` only, so a lost wake-up in the runtime shows as a hang.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

impl<T> Slot<T> {
    fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                value: None,
                waker: None,
            }),
        })
    }

    fn send(&self, value: T) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            assert!(state.value.is_none(), "one-slot channel overrun");
            state.value = Some(value);
            state.waker.take()
        };
        // Woken outside the lock, by value (consuming the waker).
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn recv(&self) -> Recv<'_, T> {
        Recv { slot: self }
    }
}

struct Recv<'a, T> {
    slot: &'a Slot<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.slot.state.lock().unwrap();
        match state.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                match &state.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

#[test]
fn two_tasks_ping_pong_100_000_rounds() {
    const ROUNDS: u64 = 100_000;
    let rounds = within(LIMIT, "task ping-pong", || {
        let rt = runtime(2, "pingpong");
        let (ping, pong) = (Slot::<u64>::new(), Slot::<u64>::new());
        let server = rt.spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..ROUNDS {
                    let v = ping.recv().await;
                    pong.send(v + 1);
                }
            }
        });
        let client = rt.spawn(async move {
            let mut done = 0;
            for i in 0..ROUNDS {
                ping.send(2 * i);
                assert_eq!(pong.recv().await, 2 * i + 1);
                done += 1;
            }
            done
        });
        let done = rt.block_on(client).unwrap();
        rt.block_on(server).unwrap();
        done
    });
    assert_eq!(rounds, ROUNDS);
}

#[test]
fn block_on_and_a_task_ping_pong_20_000_rounds() {
    const ROUNDS: u64 = 20_000;
    let rounds = within(LIMIT, "block_on ping-pong", || {
        let rt = runtime(2, "pingpong-bo");
        let (ping, pong) = (Slot::<u64>::new(), Slot::<u64>::new());
        let server = rt.spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..ROUNDS {
                    let v = ping.recv().await;
                    pong.send(v * 3);
                }
            }
        });
        // The other side runs on the block_on thread, parked between rounds.
        let done = rt.block_on(async move {
            let mut done = 0;
            for i in 0..ROUNDS {
                ping.send(i);
                assert_eq!(pong.recv().await, i * 3);
                done += 1;
            }
            done
        });
        rt.block_on(server).unwrap();
        done
    });
    assert_eq!(rounds, ROUNDS);
}

#[test]
fn ping_pong_with_a_fresh_oneshot_reply_channel_per_round() {
    const ROUNDS: u64 = 50_000;
    let rounds = within(LIMIT, "oneshot ping-pong", || {
        let rt = runtime(2, "pingpong-oneshot");
        let requests = Slot::<(u64, futures_channel::oneshot::Sender<u64>)>::new();
        let server = rt.spawn({
            let requests = requests.clone();
            async move {
                for _ in 0..ROUNDS {
                    let (v, reply) = requests.recv().await;
                    reply.send(v + 7).unwrap();
                }
            }
        });
        let client = rt.spawn(async move {
            let mut done = 0;
            for i in 0..ROUNDS {
                let (tx, rx) = futures_channel::oneshot::channel();
                requests.send((i, tx));
                assert_eq!(rx.await.unwrap(), i + 7);
                done += 1;
            }
            done
        });
        let done = rt.block_on(client).unwrap();
        rt.block_on(server).unwrap();
        done
    });
    assert_eq!(rounds, ROUNDS);
}

/// How the plain thread times its wake: before the task can have polled, right away, or a
/// little later (after the task most likely went to sleep and its worker parked).
fn wake_delay(i: usize) {
    match i % 4 {
        0 => {}
        1 => std::thread::yield_now(),
        2 => common::busy_for(Duration::from_micros(20)),
        _ => common::busy_for(Duration::from_micros(100)),
    }
}

#[test]
fn tasks_woken_from_a_plain_thread_never_miss_the_wake_up() {
    const ITERATIONS: usize = 10_000;
    let completed = within(LIMIT, "wake-up stress (oneshot)", || {
        let rt = runtime(2, "lost-wake");
        let (to_waker, jobs) = mpsc::channel::<(futures_channel::oneshot::Sender<usize>, usize)>();
        let waker_thread = std::thread::spawn(move || {
            for (tx, i) in jobs {
                wake_delay(i);
                tx.send(i).unwrap();
            }
        });
        let mut completed = 0;
        for i in 0..ITERATIONS {
            let (tx, rx) = futures_channel::oneshot::channel();
            let join = rt.spawn(async move { rx.await.unwrap() });
            to_waker.send((tx, i)).unwrap();
            assert_eq!(rt.block_on(join).unwrap(), i);
            completed += 1;
        }
        drop(to_waker);
        waker_thread.join().unwrap();
        completed
    });
    assert_eq!(completed, ITERATIONS);
}

#[test]
fn tasks_woken_by_a_raw_waker_from_a_plain_thread_never_miss_the_wake_up() {
    const ITERATIONS: usize = 10_000;
    let completed = within(LIMIT, "wake-up stress (raw waker)", || {
        // One worker: it parks whenever its only task sleeps.
        let rt = runtime(1, "lost-wake-raw");
        let (to_waker, jobs) = mpsc::channel::<(Arc<Slot<usize>>, usize)>();
        let waker_thread = std::thread::spawn(move || {
            for (slot, i) in jobs {
                wake_delay(i);
                slot.send(i);
            }
        });
        let (done_tx, done_rx) = mpsc::channel();
        let mut completed = 0;
        for i in 0..ITERATIONS {
            let slot = Slot::new();
            // Detached; reports on a std channel, so the test thread is not in block_on.
            let done_tx = done_tx.clone();
            drop(rt.spawn({
                let slot = slot.clone();
                async move { done_tx.send(slot.recv().await).unwrap() }
            }));
            to_waker.send((slot, i)).unwrap();
            let got = done_rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("iteration {i}: the task was never woken"));
            assert_eq!(got, i);
            completed += 1;
        }
        drop(to_waker);
        waker_thread.join().unwrap();
        completed
    });
    assert_eq!(completed, ITERATIONS);
}

#[test]
fn tasks_on_two_runtimes_ping_pong_20_000_rounds() {
    const ROUNDS: u64 = 20_000;
    let rounds = within(LIMIT, "cross-runtime ping-pong", || {
        // A wake from a worker of the other runtime must go through this runtime's injector.
        let (rt_a, rt_b) = (runtime(1, "pingpong-a"), runtime(1, "pingpong-b"));
        let (ping, pong) = (Slot::<u64>::new(), Slot::<u64>::new());
        let server = rt_b.spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..ROUNDS {
                    let v = ping.recv().await;
                    pong.send(v ^ 1);
                }
            }
        });
        let client = rt_a.spawn(async move {
            let mut done = 0;
            for i in 0..ROUNDS {
                ping.send(2 * i);
                assert_eq!(pong.recv().await, 2 * i + 1);
                done += 1;
            }
            done
        });
        let done = rt_a.block_on(client).unwrap();
        rt_b.block_on(server).unwrap();
        done
    });
    assert_eq!(rounds, ROUNDS);
}
