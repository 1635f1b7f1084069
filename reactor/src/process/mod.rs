//! Child processes: [`Command`] to spawn one, [`Child`] to await its exit, and its piped standard
//! streams as `futures_io` readers and writers. The API mirrors `std::process` and tokio's
//! `tokio::process`; it is asyncio's `create_subprocess_exec`.
//!
//! ```
//! use filch::io::{AsyncReadExt, AsyncWriteExt};
//! use filch::process::Command;
//! use std::process::Stdio;
//!
//! filch::run(async {
//!     // Capture a command's output (asyncio: `await proc.communicate()`).
//!     let output = Command::new("echo").arg("hello").output().await?;
//!     assert_eq!(output.stdout, b"hello\n");
//!
//!     // Talk to one through pipes.
//!     let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//!     let mut stdin = cat.stdin.take().unwrap();
//!     stdin.write_all(b"through cat").await?;
//!     drop(stdin); // end of file for cat
//!     let mut echoed = String::new();
//!     cat.stdout.take().unwrap().read_to_string(&mut echoed).await?;
//!     assert_eq!(echoed, "through cat");
//!     assert!(cat.wait().await?.success());
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap();
//! ```
//!
//! # Design
//!
//! `std::process::Command` does the spawning (`posix_spawn` or `fork`+`exec`, with the errors of
//! `exec` reported back to the parent), so a program that does not exist, a directory that does
//! not exist or a file that may not be run is an `io::Error` from [`Command::spawn`], whose
//! message names the program (and the directory, if one was set). What filch adds is waiting
//! without a thread:
//!
//! - **Exit, through a pidfd** (Linux 5.3 and later): right after the spawn, `pidfd_open(2)`
//!   gives a descriptor that turns readable when the child exits. It is registered with the
//!   driver like a socket; [`Child::wait`] asks `waitpid(pid, WNOHANG)` (std's `try_wait`), and
//!   if the child still runs waits for that readiness, then asks again.
//! - **Exit, through `SIGCHLD`** (where `pidfd_open` fails with `ENOSYS` or `EPERM`, and on other
//!   Unix systems): the child gets a listener of `SIGCHLD` from [`signal`](crate::signal), made
//!   before it is spawned; every delivery (any child's exit: deliveries coalesce) makes it ask
//!   `waitpid` again. A listener sees every delivery whose handler ran after it was made, and the
//!   first `waitpid` sees an exit that came before, so no exit is missed. `waitpid` is always
//!   asked for this child's pid, never `-1`: filch never reaps a child it did not spawn.
//! - **No zombie**: a [`Child`] dropped before it was seen to exit is handed to a *reaper*, an
//!   `Arc` that is its own `Waker`: the child's watch (pidfd or listener) is polled with it, so
//!   the driver turn that sees the exit calls it, and it reaps the child (`waitpid`) then and
//!   there, dropping the watch. No thread and no task. If the runtime shuts down first, the child
//!   is put on a process-wide list that every later spawn tries to reap; what is left when the
//!   process exits is reaped by `init`. [`Command::kill_on_drop`] kills it first.
//! - **Pipes** ([`Stdio::piped`](std::process::Stdio::piped)) are made non-blocking and
//!   registered with the driver: reads and writes work as on a socket (readiness, one syscall,
//!   the cooperative budget).
//!
//! Cost: a spawn is `std`'s spawn plus one `pidfd_open` and one registration (or a listener); a
//! child's exit costs one event and one `waitpid`. The spawn itself (`posix_spawn`, or `fork` and
//! `exec`) runs on the calling worker, as tokio's does: it returns once the child has exec'd (or
//! failed to), which is quick but not free (the study's `process_spawn_wait` row measures it).
//!
//! Everything here must be created inside a filch runtime: [`Command::spawn`] outside one fails,
//! naming `filch::run`.

mod child;
mod exit;
mod pipe;

pub use child::Child;
#[doc(hidden)]
pub use exit::use_sigchld_only;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

use std::error::Error;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};

