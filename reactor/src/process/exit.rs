//! How a child's exit reaches the reactor: a pidfd, or `SIGCHLD`; and the reaper of the children
//! nobody waits for.

use crate::coop;
use crate::io::registration::PollEvented;
use crate::io::Interest;
use crate::signal::unix::{signal, Signal, SignalKind};
use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// What a child's exit is watched through.
pub(super) enum ExitWatch {
    /// A pidfd registered with the driver: readable once the child has exited.
    #[cfg(target_os = "linux")]
    PidFd(PollEvented<PidFd>),
    /// A listener of `SIGCHLD`: any child's exit is a delivery, after which `try_wait` tells
    /// whether it was this one.
    Signal(Signal),
}

/// Set when pidfds are known not to work here (an old kernel, a seccomp filter), or when
/// [`use_sigchld_only`] asked for the fallback: every later child is watched through `SIGCHLD`.
static SIGCHLD_ONLY: AtomicBool = AtomicBool::new(!cfg!(target_os = "linux"));

/// Makes every child spawned from now on be watched through `SIGCHLD` rather than a pidfd, as on
/// a kernel without pidfds (before Linux 5.3) or on other Unix systems. For tests of the
/// fallback; there is no way back.
#[doc(hidden)]
pub fn use_sigchld_only() {
    SIGCHLD_ONLY.store(true, Ordering::Relaxed);
}

/// The `SIGCHLD` listener for a child about to be spawned, if it will be watched that way.
///
/// Made before the spawn, although the first `try_wait` after it would do (a listener sees every
/// delivery whose handler runs after it exists, and `try_wait` sees an exit that came before): so
/// that a failure to listen fails the spawn, not the wait.
pub(super) fn listener_before_spawn() -> io::Result<Option<Signal>> {
    if SIGCHLD_ONLY.load(Ordering::Relaxed) {
        signal(SignalKind::child()).map(Some)
    } else {
        Ok(None)
    }
}

