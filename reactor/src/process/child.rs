//! `Child`: a running child process, its exit awaited through the reactor.

use super::exit::{self, ExitWatch};
use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use crate::coop;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Output};
use std::task::{ready, Context, Poll};

/// A child process, made by [`Command::spawn`](super::Command::spawn).
///
/// - [`wait`](Child::wait) awaits its exit without a thread of its own (see the [module
///   docs](super)); [`try_wait`](Child::try_wait) asks without waiting.
/// - [`kill`](Child::kill) kills it and waits; [`start_kill`](Child::start_kill) only sends the
///   signal.
/// - Its piped streams are the public fields, to take: `child.stdout.take()`.
///
/// **Dropping a `Child`** neither waits for the process nor kills it (as with `std`), unless
/// [`kill_on_drop`](super::Command::kill_on_drop) was set; either way it is reaped in the
/// background once it exits, so no zombie is left behind.
pub struct Child {
    /// The write end of its stdin, if it was [piped](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The read end of its stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The read end of its stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` once it was seen to exit, or after `Drop` handed it to the reaper.
    running: Option<Running>,
    /// The exit status, once seen.
    status: Option<ExitStatus>,
    pid: u32,
    kill_on_drop: bool,
}

struct Running {
    std: std::process::Child,
    watch: ExitWatch,
}

impl Child {
    /// Wraps a spawned child. If its pipes cannot be registered, the error comes back and the
    /// process is killed and reaped in the background (not left running unseen).
    pub(super) fn new(
        std: std::process::Child,
        watch: ExitWatch,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            pid: std.id(),
            running: Some(Running { std, watch }),
            status: None,
            kill_on_drop: true,
        };
        let std = &mut child.running.as_mut().expect("just set").std;
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        child.stdin = stdin.map(ChildStdin::new).transpose()?;
        child.stdout = stdout.map(ChildStdout::new).transpose()?;
        child.stderr = stderr.map(ChildStderr::new).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// The child's process id while it runs; `None` once it was seen to exit (and reaped: the
    /// id may belong to another process by then), as in tokio.
    pub fn id(&self) -> Option<u32> {
        self.running.as_ref().map(|_| self.pid)
    }

    /// Waits for the child to exit and returns its status. Closes its stdin first (a child that
    /// reads its input to the end would otherwise wait for this one forever), as tokio does.
    ///
    /// Cancel-safe: dropping the future loses nothing; the next `wait` answers. Once the child
    /// has exited, every later `wait` returns the same status at once.
    ///
    /// # Errors
    ///
    /// An error if the runtime the child was spawned on has shut down while it runs (nothing
    /// would see its exit), or if `waitpid` fails (something else reaped it).
    ///
    /// # Examples
    ///
    /// ```
    /// use filch::process::Command;
    ///
    /// filch::run(async {
    ///     let status = Command::new("sh").args(["-c", "exit 3"]).spawn()?.wait().await?;
    ///     assert_eq!(status.code(), Some(3));
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// Polls for the child's exit: as [`wait`](Child::wait), without closing stdin. For
    /// hand-written futures.
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        // Spent on the stored status too: a task that awaits `wait` on an exited child in a loop
        // must still give its worker back now and then.
        let progress = ready!(coop::poll_proceed(cx));
        if let Some(status) = self.status {
            progress.made_progress();
            return Poll::Ready(Ok(status));
        }
        let running = self.running.as_mut().expect("no status means running");
        let status = ready!(exit::poll_exit(&mut running.std, &mut running.watch, cx))?;
        progress.made_progress();
        self.exited(status);
        Poll::Ready(Ok(status))
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let running = self.running.as_mut().expect("no status means running");
        let status = exit::try_wait(&mut running.std)?;
        if let Some(status) = status {
            self.exited(status);
        }
        Ok(status)
    }

    fn exited(&mut self, status: ExitStatus) {
        self.status = Some(status);
        // The watch (a pidfd registration, or a `SIGCHLD` listener) is no longer needed.
        self.running = None;
    }

    /// Sends `SIGKILL` to the child, without waiting for it to exit. Fine if it has already
    /// exited (`Ok`, nothing sent).
    pub fn start_kill(&mut self) -> io::Result<()> {
        match self.running.as_mut() {
            // `std` sends nothing to a child it has reaped; one that exited but was not reaped
            // yet is a zombie, to which a signal does nothing.
            Some(running) => running.std.kill(),
            None => Ok(()),
        }
    }

    /// Kills the child with `SIGKILL` and waits for it to exit.
    ///
    /// # Examples
    ///
    /// ```
    /// use filch::process::Command;
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// filch::run(async {
    ///     let mut child = Command::new("sleep").arg("1000").spawn()?;
    ///     child.kill().await?;
    ///     assert_eq!(child.wait().await?.signal(), Some(9));
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the child to exit while reading all of its piped stdout and stderr (those not
    /// taken), concurrently, so that a child that fills a pipe is not stuck. Closes stdin first.
    ///
    /// # Examples
    ///
    /// ```
    /// use filch::process::Command;
    /// use std::process::Stdio;
    ///
    /// filch::run(async {
    ///     let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    ///     let output = child.wait_with_output().await?;
    ///     assert_eq!(output.stdout, b"hi\n");
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        let mut stdout = Drain::new(self.stdout.take());
        let mut stderr = Drain::new(self.stderr.take());
        let mut status = None;
        poll_fn(|cx| {
            let out = stdout.poll(cx)?;
            let err = stderr.poll(cx)?;
            if status.is_none() {
                if let Poll::Ready(s) = self.poll_wait(cx)? {
                    status = Some(s);
                }
            }
            if out.is_ready() && err.is_ready() && status.is_some() {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("the loop ends with a status"),
            stdout: stdout.bytes,
            stderr: stderr.bytes,
        })
    }
}

/// Reads one pipe to its end, into `bytes`.
struct Drain<R> {
    pipe: Option<R>,
    bytes: Vec<u8>,
}

impl<R: futures_io::AsyncRead + Unpin> Drain<R> {
    fn new(pipe: Option<R>) -> Drain<R> {
        Drain {
            pipe,
            bytes: Vec::new(),
        }
    }

    /// `Ready` at end of file (or if there is no pipe).
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut chunk = [0u8; 8192];
        loop {
            match ready!(Pin::new(&mut *pipe).poll_read(cx, &mut chunk)) {
                Ok(0) => {
                    self.pipe = None;
                    return Poll::Ready(Ok(()));
                }
                Ok(n) => self.bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        if self.kill_on_drop {
            let _ = running.std.kill();
        }
        exit::reap_in_background(running.std, running.watch);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field(
                "exit_seen_through",
                &self.running.as_ref().map(|r| r.watch.kind()),
            )
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
