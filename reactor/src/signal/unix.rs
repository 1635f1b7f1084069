//! Unix signals: [`signal`] creates a [`Signal`] listener for a [`SignalKind`].

use super::registry::{self, SLOTS};
use super::state::{ListenerKey, SignalState};
use crate::coop;
use crate::driver::Handle;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{ready, Context, Poll};

/// A signal number, named by its constructors (`SignalKind::interrupt()` is `SIGINT`), or any
/// number through [`SignalKind::from_raw`].
///
/// # Examples
///
/// ```
/// use filch::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal number. Whether it can be listened for is checked by [`signal`].
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGALRM`: a real-time timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process exited, stopped or continued.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it to mean "reload the configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C in the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGPIPE`: a write to a pipe with no reader. (filch's socket writes never raise it.)
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: Ctrl-\ in the terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: the polite request to exit (what `kill` and service managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`: no meaning but the application's.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: no meaning but the application's.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// The conventional name (`"SIGINT"`), for the standard signals.
    fn name(self) -> Option<&'static str> {
        let name = match self.0 {
            libc::SIGHUP => "SIGHUP",
            libc::SIGINT => "SIGINT",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGILL => "SIGILL",
            libc::SIGTRAP => "SIGTRAP",
            libc::SIGABRT => "SIGABRT",
            libc::SIGBUS => "SIGBUS",
            libc::SIGFPE => "SIGFPE",
            libc::SIGKILL => "SIGKILL",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGUSR2 => "SIGUSR2",
            libc::SIGPIPE => "SIGPIPE",
            libc::SIGALRM => "SIGALRM",
            libc::SIGTERM => "SIGTERM",
            libc::SIGCHLD => "SIGCHLD",
            libc::SIGCONT => "SIGCONT",
            libc::SIGSTOP => "SIGSTOP",
            libc::SIGTSTP => "SIGTSTP",
            libc::SIGTTIN => "SIGTTIN",
            libc::SIGTTOU => "SIGTTOU",
            libc::SIGURG => "SIGURG",
            libc::SIGXCPU => "SIGXCPU",
            libc::SIGXFSZ => "SIGXFSZ",
            libc::SIGVTALRM => "SIGVTALRM",
            libc::SIGPROF => "SIGPROF",
            libc::SIGWINCH => "SIGWINCH",
            libc::SIGIO => "SIGIO",
            libc::SIGSYS => "SIGSYS",
            _ => return None,
        };
        Some(name)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for libc::c_int {
    fn from(kind: SignalKind) -> libc::c_int {
        kind.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "SignalKind({name})"),
            None => write!(f, "SignalKind({})", self.0),
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// Signals that cannot be listened for: `SIGKILL` and `SIGSTOP` cannot be caught at all, and a
/// handler that returns from `SIGSEGV`, `SIGBUS`, `SIGILL` or `SIGFPE` raised by a fault makes
/// the faulting instruction run again, forever. (signal-hook-registry forbids all but `SIGBUS`,
/// which is forbidden here for the same reason as `SIGSEGV`.)
fn is_forbidden(signum: libc::c_int) -> bool {
    signum == libc::SIGBUS || signal_hook_registry::FORBIDDEN.contains(&signum)
}

/// A listener for one signal, created by [`signal`]: [`recv`](Signal::recv) answers once for
/// every delivery since the last answer.
///
/// - **Coalescing**: deliveries that happen between two `recv` calls count as one (as the OS
///   itself merges a standard signal raised again before its handler ran, and as in tokio).
///   `recv` says that the signal arrived at least once since it last answered, not how often.
/// - **Every listener** of a signal, on any runtime, sees every delivery. A listener does not
///   see deliveries whose handler ran before it was created.
/// - **When its runtime is gone**, `recv` answers `None` at once (and a task waiting in it is
///   woken to get that answer): nothing will deliver to it any more. Dropping it is always fine.
///
/// The OS-level handler stays installed for the rest of the process: see the [module
/// docs](super).
pub struct Signal {
    kind: SignalKind,
    handle: Handle,
    state: &'static SignalState,
    key: ListenerKey,
    /// The delivery count this listener last answered for.
    seen: usize,
}

/// Creates a listener for `kind`, installing the process's handler for it on first use.
///
/// Must be called inside a filch runtime: the listener is woken by that runtime's driver.
///
/// # Errors
///
/// - `InvalidInput` for a signal that cannot be listened for (`SIGKILL`, `SIGSTOP`, `SIGSEGV`,
///   `SIGBUS`, `SIGILL`, `SIGFPE`) or a number that is no signal; the message names it.
/// - The same error as socket constructors outside a filch runtime (it names `filch::run`), and
///   an error once the runtime has shut down.
/// - Whatever the OS says when the handler cannot be installed.
///
/// # Examples
///
/// ```no_run
/// use filch::signal::unix::{signal, SignalKind};
///
/// filch::run(async {
///     let mut hangups = signal(SignalKind::hangup())?;
///     while hangups.recv().await.is_some() {
///         println!("SIGHUP: reloading the configuration");
///     }
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.as_raw_value();
    if is_forbidden(signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "filch::signal: {kind} cannot be listened for (SIGKILL and SIGSTOP cannot be \
                 caught; SIGSEGV, SIGBUS, SIGILL and SIGFPE mean a fault)"
            ),
        ));
    }
    let index = match usize::try_from(signum) {
        Ok(index) if (1..SLOTS).contains(&index) => index,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "filch::signal: {kind} is not a signal filch can listen for (1 to {})",
                    SLOTS - 1
                ),
            ))
        }
    };
    let handle = crate::context::current()?;
    let globals = registry::globals()?;
    globals.install(index)?;
    handle.attach_signal_listener()?;
    let mut wake = Vec::new();
    let state = globals.state(index);
    let (key, seen) = state.add_listener(handle.id(), &mut wake);
    // A delivery still pending went to the older listeners; they are woken with no lock held.
    crate::driver::wake_all(&mut wake);
    Ok(Signal {
        kind,
        handle,
        state,
        key,
        seen,
    })
}

