//! The `filch::process` cases, run by `process_pidfd.rs` (exit seen through a pidfd) and by
//! `process_sigchld.rs` (through `SIGCHLD`, the fallback). Each test calls `super::setup()`
//! first, which picks the way.

use crate::common::{is_our_child, is_our_zombie};
use filch::io::{AsyncReadExt, AsyncWriteExt};
use filch::process::Command;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits (up to 10 s) until none of `pids` is a child of ours any more: each was reaped.
fn assert_reaped(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| is_our_child(p)).collect();
        if left.is_empty() {
            return;
        }
        let zombies: Vec<u32> = left.iter().copied().filter(|&p| is_our_zombie(p)).collect();
        assert!(
            Instant::now() < deadline,
            "still children of ours after 10 s: {left:?}, of which zombies: {zombies:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn exit_codes_come_back() {
    super::setup();
    filch::run(async {
        for code in [0, 1, 3, 42, 255] {
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!("exit {code}"))
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(code));
            assert_eq!(status.success(), code == 0);
        }
    });
}

#[test]
fn a_child_killed_by_a_signal_reports_it() {
    super::setup();
    filch::run(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let debug = format!("{child:?}");
        assert!(debug.contains(super::WATCH), "{debug}");
        assert!(child.id().is_some());
        assert!(child.try_wait().unwrap().is_none());
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc_sigkill()));
        assert_eq!(status.code(), None);
        // Once seen, the same answer again, at once; the id is gone; killing again is fine.
        assert_eq!(child.wait().await.unwrap(), status);
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(child.id(), None);
        child.kill().await.unwrap();

        let status = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.signal(), Some(15));
    });
}

fn libc_sigkill() -> i32 {
    9
}

#[test]
fn a_hundred_children_at_once() {
    super::setup();
    filch::run(async {
        let mut children = Vec::new();
        for i in 0..100 {
            let child = Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 0.0{}; echo {i}; exit {}", i % 10, i % 7))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            children.push(child);
        }
        let pids: Vec<u32> = children.iter().map(|c| c.id().unwrap()).collect();
        let outputs = filch::join_all(
            children
                .into_iter()
                .map(|child| filch::spawn(child.wait_with_output())),
        )
        .await;
        for (i, output) in outputs.into_iter().enumerate() {
            let output = output.unwrap().unwrap();
            assert_eq!(output.status.code(), Some(i as i32 % 7));
            assert_eq!(output.stdout, format!("{i}\n").as_bytes());
        }
        assert_reaped(&pids);
    });
}

#[test]
fn a_payload_larger_than_the_pipe_buffer_goes_through_cat() {
    super::setup();
    filch::run(async {
        // 4 MiB: 64 times Linux's default pipe buffer, so writer and reader must take turns.
        let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i * 31 + i / 4099) as u8).collect();
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let mut stdout = cat.stdout.take().unwrap();
        let sent = payload.clone();
        let writer = filch::spawn(async move {
            stdin.write_all(&sent).await?;
            stdin.close().await
        });
        let mut echoed = Vec::new();
        stdout.read_to_end(&mut echoed).await.unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(echoed.len(), payload.len());
        assert!(echoed == payload, "cat changed the bytes");
        assert!(cat.wait().await.unwrap().success());
    });
}

#[test]
fn output_collects_stdout_and_stderr_together() {
    super::setup();
    filch::run(async {
        // Both streams well past a pipe buffer: read one after the other, the child would
        // block on the second while the parent waits for the first to end.
        let output = Command::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; exit 5",
            ])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(5));
        assert_eq!(output.stdout.len(), 300_000);
        assert_eq!(output.stderr.len(), 200_000);

        // Environment, directory and arguments reach the child; stdin is null for `output`.
        let dir = std::env::temp_dir();
        let output = Command::new("sh")
            .args(["-c", "echo \"$FILCH_TEST_VAR\"; pwd; cat; echo done"])
            .env("FILCH_TEST_VAR", "from the parent")
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let canonical = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(
            text,
            format!("from the parent\n{}\ndone\n", canonical.display())
        );
    });
}

#[test]
fn a_child_that_never_exits_is_killed_when_a_timeout_drops_it() {
    super::setup();
    filch::run(async {
        let mut child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let waited = filch::timeout(Duration::from_millis(100), child.wait()).await;
        assert!(waited.is_err(), "sleep 1000 exited: {waited:?}");
        assert!(is_our_child(pid));
        drop(child);
        // Killed and reaped in the background, while this runtime still runs.
        let start = Instant::now();
        while is_our_child(pid) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{pid} was not reaped"
            );
            filch::sleep(Duration::from_millis(5)).await;
        }

        // The same, with `kill` after the timeout instead of a drop.
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id().unwrap();
        assert!(filch::timeout(Duration::from_millis(50), child.wait())
            .await
            .is_err());
        child.kill().await.unwrap();
        assert!(!is_our_child(pid));
    });
}

