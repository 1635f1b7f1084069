//! Loom models of signal delivery (`state.rs`): a delivery racing a listener's poll is never
//! lost, a listener added during a delivery leaves the older listeners' delivery alone, and a
//! shutdown racing a poll always ends the wait. Run with
//! `RUSTFLAGS="--cfg filch_loom" cargo test -p filch-reactor --release --lib loom_tests`.

use super::state::SignalState;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use std::task::{Context, Poll, Wake, Waker};

/// Counts wake-ups (and holds a loom `Arc`, so a leaked waker is reported).
struct CountWaker(AtomicUsize, #[allow(dead_code)] Arc<()>);

impl Wake for CountWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn count_waker() -> (std::sync::Arc<CountWaker>, Waker) {
    let counter = std::sync::Arc::new(CountWaker(AtomicUsize::new(0), Arc::new(())));
    let waker = Waker::from(counter.clone());
    (counter, waker)
}

/// The handler's part and a driver's turn, as one thread does them (the pipe is not modelled:
/// the turn runs after the handler, as the byte makes it).
fn raise_and_deliver(state: &SignalState) {
    state.set_pending();
    let mut wakers = Vec::new();
    state.deliver_if_pending(&mut wakers);
    wakers.into_iter().for_each(Waker::wake);
}

const DRIVER: usize = 1;

#[test]
fn a_delivery_racing_a_poll_is_seen_or_wakes_the_listener() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let (key, mut seen) = state.add_listener(DRIVER, &mut Vec::new());
        let driver = {
            let state = state.clone();
            thread::spawn(move || raise_and_deliver(&state))
        };
        let (counter, waker) = count_waker();
        let mut cx = Context::from_waker(&waker);
        let first = state.poll_listener(&key, &mut seen, || false, &mut cx);
        driver.join().unwrap();
        match first {
            Poll::Ready(answer) => assert_eq!(answer, Some(())),
            Poll::Pending => {
                assert_eq!(counter.0.load(SeqCst), 1, "the delivery lost its wake-up");
                let again = state.poll_listener(&key, &mut seen, || false, &mut cx);
                assert_eq!(again, Poll::Ready(Some(())));
            }
        }
        // Delivered once, answered once.
        let after = state.poll_listener(&key, &mut seen, || false, &mut cx);
        assert_eq!(after, Poll::Pending);
        drop(state.remove_listener(&key));
    });
}

/// A listener's poll as `unix::Signal::poll_recv` makes it: deliver a pending flag itself, then
/// look.
fn poll_delivering(
    state: &SignalState,
    key: &super::state::ListenerKey,
    seen: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<Option<()>> {
    if state.is_pending() {
        let mut wakers = Vec::new();
        state.deliver_if_pending(&mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }
    state.poll_listener(key, seen, || false, cx)
}

#[test]
fn a_listener_that_delivers_itself_races_the_driver_and_sees_the_signal_once() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let (key, mut seen) = state.add_listener(DRIVER, &mut Vec::new());
        let (counter, waker) = count_waker();
        let mut cx = Context::from_waker(&waker);
        // The handler ran on another thread, whose driver delivers when it sees the byte.
        state.set_pending();
        let driver = {
            let state = state.clone();
            thread::spawn(move || {
                let mut wakers = Vec::new();
                state.deliver_if_pending(&mut wakers);
                wakers.into_iter().for_each(Waker::wake);
            })
        };
        // The listener's poll may deliver first: either way the set flag is seen now.
        let first = poll_delivering(&state, &key, &mut seen, &mut cx);
        driver.join().unwrap();
        assert_eq!(first, Poll::Ready(Some(())), "a pending flag was not seen");
        // One delivery, answered once, and no wake-up for it left over.
        assert!(poll_delivering(&state, &key, &mut seen, &mut cx).is_pending());
        assert_eq!(
            counter.0.load(SeqCst),
            0,
            "woken for a delivery already answered"
        );
        drop(state.remove_listener(&key));
    });
}

#[test]
fn a_listener_that_delivers_itself_never_loses_a_later_signal() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let (key, mut seen) = state.add_listener(DRIVER, &mut Vec::new());
        let handler_and_driver = {
            let state = state.clone();
            thread::spawn(move || raise_and_deliver(&state))
        };
        let (counter, waker) = count_waker();
        let mut cx = Context::from_waker(&waker);
        let first = poll_delivering(&state, &key, &mut seen, &mut cx);
        handler_and_driver.join().unwrap();
        if first.is_pending() {
            assert_eq!(counter.0.load(SeqCst), 1, "the delivery lost its wake-up");
        }
        let answered = first.is_ready()
            || poll_delivering(&state, &key, &mut seen, &mut cx) == Poll::Ready(Some(()));
        assert!(answered, "the signal was never seen");
        assert!(poll_delivering(&state, &key, &mut seen, &mut cx).is_pending());
        drop(state.remove_listener(&key));
    });
}

#[test]
fn a_listener_added_during_a_delivery_leaves_the_older_listeners_theirs() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let (old_key, mut old_seen) = state.add_listener(DRIVER, &mut Vec::new());
        let (counter, waker) = count_waker();
        let mut cx = Context::from_waker(&waker);
        // The older listener waits.
        assert!(state
            .poll_listener(&old_key, &mut old_seen, || false, &mut cx)
            .is_pending());

        let driver = {
            let state = state.clone();
            thread::spawn(move || raise_and_deliver(&state))
        };
        // Meanwhile a new listener is created (it may deliver the pending flag itself).
        let mut wakers = Vec::new();
        let (new_key, mut new_seen) = state.add_listener(DRIVER, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
        driver.join().unwrap();

        assert_eq!(
            counter.0.load(SeqCst),
            1,
            "the older listener was not woken once"
        );
        let old = state.poll_listener(&old_key, &mut old_seen, || false, &mut cx);
        assert_eq!(old, Poll::Ready(Some(())));
        // The new listener sees it only if the handler ran after it was added: here, only if
        // the flag was still unset when it was added. Either way, at most once.
        let new = state.poll_listener(&new_key, &mut new_seen, || false, &mut cx);
        if new.is_ready() {
            assert_eq!(new, Poll::Ready(Some(())));
            assert!(state
                .poll_listener(&new_key, &mut new_seen, || false, &mut cx)
                .is_pending());
        }
        drop(state.remove_listener(&old_key));
        drop(state.remove_listener(&new_key));
    });
}

#[test]
fn a_shutdown_racing_a_poll_ends_the_wait() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let shut_down = Arc::new(AtomicBool::new(false));
        let (key, mut seen) = state.add_listener(DRIVER, &mut Vec::new());
        let driver = {
            let state = state.clone();
            let shut_down = shut_down.clone();
            thread::spawn(move || {
                // `Handle::shutdown`: the flag, then the wake-up walk.
                shut_down.store(true, SeqCst);
                let mut wakers = Vec::new();
                state.take_driver_wakers(DRIVER, &mut wakers);
                wakers.into_iter().for_each(Waker::wake);
            })
        };
        let (counter, waker) = count_waker();
        let mut cx = Context::from_waker(&waker);
        let is_shutdown = || shut_down.load(SeqCst);
        let first = state.poll_listener(&key, &mut seen, is_shutdown, &mut cx);
        driver.join().unwrap();
        if first.is_pending() {
            assert_eq!(counter.0.load(SeqCst), 1, "the shutdown lost its wake-up");
        }
        let last = state.poll_listener(&key, &mut seen, is_shutdown, &mut cx);
        assert_eq!(last, Poll::Ready(None));
        drop(state.remove_listener(&key));
    });
}
