//! `block_on` on a multi-thread runtime: polling a future on a thread that is not a worker,
//! parking the thread between polls; and what every `block_on` shares (the nesting check, the
//! thread's parker).

use crate::coop;
use crate::scheduler::{Parker, Unparker};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct ThreadWaker(Unparker);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One parker and waker per thread, reused by every `block_on` on it.
    static PARKER: (Parker, Waker) = {
        let parker = Parker::new();
        let waker = Waker::from(Arc::new(ThreadWaker(parker.unparker().clone())));
        (parker, waker)
    };
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// This thread is inside a `block_on` until the guard is dropped.
pub(crate) struct BlockOnGuard(());

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
    }
}

/// Marks this thread as inside a `block_on`.
///
/// # Panics
/// On a worker thread or inside another `block_on`: blocking there would stall a thread the
/// runtime needs, or deadlock.
pub(crate) fn enter_block_on() -> BlockOnGuard {
    let in_worker = crate::scheduler::in_any_worker();
    if in_worker || IN_BLOCK_ON.with(|b| b.replace(true)) {
        panic!(
            "cannot block_on inside a filch runtime (a task or another block_on): it would stall \
             a thread the runtime needs; `.await` the future instead"
        );
    }
    BlockOnGuard(())
}

/// Runs `f` with this thread's parker and a waker that unparks it.
pub(crate) fn with_parker<R>(f: impl FnOnce(&Parker, &Waker) -> R) -> R {
    PARKER.with(|(parker, waker)| f(parker, waker))
}

/// `block_on` on a multi-thread runtime `rt`, on a thread that is not one of its workers: it
/// polls the future and parks the thread between polls. The future counts as busy (in
/// `Shared::block_on_busy`) from the moment it is woken until its poll returns, so that a paused
/// clock does not jump while it is about to run or running (regression: a future woken by a
/// timer lost a race with the idle check between its wake-up and its poll, and the clock jumped
/// past the next deadline under it).
pub(crate) fn block_on<F: Future>(future: F, rt: &crate::scheduler::Handle) -> F::Output {
    let _guard = enter_block_on();
    let mut future = pin!(future);
    with_parker(|parker, _| {
        let root = CountedRoot::new(rt, parker);
        loop {
            match root.poll_if_woken(future.as_mut()) {
                Some(Poll::Ready(output)) => return output,
                Some(Poll::Pending) => {}
                None => parker.park(),
            }
        }
    })
}

/// A `block_on` future polled outside the runtime's workers, counted in the runtime's
/// `block_on_busy` from each wake-up until the poll it causes returns (see [`block_on`]); also
/// used by a current-thread runtime's `block_on` while another thread holds the worker. Counted
/// as woken from the start: it is about to be polled. Dropping it stops the counting (later
/// wake-ups of its waker count nothing).
pub(crate) struct CountedRoot {
    root: Arc<CountedWaker>,
    waker: Waker,
}

impl CountedRoot {
    pub(crate) fn new(rt: &crate::scheduler::Handle, parker: &Parker) -> CountedRoot {
        rt.shared.block_on_busy.fetch_add(1, SeqCst);
        let root = Arc::new(CountedWaker {
            state: AtomicU8::new(WOKEN),
            unparker: parker.unparker().clone(),
            rt: rt.clone(),
        });
        let waker = Waker::from(root.clone());
        CountedRoot { root, waker }
    }

    /// Polls `future` if it was woken since its last poll (`None` if not: the caller parks).
    pub(crate) fn poll_if_woken<F: Future>(
        &self,
        future: std::pin::Pin<&mut F>,
    ) -> Option<Poll<F::Output>> {
        if self.root.state.swap(IDLE, SeqCst) != WOKEN {
            return None;
        }
        struct Uncount<'a>(&'a CountedWaker);
        impl Drop for Uncount<'_> {
            fn drop(&mut self) {
                self.0.uncount();
            }
        }
        let _uncount = Uncount(&self.root);
        // Counted in `block_on_busy` since it was woken.
        self.root.rt.shared.wait_for_clock_jump();
        let mut cx = Context::from_waker(&self.waker);
        Some(coop::budget(|| future.poll(&mut cx)))
    }
}

impl Drop for CountedRoot {
    /// Ends the wake's count when the `block_on` is over (or its poll panicked), and stops
    /// counting later wake-ups.
    fn drop(&mut self) {
        if self.root.state.swap(DONE, SeqCst) == WOKEN {
            self.root.uncount();
        }
    }
}

const IDLE: u8 = 0;
const WOKEN: u8 = 1;
const DONE: u8 = 2;

/// The waker of a counted `block_on` future: each wake-up is counted in the runtime's
/// `block_on_busy` until the poll it causes returns.
struct CountedWaker {
    state: AtomicU8,
    unparker: Unparker,
    rt: crate::scheduler::Handle,
}

impl CountedWaker {
    fn uncount(&self) {
        // What the poll started is visible by now (see `Shared::clock_epoch`).
        self.rt.shared.bump_clock_epoch();
        // SeqCst: pairs with the idle check's SeqCst load (see `Shared::idle_for_clock`).
        if self.rt.shared.block_on_busy.fetch_sub(1, SeqCst) == 1 {
            self.rt.clock_may_advance();
        }
    }
}

impl Wake for CountedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Counted before it is published: the poller's uncount can then never run first.
        self.rt.shared.block_on_busy.fetch_add(1, SeqCst);
        if self
            .state
            .compare_exchange(IDLE, WOKEN, SeqCst, SeqCst)
            .is_err()
        {
            // Woken already (that wake-up is counted) or the `block_on` is over.
            self.uncount();
        }
        self.unparker.unpark();
    }
}