impl Signal {
    /// Waits for the next delivery of the signal: `Some(())` once for every delivery (or run of
    /// deliveries) since the last answer, `None` once the listener's runtime is gone.
    ///
    /// Cancel-safe: dropping the future loses no delivery; the next `recv` answers for it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use filch::signal::unix::{signal, SignalKind};
    ///
    /// filch::run(async {
    ///     let mut usr1 = signal(SignalKind::user_defined1())?;
    ///     usr1.recv().await;
    ///     println!("got SIGUSR1");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery: as [`recv`](Signal::recv), storing `cx`'s waker while
    /// there is none. For hand-written futures and streams.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use filch::signal::unix::{signal, SignalKind};
    /// use std::future::poll_fn;
    ///
    /// filch::run(async {
    ///     let mut term = signal(SignalKind::terminate())?;
    ///     poll_fn(|cx| term.poll_recv(cx)).await;
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let progress = ready!(coop::poll_proceed(cx));
        if self.state.is_pending() {
            // The handler has run, but no driver has delivered yet (a task that raises a signal
            // and waits for it is the common case: the handler ran on its own thread): deliver
            // here, as a driver's turn would, instead of waiting for one (a poll and two reads
            // on another worker, or this one once it parks). The drain leaves no event behind.
            if let Some(globals) = registry::get() {
                let mut woken = Vec::new();
                globals.deliver(&mut woken);
                crate::driver::wake_all(&mut woken);
            }
        }
        let handle = &self.handle;
        let polled =
            self.state
                .poll_listener(&self.key, &mut self.seen, || handle.is_shutdown(), cx);
        if polled.is_ready() {
            progress.made_progress();
        }
        polled
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // The waker is dropped here, with no lock held.
        drop(self.state.remove_listener(&self.key));
        self.handle.detach_signal_listener();
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
