//! asyncio's `create_subprocess_exec`: several commands run at once, their output captured;
//! one that hangs is killed by a timeout; one talks to the parent through pipes, line by line.
//! Every child is awaited without a thread of its own (a pidfd per child, on the reactor).
//!
//! `cargo run --example subprocess`

use filch::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use filch::process::Command;
use std::fmt::Display;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn log(start: Instant, msg: impl Display) {
    println!("[{:>8.3?}] {msg}", start.elapsed());
}

/// Runs `sh -c script` and returns what it printed (asyncio: `await proc.communicate()`).
async fn run(start: Instant, name: &'static str, script: &'static str) -> std::io::Result<String> {
    log(start, format!("{name}: start `{script}`"));
    let output = Command::new("sh").args(["-c", script]).output().await?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    log(start, format!("{name}: {} → {text:?}", output.status));
    Ok(text)
}

#[filch::main]
async fn main() -> std::io::Result<()> {
    let start = Instant::now();

    // Three commands at once (asyncio.gather of three create_subprocess_exec): the whole takes
    // as long as the slowest, not the sum.
    let (a, b, c) = filch::join!(
        run(start, "a", "sleep 0.3; echo slow"),
        run(start, "b", "sleep 0.1; echo quick"),
        run(start, "c", "echo $((6 * 7))"),
    );
    log(start, format!("gathered: {:?}", [a?, b?, c?]));

    // One that hangs: `timeout` gives up on `wait` after 200 ms, and `kill_on_drop` kills the
    // process when the `Child` is dropped (asyncio: `proc.kill()` after `wait_for` times out).
    let mut hung = Command::new("sleep")
        .arg("3600")
        .kill_on_drop(true)
        .spawn()?;
    let pid = hung.id().expect("it runs");
    log(start, format!("hung: started pid {pid}"));
    match filch::timeout(Duration::from_millis(200), hung.wait()).await {
        Ok(status) => log(start, format!("hung: exited by itself?! {}", status?)),
        Err(_) => {
            hung.kill().await?;
            log(
                start,
                format!("hung: killed after 200 ms → {}", hung.wait().await?),
            );
        }
    }

    // A conversation through pipes: write lines to `tr`'s stdin, read its stdout line by line.
    let mut upper = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = upper.stdin.take().expect("piped");
    let writer = filch::spawn(async move {
        for word in ["hello", "from", "filch"] {
            stdin.write_all(format!("{word}\n").as_bytes()).await?;
        }
        stdin.close().await // end of file: `tr` finishes
    });
    let mut stdout = BufReader::new(upper.stdout.take().expect("piped"));
    let mut line = String::new();
    while stdout.read_line(&mut line).await? > 0 {
        log(start, format!("tr: {}", line.trim_end()));
        line.clear();
    }
    writer.await.expect("the writer did not panic")?;
    log(start, format!("tr: {}", upper.wait().await?));

    // Bad input is an error that names the program, never a panic.
    let err = Command::new("no-such-program").spawn().unwrap_err();
    log(start, format!("no-such-program: {err}"));
    Ok(())
}