#[test]
fn children_dropped_without_wait_leave_no_zombie() {
    super::setup();
    let pids = filch::run(async {
        let mut pids = Vec::new();
        for i in 0..20 {
            let child = Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 0.0{}", i % 5))
                .spawn()
                .unwrap();
            pids.push(child.id().unwrap());
            // Dropped at once: nobody waits for it.
        }
        // And one that has already exited (a zombie) when it is dropped.
        let child = Command::new("true").spawn().unwrap();
        let pid = child.id().unwrap();
        while !is_our_zombie(pid) {
            filch::sleep(Duration::from_millis(1)).await;
        }
        pids.push(pid);
        drop(child);
        // The runtime keeps running while they exit: the reaper does its work from driver turns.
        let start = Instant::now();
        while pids.iter().any(|&p| is_our_child(p)) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "not reaped: {pids:?}"
            );
            filch::sleep(Duration::from_millis(5)).await;
        }
        pids
    });
    assert_reaped(&pids);
}

#[test]
fn a_child_dropped_as_its_runtime_shuts_down_is_reaped_by_a_later_spawn() {
    super::setup();
    let pid = filch::run(async {
        let child = Command::new("sleep").arg("0.05").spawn().unwrap();
        child.id().unwrap()
        // Dropped here, on the runtime, while it runs; the runtime then shuts down at once.
    });
    std::thread::sleep(Duration::from_millis(100));
    // The next spawn (on a new runtime) reaps it if the reaper could not.
    filch::run(async {
        Command::new("true").status().await.unwrap();
    });
    assert_reaped(&[pid]);
}

#[test]
fn bad_input_is_an_error_naming_what_is_wrong() {
    super::setup();
    filch::run(async {
        let e = Command::new("filch-no-such-program").spawn().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("filch-no-such-program"), "{e}");

        let e = Command::new("true")
            .current_dir("/filch/no/such/dir")
            .spawn()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("/filch/no/such/dir"), "{e}");

        // A file without the execute bit, and a directory.
        let file = std::env::temp_dir().join(format!("filch-noexec-{}", std::process::id()));
        std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
        let e = Command::new(&file).spawn().unwrap_err();
        let _ = std::fs::remove_file(&file);
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("filch-noexec"), "{e}");
        let e = Command::new(std::env::temp_dir()).spawn().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    });
    // Outside a runtime: an error naming the way in, not a panic.
    let e = Command::new("true").spawn().unwrap_err();
    assert!(e.to_string().contains("filch::run"), "{e}");
}

#[test]
fn wait_closes_stdin_so_a_reader_of_stdin_ends() {
    super::setup();
    filch::run(async {
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let status = filch::timeout(Duration::from_secs(10), cat.wait())
            .await
            .expect("cat still waits for its stdin");
        assert!(status.unwrap().success());
    });
}

#[test]
fn a_write_after_close_or_after_the_child_is_gone_is_broken_pipe() {
    super::setup();
    filch::run(async {
        let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        child.wait().await.unwrap();
        // The reader is gone: EPIPE, and the process is not killed by SIGPIPE.
        let big = vec![0u8; 1 << 20];
        let e = stdin.write_all(&big).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
        stdin.close().await.unwrap();
        let e = stdin.write(b"x").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
    });
}

#[test]
fn wait_after_the_runtime_is_gone_is_an_error_not_a_hang() {
    super::setup();
    let rt = filch::Runtime::new().unwrap();
    let mut child = rt
        .block_on(async { Command::new("sleep").arg("1000").kill_on_drop(true).spawn() })
        .unwrap();
    let pid = child.id().unwrap();
    drop(rt);
    let rt = filch::Runtime::new().unwrap();
    let waited = rt.block_on(async { filch::timeout(Duration::from_secs(10), child.wait()).await });
    let e = waited.expect("wait hung").unwrap_err();
    assert!(e.to_string().contains("shut down"), "{e}");
    drop(child);
    // Killed on drop; no runtime of its own is left to reap it, so the next spawn does.
    rt.block_on(async {
        filch::sleep(Duration::from_millis(50)).await;
        Command::new("true").status().await.unwrap();
    });
    assert_reaped(&[pid]);
}