/// A process to spawn: `std::process::Command`'s builder, with an async [`spawn`](Command::spawn),
/// [`status`](Command::status) and [`output`](Command::output), and
/// [`kill_on_drop`](Command::kill_on_drop).
///
/// Its methods are `std`'s (same names, same defaults); for the rest of `std`'s (and its
/// `CommandExt`: `uid`, `gid`, `process_group`, `pre_exec`) use
/// [`as_std_mut`](Command::as_std_mut).
///
/// # Examples
///
/// ```
/// use filch::process::Command;
///
/// filch::run(async {
///     let status = Command::new("true").status().await?;
///     assert!(status.success());
///
///     let missing = Command::new("no-such-program-here").spawn().unwrap_err();
///     assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
///     assert!(missing.to_string().contains("no-such-program-here"), "{missing}");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which streams were set explicitly: `output` pipes stdout and stderr and nulls stdin only
    /// where they were not, as `std`'s does.
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command to run `program`, looked up in `PATH` if it has no `/`, with no arguments, the
    /// parent's environment and working directory, and (for `spawn` and `status`) the parent's
    /// standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: [`Stdio::piped`] gives [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's standard output: [`Stdio::piped`] gives [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's standard error: [`Stdio::piped`] gives [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether a [`Child`] dropped while its process still runs kills it (`SIGKILL`) first.
    /// Off by default, as in `std` and tokio: the process runs on, and is reaped in the
    /// background when it exits. On, it makes a child follow its task: a task aborted, or a
    /// `timeout` around `wait` that fires, kills the process with it.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The `std` command inside, for what this type does not mirror.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std` command inside, to set what this type does not mirror
    /// (`std::os::unix::process::CommandExt`: `uid`, `gid`, `process_group`, `pre_exec`, ...).
    /// Set the standard streams through this type, not here: [`output`](Command::output) does
    /// not see streams set on the `std` command.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Spawns the child. Its streams are the parent's unless set otherwise.
    ///
    /// # Errors
    ///
    /// The OS's, with a message that names the program (and the directory, if
    /// [`current_dir`](Command::current_dir) was set): `NotFound` for a program or directory
    /// that does not exist, `PermissionDenied` for a file that may not be run, and so on. Outside
    /// a filch runtime, an error naming `filch::run`. Never a panic.
    pub fn spawn(&mut self) -> io::Result<Child> {
        // The watch needs the driver: fail before the process exists, not after.
        let _ = crate::context::current()?;
        exit::reap_leftovers();
        let listener = exit::listener_before_spawn().map_err(|e| self.spawn_error(e))?;
        let std = self.std.spawn().map_err(|e| self.spawn_error(e))?;
        let watch = match exit::ExitWatch::new(std.id(), listener) {
            Ok(watch) => watch,
            Err(e) => {
                // No way to see it exit (out of descriptors, say): do not leave the process
                // running unseen.
                let mut orphan = std;
                let _ = orphan.kill();
                let _ = orphan.wait();
                return Err(self.spawn_error(e));
            }
        };
        // Its pipes not registered: killed and reaped by `Child::new`; the error names it too.
        Child::new(std, watch, self.kill_on_drop).map_err(|e| self.spawn_error(e))
    }

    /// Spawns the child and waits for it to exit. Its streams are the parent's unless set
    /// otherwise.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        // As `std`: a pipe the caller asked for is closed, not read.
        child.stdin = None;
        child.stdout = None;
        child.stderr = None;
        child.wait().await
    }

    /// Spawns the child, waits for it and collects its output. Unless set otherwise, stdout and
    /// stderr are piped (and collected) and stdin is null, as with `std`'s `output`.
    ///
    /// "Set" means set through this type's [`stdin`](Command::stdin), [`stdout`](Command::stdout)
    /// and [`stderr`](Command::stderr): a stream set on the `std` command itself (through
    /// [`as_std_mut`](Command::as_std_mut), or before [`From`]) cannot be seen, so `output`
    /// replaces it as above, and the command inherits that stream afterwards.
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::piped());
        }
        let spawned = self.spawn();
        // Back to the defaults for a later `spawn` of the same command.
        if !self.stdin_set {
            self.std.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::inherit());
        }
        spawned?.wait_with_output().await
    }

    fn spawn_error(&self, source: io::Error) -> io::Error {
        io::Error::new(
            source.kind(),
            SpawnError {
                program: PathBuf::from(self.std.get_program()),
                dir: self.std.get_current_dir().map(Path::to_path_buf),
                source,
            },
        )
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// A failed spawn, naming the program and the directory.
#[derive(Debug)]
struct SpawnError {
    program: PathBuf,
    dir: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spawn `{}`", self.program.display())?;
        if let Some(dir) = &self.dir {
            write!(f, " in `{}`", dir.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
