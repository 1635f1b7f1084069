//! The process-wide part: the self-pipe, one [`SignalState`] per signal number, and the OS
//! handlers (installed through `signal-hook-registry`, once per signal number, never removed).

use super::state::SignalState;
use crate::loom::lock;
use crate::loom::sync::Mutex;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::task::Waker;

/// Signal numbers `1..SLOTS` can be listened for (Linux's real-time signals end at 64).
pub(crate) const SLOTS: usize = 65;

/// Everything the signal handlers and the drivers share, created by the first listener.
pub(crate) struct Globals {
    /// The self-pipe's write end: the handlers write a byte here. Non-blocking: a full pipe
    /// already says "look at the flags", so a failed write is ignored.
    sender: UnixStream,
    /// The read end. Every driver with a listener registers a clone of it with its poller; the
    /// one that sees the event first drains it (through this end: all clones read one pipe).
    receiver: UnixStream,
    /// Indexed by signal number (slot 0 unused).
    signals: Box<[SignalState]>,
    /// Which signal numbers have their OS handler. The install step is not loom-modelled.
    installed: Mutex<[bool; SLOTS]>,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();

/// The globals, created on first use (the only step that can fail: creating the pipe).
pub(crate) fn globals() -> io::Result<&'static Globals> {
    if let Some(globals) = GLOBALS.get() {
        return Ok(globals);
    }
    let (sender, receiver) = UnixStream::pair()?;
    sender.set_nonblocking(true)?;
    receiver.set_nonblocking(true)?;
    let globals = Globals {
        sender,
        receiver,
        signals: (0..SLOTS).map(|_| SignalState::new()).collect(),
        installed: Mutex::new([false; SLOTS]),
    };
    // A thread that lost the race to create them drops its own pair here.
    let _ = GLOBALS.set(globals);
    Ok(GLOBALS.get().expect("the globals were just set"))
}

/// The globals if any listener was ever created (a driver's turn needs nothing otherwise).
pub(crate) fn get() -> Option<&'static Globals> {
    GLOBALS.get()
}

impl Globals {
    /// The state of `signal`, which the caller checked is in `1..SLOTS`.
    pub(crate) fn state(&self, signal: usize) -> &SignalState {
        &self.signals[signal]
    }

    /// Installs the OS handler of `signal` (in `1..SLOTS`, not forbidden) unless it is installed.
    /// It stays installed for the life of the process.
    pub(crate) fn install(&'static self, signal: usize) -> io::Result<()> {
        let mut installed = lock(&self.installed);
        if installed[signal] {
            return Ok(());
        }
        let raw = libc::c_int::try_from(signal).expect("signal numbers fit a c_int");
        // `on_signal` makes one atomic store and one `write(2)` on a non-blocking socket whose
        // error is ignored: no lock, no allocation, no panic (`signal` indexes a slot that
        // exists, checked by the caller); signal-hook-registry saves and restores `errno`.
        // SAFETY: `register` wants an async-signal-safe action that does not panic: see above;
        // the `Globals` it reads are `'static`.
        unsafe { signal_hook_registry::register(raw, move || self.on_signal(signal)) }?;
        installed[signal] = true;
        Ok(())
    }

    /// The OS handler: runs in signal context, on whichever thread the signal interrupted.
    fn on_signal(&self, signal: usize) {
        self.signals[signal].set_pending();
        let _ = (&self.sender).write(&[1]);
    }

    /// A new descriptor of the pipe's read end, for a driver to register with its poller.
    pub(crate) fn receiver(&self) -> io::Result<UnixStream> {
        self.receiver.try_clone()
    }

    /// On a self-pipe event (a driver) or a pending flag (a listener's poll): drains the
    /// pipe, then delivers every pending signal (see the protocol in `signal/mod.rs`), pushing
    /// the listeners' wakers to `out`.
    pub(crate) fn deliver(&self, out: &mut Vec<Waker>) {
        let mut buf = [0u8; 128];
        loop {
            match (&self.receiver).read(&mut buf) {
                // A short read emptied the pipe: a byte written after it makes a new event.
                Ok(n) if n < buf.len() => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // `WouldBlock`: drained (another driver may have drained it first).
                Err(_) => break,
            }
        }
        // After the drain: a flag set before a byte this drain read is seen below; a flag set
        // after it comes with a byte of its own, and so with a new event.
        for state in self.signals.iter() {
            state.deliver_if_pending(out);
        }
    }

    /// Driver side, at shutdown: the wakers of every listener created on `driver`.
    pub(crate) fn take_driver_wakers(&self, driver: usize, out: &mut Vec<Waker>) {
        for state in self.signals.iter() {
            state.take_driver_wakers(driver, out);
        }
    }
}