impl ExitWatch {
    /// The watch for the child `pid`, just spawned: `listener` if one was made before the spawn,
    /// else a pidfd, else (pidfds unavailable) a `SIGCHLD` listener made now.
    pub(super) fn new(pid: u32, listener: Option<Signal>) -> io::Result<ExitWatch> {
        if let Some(listener) = listener {
            return Ok(ExitWatch::Signal(listener));
        }
        #[cfg(target_os = "linux")]
        match pidfd_open(pid) {
            Ok(fd) => return Ok(ExitWatch::PidFd(PollEvented::new(PidFd(fd))?)),
            // Not this kernel, or not allowed by a sandbox: `SIGCHLD` from now on.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                SIGCHLD_ONLY.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
        let _ = pid;
        signal(SignalKind::child()).map(ExitWatch::Signal)
    }

    /// What it watches through, for `Child`'s `Debug`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            ExitWatch::PidFd(_) => "pidfd",
            ExitWatch::Signal(_) => "SIGCHLD",
        }
    }

    /// `Ready(Ok)` when the child may have exited since the last call (the caller then asks
    /// `try_wait`); an error once the runtime that watches it is gone. Stores `cx`'s waker while
    /// `Pending`. Spends no budget.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            // Once per event, the readiness forgotten as it is seen: the pidfd turns readable
            // when the child exits, but `waitpid` cannot always reap it then (a tracer, a
            // debugger or `strace -p`, sees the exit first: found by an attack test), and a
            // readiness kept would make `poll_exit` ask `waitpid` again at once, forever, on
            // the worker. The kernel wakes the pidfd's pollers again when the exit is handed
            // to this process (the tracer reaped the notification, or let go), which is a new
            // event; an exit that came before the readiness was forgotten is seen by the
            // `try_wait` that follows.
            #[cfg(target_os = "linux")]
            ExitWatch::PidFd(io) => io.poll_ready_once(cx, Interest::READABLE),
            ExitWatch::Signal(listener) => match coop::unconstrained(|| listener.poll_recv(cx)) {
                Poll::Ready(Some(())) => Poll::Ready(Ok(())),
                Poll::Ready(None) => Poll::Ready(Err(crate::driver::shutdown_error())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Waits for `child` to exit, through `watch`: `try_wait` first (an exit that came before the
/// watch existed is seen there), then each event, then `try_wait` again.
pub(super) fn poll_exit(
    child: &mut std::process::Child,
    watch: &mut ExitWatch,
    cx: &mut Context<'_>,
) -> Poll<io::Result<ExitStatus>> {
    loop {
        if let Some(status) = try_wait(child)? {
            return Poll::Ready(Ok(status));
        }
        std::task::ready!(watch.poll_event(cx))?;
    }
}

/// `std`'s `try_wait` (a `waitpid(pid, WNOHANG)`: it never reaps another process's child),
/// retried on `EINTR`.
pub(super) fn try_wait(child: &mut std::process::Child) -> io::Result<Option<ExitStatus>> {
    loop {
        match child.try_wait() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Locks `mutex`, ignoring poisoning (nothing here panics under these locks). A `std` mutex in
/// every build: the reaper's state is outside the loom models (a `static` needs a `const` mutex).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pidfd (`pidfd_open(2)`), as a mio source.
#[cfg(target_os = "linux")]
pub(super) struct PidFd(OwnedFd);

#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor or -1; no memory
    // is passed. `PIDFD_NONBLOCK` is not asked for: the descriptor is only polled.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call returned a new descriptor, owned by nobody else; `fd` fits a `c_int`
    // (descriptors are `int`s; `syscall` returns `long`).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(target_os = "linux")]
impl mio::event::Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

/// A child dropped before it was seen to exit, with its watch. Its own waker: each event (the
/// pidfd turning readable, a `SIGCHLD`) calls [`Wake::wake`], which asks `try_wait` and either
/// reaps the child, dropping the watch, or waits for the next event. No thread and no task: the
/// driver turn that sees the event does the reaping.
///
/// # Wakes never block, and never nest
///
/// Polling a `SIGCHLD` listener may deliver a pending `SIGCHLD` on the spot, waking every
/// listener then and there: other reapers, and this one too if its waker was stored by an
/// earlier round of the same poll. So a wake can come while this reaper polls, from inside its
/// own poll or from another thread that is itself inside another reaper's poll. A wake that
/// locked and polled would deadlock there (on its own lock, or two threads each holding one
/// reaper's lock and waking the other's: found by the `SIGCHLD` storm attack test).
///
/// So a wake first claims the poll (`state`: idle to running); a wake that finds it running
/// only marks it notified, and the poller polls again before it lets go: no wake is lost and
/// none waits. And a reaper woken while another polls on the same thread is not polled inside
/// that poll but queued ([`NESTED`]) and polled after it, by the outermost one: a storm of
/// deliveries cannot stack reaper polls one inside another until the stack runs out.
struct Reaper {
    /// [`IDLE`], [`RUNNING`], or `RUNNING | NOTIFIED`.
    state: AtomicU8,
    /// `None` once reaped (or moved to [`LEFTOVERS`]). Locked only by the holder of the poll
    /// (`state` running), so never contended.
    child: Mutex<Option<(std::process::Child, ExitWatch)>>,
}

/// Nobody polls the reaper.
const IDLE: u8 = 0;
/// One thread holds the poll (polling it, or about to: queued in [`NESTED`]).
const RUNNING: u8 = 1;
/// Woken while running: the holder polls again.
const NOTIFIED: u8 = 2;

thread_local! {
    /// `Some` while a reaper polls on this thread: the reapers woken meanwhile, polled by the
    /// outermost one once its own poll is done.
    static NESTED: RefCell<Option<Vec<Arc<Reaper>>>> = const { RefCell::new(None) };
}

/// Children whose runtime shut down before they exited: nothing will wake their reaper again.
/// Each spawn tries to reap them (a `waitpid(WNOHANG)` each); whatever is left when the process
/// exits is reaped by `init`.
static LEFTOVERS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Reaps `child` in the background once it exits.
pub(super) fn reap_in_background(child: std::process::Child, watch: ExitWatch) {
    let reaper = Arc::new(Reaper {
        state: AtomicU8::new(IDLE),
        child: Mutex::new(Some((child, watch))),
    });
    reaper.wake_by_ref();
}

/// Reaps what it can of [`LEFTOVERS`].
pub(super) fn reap_leftovers() {
    let mut leftovers = lock(&LEFTOVERS);
    if !leftovers.is_empty() {
        leftovers.retain_mut(|child| matches!(try_wait(child), Ok(None)));
    }
}

impl Reaper {
    /// Polls until no wake came meanwhile, then lets the poll go. The caller holds it.
    fn run(self: &Arc<Self>) {
        loop {
            self.poll_once();
            // AcqRel: a wake's mark (Release) is seen here, and the next holder sees this
            // poll's work.
            if self
                .state
                .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
            // Notified meanwhile (only the holder clears the mark): poll again.
            self.state.store(RUNNING, Ordering::Release);
        }
    }

    /// One poll of the watch: reaps the child if it has exited, else stores this reaper as the
    /// watch's waker.
    fn poll_once(self: &Arc<Self>) {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut slot = lock(&self.child);
        let Some((child, watch)) = slot.as_mut() else {
            return;
        };
        match poll_exit(child, watch, &mut cx) {
            Poll::Pending => {}
            // Reaped, or `waitpid` failed (nothing left to reap): done.
            Poll::Ready(Ok(_)) => *slot = None,
            Poll::Ready(Err(_)) => {
                // The runtime is gone (or the pidfd failed): keep the child for a later spawn.
                if let Some((mut child, _)) = slot.take() {
                    if let Ok(None) = try_wait(&mut child) {
                        lock(&LEFTOVERS).push(child);
                    }
                }
            }
        }
        // Where the child is done with, its watch (a driver registration) was dropped above,
        // under this reaper's lock only: a waker is never called under the driver's locks.
    }
}

impl Wake for Reaper {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Claim the poll, or leave a note for its holder. AcqRel: see `run`.
        let prev = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                Some(if state == IDLE {
                    RUNNING
                } else {
                    state | NOTIFIED
                })
            })
            .unwrap_or_else(|state| state);
        if prev != IDLE {
            return;
        }
        // Inside another reaper's poll on this thread: queue it for the outermost one.
        let queued = NESTED.try_with(|nested| match nested.borrow_mut().as_mut() {
            Some(queue) => {
                queue.push(self.clone());
                true
            }
            None => false,
        });
        if queued == Ok(true) {
            return;
        }
        // The outermost poll on this thread (or the thread is exiting: poll in place).
        let _outermost = queued.is_ok().then(Outermost::enter);
        self.run();
        // The reapers woken meanwhile, in turn; each may queue more.
        while let Some(next) = NESTED
            .try_with(|nested| nested.borrow_mut().as_mut().and_then(Vec::pop))
            .ok()
            .flatten()
        {
            next.run();
        }
    }
}

/// Marks this thread as polling a reaper ([`NESTED`]) until dropped (unwinding included).
struct Outermost;

impl Outermost {
    fn enter() -> Outermost {
        let _ = NESTED.try_with(|nested| *nested.borrow_mut() = Some(Vec::new()));
        Outermost
    }
}

impl Drop for Outermost {
    fn drop(&mut self) {
        let _ = NESTED.try_with(|nested| nested.borrow_mut().take());
    }
}
