//! The Rust twin of an asyncio class-based awaitable: a struct implementing `Future` by hand.
//!
//! ```python
//! class Delay:
//!     def __init__(self, seconds):
//!         self.deadline = time.monotonic() + seconds
//!     def remaining(self):
//!         return max(0.0, self.deadline - time.monotonic())
//!     def __await__(self):
//!         yield from asyncio.sleep(self.remaining()).__await__()
//! ```
//!
//! `poll` is one step of `__await__`'s generator (the event loop's `send(None)`):
//! `Poll::Pending` is the `yield` that suspends the task, `Poll::Ready(v)` the `return v`. What
//! asyncio does behind the scenes when the awaited thing finishes — schedule the task's next
//! step — is explicit in Rust: `poll` keeps the task's `Waker`, and whoever makes the future
//! ready (here, a timer thread) calls `wake()`. A future that returns `Pending` without arranging
//! a wake-up is never polled again. (A type that is not itself the state machine, but makes one
//! when awaited, as `__await__` returning a fresh iterator, implements `IntoFuture` instead.)
//!
//! `cargo run --example custom_future`

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Ready at its deadline; resolves to how many times it was polled.
struct Delay {
    deadline: Instant,
    polls: u32,
    /// The waker of the task awaiting us, shared with the timer thread; `None` until the first
    /// poll (like a coroutine, nothing happens until the `Delay` is awaited).
    waker: Option<Arc<Mutex<Waker>>>,
}

impl Delay {
    fn new(duration: Duration) -> Delay {
        Delay {
            deadline: Instant::now() + duration,
            polls: 0,
            waker: None,
        }
    }

    /// A plain method, as `remaining(self)` in the Python class.
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// An `async fn` that awaits `self`, as a coroutine method doing `await self`.
    async fn wait_verbose(self, start: Instant, label: &str) -> u32 {
        log(
            start,
            format!("  {label}: waiting {:.0?}", self.remaining()),
        );
        let polls = self.await;
        log(start, format!("  {label}: ready after {polls} polls"));
        polls
    }
}

impl Future for Delay {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if Instant::now() >= self.deadline {
            return Poll::Ready(self.polls);
        }
        match &self.waker {
            // Still waiting: the task may have moved (another worker, or this `Delay` moved
            // into another task), so keep the waker of the latest poll.
            Some(waker) => {
                let mut waker = waker.lock().unwrap();
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
            }
            // First poll: start a timer thread that wakes whoever awaits us at the deadline.
            None => {
                let waker = Arc::new(Mutex::new(cx.waker().clone()));
                let (shared, deadline) = (waker.clone(), self.deadline);
                std::thread::spawn(move || {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    shared.lock().unwrap().wake_by_ref();
                });
                self.waker = Some(waker);
            }
        }
        Poll::Pending
    }
}

#[filch::main]
async fn main() {
    let start = Instant::now();
    let delay = Delay::new(Duration::from_millis(200));
    log(
        start,
        format!("awaiting a Delay, remaining() = {:.0?}", delay.remaining()),
    );
    let polls = delay.await;
    log(
        start,
        format!("ready after {polls} polls: one to start, one after the wake"),
    );

    log(start, "through the async fn helper:");
    Delay::new(Duration::from_millis(100))
        .wait_verbose(start, "helper")
        .await;

    log(start, "in join!, alongside another Delay and a sleep:");
    let (a, b, ()) = filch::join!(
        Delay::new(Duration::from_millis(150)),
        Delay::new(Duration::from_millis(50)),
        filch::sleep(Duration::from_millis(100)),
    );
    log(start, format!("  join! -> polls ({a}, {b})"));
    log(
        start,
        "  (join! polls every unfinished future each time its task wakes)",
    );

    log(
        start,
        "a 100 ms timeout on &mut a 300 ms Delay, then the rest of it:",
    );
    let mut delay = Delay::new(Duration::from_millis(300));
    let first = filch::timeout(Duration::from_millis(100), &mut delay).await;
    if let Err(elapsed) = first {
        log(
            start,
            format!("  {elapsed}; remaining() = {:.0?}", delay.remaining()),
        );
    }
    let polls = delay.await;
    log(
        start,
        format!("  ready after {polls} polls in all, under the timeout and after it"),
    );

    log(start, "as a task of its own, on a worker:");
    let polls = filch::spawn(Delay::new(Duration::from_millis(100))).await;
    log(start, format!("  spawned Delay -> {polls:?}"));
}
