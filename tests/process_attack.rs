//! Attacks on `filch::process` (exit seen through a pidfd): the cooperative budget, children
//! dropped on every kind of runtime and outside one, waits moved between runtimes, pipes passed
//! on, bad input, and spawning while the descriptor table is full (in a re-executed copy of this
//! binary, since the limit is process-wide).
#![cfg(target_os = "linux")]

mod common;

use common::{is_our_child, within};
use filch::io::{AsyncReadExt, AsyncWriteExt};
use filch::process::Command;
use std::io::ErrorKind;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits (up to `limit`) until none of `pids` is a child of ours any more.
fn assert_reaped_within(pids: &[u32], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| is_our_child(p)).collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} still children of ours after {limit:?}: {:?}",
            left.len(),
            pids.len(),
            &left[..left.len().min(20)]
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Spawns, on the current (one-worker) runtime, a task that sets a flag, and returns the flag:
/// for a loop that must let it run midway (the budget makes the loop's task yield). Spawned
/// only once the loop's setup is done, so that an await in the setup does not let it run early.
fn queued_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    drop(filch::spawn(
        async move { set.store(true, Ordering::SeqCst) },
    ));
    flag
}

/// A task that awaits `wait` on a child that has exited, in a loop, gets its status at once
/// every time: the budget must still make it give the worker to the task queued behind it, as
/// every other always-ready leaf does.
#[test]
fn a_wait_loop_on_an_exited_child_still_yields() {
    let midway = within(Duration::from_secs(60), "wait loop", || {
        common::queued_task_runs_during(|_| async move {
            let mut child = Command::new("true").spawn().unwrap();
            // Seen to exit once; every later `wait` answers from the stored status.
            assert!(child.wait().await.unwrap().success());
            let other_ran = queued_flag();
            let mut midway = false;
            for i in 0..1_000u32 {
                assert!(child.wait().await.unwrap().success());
                if i < 999 && other_ran.load(Ordering::SeqCst) {
                    midway = true;
                }
            }
            midway
        })
    });
    assert!(
        midway,
        "the queued task ran only after the loop: a finished child's wait spent no budget"
    );
}

/// The same for reading a pipe that is at its end: each read answers `Ok(0)` at once.
#[test]
fn a_read_loop_on_a_pipe_at_its_end_still_yields() {
    let midway = within(Duration::from_secs(60), "read loop", || {
        common::queued_task_runs_during(|_| async move {
            let mut child = Command::new("true").stdout(Stdio::piped()).spawn().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            child.wait().await.unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(stdout.read(&mut buf).await.unwrap(), 0);
            let other_ran = queued_flag();
            let mut midway = false;
            for i in 0..1_000u32 {
                assert_eq!(stdout.read(&mut buf).await.unwrap(), 0);
                if i < 999 && other_ran.load(Ordering::SeqCst) {
                    midway = true;
                }
            }
            midway
        })
    });
    assert!(midway, "the queued task ran only after the loop");
}

/// A thousand children dropped at once, on a runtime that keeps running: every one is reaped.
#[test]
fn a_thousand_children_dropped_at_once_are_all_reaped() {
    let pids = within(Duration::from_secs(120), "thousand drops", || {
        let rt = common::runtime(2, "drops");
        rt.block_on(async {
            let mut children = Vec::new();
            for _ in 0..1_000 {
                children.push(Command::new("sleep").arg("0.2").spawn().unwrap());
            }
            let pids: Vec<u32> = children.iter().map(|c| c.id().unwrap()).collect();
            drop(children);
            let start = Instant::now();
            while pids.iter().any(|&p| is_our_child(p)) && start.elapsed() < Duration::from_secs(30)
            {
                filch::sleep(Duration::from_millis(20)).await;
            }
            pids
        })
    });
    assert_reaped_within(&pids, Duration::from_secs(1));
}

/// Children dropped on a current-thread runtime (from its `block_on`, and from a task), and
/// dropped outside any runtime while their multi-thread runtime runs: all reaped while the
/// runtime lives.
#[test]
fn children_dropped_on_a_current_thread_runtime_or_off_runtime_are_reaped() {
    within(Duration::from_secs(60), "current-thread drops", || {
        let rt = filch::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let a = Command::new("sleep").arg("0.05").spawn().unwrap();
            let pid_a = a.id().unwrap();
            drop(a);
            let pid_b = filch::spawn(async {
                let b = Command::new("sleep").arg("0.05").spawn().unwrap();
                b.id().unwrap()
            })
            .await
            .unwrap();
            let start = Instant::now();
            while is_our_child(pid_a) || is_our_child(pid_b) {
                assert!(start.elapsed() < Duration::from_secs(10), "not reaped");
                filch::sleep(Duration::from_millis(5)).await;
            }
        });
    });
    within(Duration::from_secs(60), "off-runtime drops", || {
        let rt = common::runtime(2, "offrt");
        let children: Vec<_> = rt.block_on(async {
            (0..10)
                .map(|_| Command::new("sleep").arg("0.05").spawn().unwrap())
                .collect()
        });
        let pids: Vec<u32> = children.iter().map(|c| c.id().unwrap()).collect();
        // Dropped on this thread, which is in no runtime; the runtime's workers turn its driver.
        drop(children);
        assert_reaped_within(&pids, Duration::from_secs(10));
        drop(rt);
    });
}

/// Spawned on one runtime, waited for on another while the first runs; and a wait cancelled
/// again and again by short timeouts still ends with the status.
#[test]
fn a_wait_on_another_runtime_and_a_wait_cancelled_many_times_still_end() {
    within(Duration::from_secs(60), "cross-runtime wait", || {
        let a = common::runtime(1, "rt-a");
        let b = common::runtime(1, "rt-b");
        let mut child = a
            .block_on(async { Command::new("sleep").arg("0.1").spawn() })
            .unwrap();
        let status = b.block_on(async { child.wait().await }).unwrap();
        assert!(status.success());

        let mut child = a
            .block_on(async { Command::new("sleep").arg("0.2").spawn() })
            .unwrap();
        let status = b.block_on(async {
            let mut timeouts = 0;
            let status = loop {
                match filch::timeout(Duration::from_millis(1), child.wait()).await {
                    Ok(status) => break status,
                    Err(_) => timeouts += 1,
                }
            };
            assert!(timeouts > 10, "{timeouts}");
            status
        });
        assert!(status.unwrap().success());
    });
}

/// A pipe read after the child has exited still has what the child wrote; a child that closes
/// its stdout but runs on gives end of file at once; a stdout handed to another child as its
/// stdin is a shell pipeline; big stdout and stderr both come back through `wait_with_output`.
#[test]
fn pipes_after_exit_closed_early_passed_on_and_big() {
    within(Duration::from_secs(60), "pipes", || {
        filch::run(async {
            let mut child = Command::new("sh")
                .args(["-c", "printf 'left in the pipe'"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            assert!(child.wait().await.unwrap().success());
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .await
                .unwrap();
            assert_eq!(out, "left in the pipe");

            let mut child = Command::new("sh")
                .args(["-c", "exec 1>&-; sleep 0.5"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let started = Instant::now();
            let mut out = Vec::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut out)
                .await
                .unwrap();
            assert!(out.is_empty());
            assert!(started.elapsed() < Duration::from_millis(450));
            assert!(child.wait().await.unwrap().success());

            let mut first = Command::new("echo")
                .arg("pipeline")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let fd = first.stdout.take().unwrap().into_owned_fd().unwrap();
            let second = Command::new("tr")
                .args(["a-z", "A-Z"])
                .stdin(Stdio::from(fd))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let output = second.wait_with_output().await.unwrap();
            assert_eq!(output.stdout, b"PIPELINE\n");
            assert!(first.wait().await.unwrap().success());

            let output = Command::new("sh")
                .args([
                    "-c",
                    "head -c 8000000 /dev/zero >&2 & head -c 9000000 /dev/zero; wait",
                ])
                .output()
                .await
                .unwrap();
            assert!(output.status.success());
            assert_eq!(output.stdout.len(), 9_000_000);
            assert_eq!(output.stderr.len(), 8_000_000);

            // stdin written to after it was closed, and after the child is gone.
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.close().await.unwrap();
            assert_eq!(
                stdin.write(b"x").await.unwrap_err().kind(),
                ErrorKind::BrokenPipe
            );
            assert!(stdin.into_owned_fd().is_err());
            assert!(child.wait().await.unwrap().success());
        });
    });
}

/// Bad input is an error, never a panic: a NUL byte in the program or an argument, a working
/// directory that is a file, an environment key with `=`; `output` twice on one command;
/// `kill` and `id` after the exit.
#[test]
fn bad_input_and_repeated_calls() {
    within(Duration::from_secs(60), "bad input", || {
        filch::run(async {
            let e = Command::new("a\0b").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            let e = Command::new("true").arg("x\0y").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            let e = Command::new("true").env("K\0", "v").output().await;
            assert!(e.is_err(), "{e:?}");

            let file =
                std::env::temp_dir().join(format!("filch-attack-file-{}", std::process::id()));
            std::fs::write(&file, "x").unwrap();
            let e = Command::new("true").current_dir(&file).spawn().unwrap_err();
            let _ = std::fs::remove_file(&file);
            assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");
            assert!(e.to_string().contains("filch-attack-file"), "{e}");

            // `=` in a key: whatever the child sees, the parent neither panics nor fails.
            let output = Command::new("sh")
                .args(["-c", "echo ok"])
                .env("A=B", "C")
                .output()
                .await
                .unwrap();
            assert_eq!(output.stdout, b"ok\n");

            let mut cmd = Command::new("echo");
            cmd.arg("twice");
            let one = cmd.output().await.unwrap();
            let two = cmd.output().await.unwrap();
            assert_eq!(one.stdout, b"twice\n");
            assert_eq!(two.stdout, b"twice\n");
            // And a plain spawn after `output` inherits again (nothing piped).
            let child = cmd.stdout(Stdio::null()).spawn().unwrap();
            assert!(child.stdout.is_none() && child.stderr.is_none());

            let mut child = Command::new("true").spawn().unwrap();
            child.wait().await.unwrap();
            assert_eq!(child.id(), None);
            child.kill().await.unwrap();
            child.start_kill().unwrap();
        });
    });
}

/// Runs the test `name` of this binary alone, in a copy of this process (for what changes
/// process-wide state: a resource limit, the switch to `SIGCHLD`), and checks that it passed.
fn run_alone(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("FILCH_ATTACK_ALONE", name)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("{name} DONE")), "{text}");
}

/// Whether this process is the copy that `run_alone(name)` started.
fn alone(name: &str) -> bool {
    std::env::var("FILCH_ATTACK_ALONE").as_deref() == Ok(name)
}

/// Spawning with the descriptor table (almost) full, in a copy of this binary run alone: each
/// spawn either works or fails with an error naming the program, and leaves no child behind.
#[test]
fn spawning_with_the_descriptor_table_full() {
    run_alone("fd_exhaustion_child");
}

/// `use_sigchld_only` while pidfd children run (one waited for, one dropped): they are still
/// seen to exit, and so are the children spawned after the switch.
#[test]
fn switching_to_sigchld_with_pidfd_children_running() {
    run_alone("switch_to_sigchld_child");
}

/// The body of `switching_to_sigchld_with_pidfd_children_running`, in the copy only.
#[test]
fn switch_to_sigchld_child() {
    if !alone("switch_to_sigchld_child") {
        return;
    }
    within(Duration::from_secs(60), "switch", || {
        filch::run(async {
            let mut waited = Command::new("sleep").arg("0.3").spawn().unwrap();
            assert!(format!("{waited:?}").contains("pidfd"), "{waited:?}");
            let dropped = Command::new("sleep").arg("0.3").spawn().unwrap();
            let mut pids = vec![dropped.id().unwrap()];
            drop(dropped);
            filch::process::use_sigchld_only();
            let mut after = Command::new("sleep").arg("0.1").spawn().unwrap();
            assert!(format!("{after:?}").contains("SIGCHLD"), "{after:?}");
            let dropped = Command::new("sleep").arg("0.1").spawn().unwrap();
            pids.push(dropped.id().unwrap());
            drop(dropped);
            assert!(after.wait().await.unwrap().success());
            assert!(waited.wait().await.unwrap().success());
            let start = Instant::now();
            while pids.iter().any(|&p| is_our_child(p)) {
                assert!(start.elapsed() < Duration::from_secs(10), "not reaped");
                filch::sleep(Duration::from_millis(5)).await;
            }
        });
    });
    println!("switch_to_sigchld_child DONE");
}

/// The body of `spawning_with_the_descriptor_table_full`, in the child process only.
#[test]
fn fd_exhaustion_child() {
    if !alone("fd_exhaustion_child") {
        return;
    }
    let rt = filch::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        // Warm up: the signal machinery, the driver and std's spawn paths.
        Command::new("true").status().await.unwrap();
        let limit = libc::rlimit {
            rlim_cur: 256,
            rlim_max: 256,
        };
        // SAFETY: `setrlimit` reads the struct passed by reference; no other memory is touched.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        // Fill the table, then free `k` descriptors and spawn, for each `k`.
        let mut hogs = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            hogs.push(f);
        }
        let mut outcomes = Vec::new();
        // With the streams piped (std's spawn needs descriptors first), then inherited (std's
        // `posix_spawn` needs none: the pidfd is the first thing to want one).
        for (k, piped) in (0..12).map(|k| (k, true)).chain((0..4).map(|k| (k, false))) {
            let freed: Vec<_> = (0..k).filter_map(|_| hogs.pop()).collect();
            drop(freed);
            let stdio = || {
                if piped {
                    Stdio::piped()
                } else {
                    Stdio::inherit()
                }
            };
            let spawned = Command::new("sh")
                .args(["-c", "exit 7"])
                .stdin(stdio())
                .stdout(stdio())
                .stderr(stdio())
                .spawn();
            match spawned {
                Ok(child) => {
                    let output = child.wait_with_output().await.unwrap();
                    assert_eq!(output.status.code(), Some(7));
                    outcomes.push(format!("{k} {piped}: ok"));
                }
                Err(e) => {
                    outcomes.push(format!("{k} {piped}: {e}"));
                    assert!(
                        e.to_string().contains("`sh`"),
                        "k = {k}: the error does not name the program: {e}"
                    );
                }
            }
            // Take the table back to full, less the few the checks below need.
            while let Ok(f) = std::fs::File::open("/dev/null") {
                hogs.push(f);
            }
            drop(hogs.split_off(hogs.len().saturating_sub(4)));
            // No child of ours is left behind, running or zombie.
            let children = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| is_our_child(pid))
                .count();
            assert_eq!(children, 0, "k = {k}: {outcomes:?}");
            while let Ok(f) = std::fs::File::open("/dev/null") {
                hogs.push(f);
            }
        }
        drop(hogs);
        println!("outcomes: {outcomes:#?}");
        assert!(outcomes.iter().any(|o| o.ends_with(": ok")), "{outcomes:?}");
    });
    println!("fd_exhaustion_child DONE");
}

/// A runtime dropped while tasks wait for children (killed on drop, and not) on a
/// current-thread and on a multi-thread runtime: the drop does not hang, the waits' children
/// are killed or left running as asked, and a later spawn reaps them once they exit.
#[test]
fn a_runtime_dropped_while_waits_are_pending() {
    within(Duration::from_secs(60), "drop during wait", || {
        let mut pids = Vec::new();
        for current_thread in [true, false] {
            let rt = if current_thread {
                filch::Builder::new_current_thread().build().unwrap()
            } else {
                common::runtime(2, "pending-wait")
            };
            let (tx, rx) = std::sync::mpsc::channel();
            for kill in [true, false] {
                let tx = tx.clone();
                drop(rt.spawn(async move {
                    let mut child = Command::new("sleep")
                        .arg(if kill { "1000" } else { "0.2" })
                        .kill_on_drop(kill)
                        .spawn()
                        .unwrap();
                    tx.send(child.id().unwrap()).unwrap();
                    let _ = child.wait().await;
                    unreachable!("the runtime is dropped first");
                }));
            }
            // The tasks run (a current-thread runtime runs them in `block_on`).
            rt.block_on(async {
                filch::sleep(Duration::from_millis(50)).await;
            });
            pids.extend(rx.try_iter());
            drop(rt);
        }
        assert_eq!(pids.len(), 4);
        std::thread::sleep(Duration::from_millis(300));
        filch::run(async {
            Command::new("true").status().await.unwrap();
        });
        assert_reaped_within(&pids, Duration::from_secs(1));
    });
}

/// A child traced by another process (a debugger, `strace -p`): when it exits, its pidfd turns
/// readable at once, but `waitpid` cannot reap it until the tracer has seen the exit. The wait
/// must not spin on the worker meanwhile: the other tasks of that worker keep running.
#[test]
fn a_traced_child_exit_does_not_spin_the_worker() {
    let (ticks, waited) = within(Duration::from_secs(60), "traced child", || {
        let rt = common::runtime(1, "traced");
        rt.block_on(async {
            let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
            let pid = child.id().unwrap();
            // A copy of this binary seizes it and holds its exit for a second.
            let mut tracer = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "ptrace_tracer",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("FILCH_ATTACK_ALONE", "ptrace_tracer")
                .env("FILCH_ATTACK_TRACEE", pid.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            let mut out = std::io::BufReader::new(tracer.stdout.take().unwrap());
            while !line.contains("seized") {
                line.clear();
                assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0);
            }
            let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let ticker = filch::spawn({
                let ticks = ticks.clone();
                async move {
                    loop {
                        filch::sleep(Duration::from_millis(10)).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            // On the runtime's only worker, with the ticker.
            let waited = filch::spawn(async move {
                let start = Instant::now();
                assert!(child.wait().await.unwrap().success());
                start.elapsed()
            })
            .await
            .unwrap();
            ticker.abort();
            assert!(tracer.wait().unwrap().success());
            (ticks.load(Ordering::SeqCst), waited)
        })
    });
    // The tracer let go after a second: the wait took about that long, and the ticker, on the
    // same worker, ticked all along (a hundred ticks in a second; a spinning wait allows ~20).
    assert!(waited > Duration::from_millis(700), "{waited:?}");
    assert!(
        ticks as u128 >= waited.as_millis() / 10 / 2,
        "{ticks} ticks of 10 ms in a wait of {waited:?}: the wait kept the worker"
    );
}

/// The tracer of `a_traced_child_exit_does_not_spin_the_worker`, in a copy of this binary.
#[test]
fn ptrace_tracer() {
    if !alone("ptrace_tracer") {
        return;
    }
    let pid: libc::pid_t = std::env::var("FILCH_ATTACK_TRACEE")
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: PTRACE_SEIZE takes a pid and no memory (address and data are 0).
    let seized = unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    assert_eq!(seized, 0, "{}", std::io::Error::last_os_error());
    println!("seized");
    std::thread::sleep(Duration::from_secs(1));
    // Leaving without waiting for it detaches it: its exit goes to its parent.
}

/// A wait polled by an executor that belongs to no runtime (the runtime that spawned the child
/// still runs and turns its driver): it ends, through the pidfd's wake-up.
#[test]
fn a_wait_polled_off_runtime_ends() {
    within(Duration::from_secs(30), "off-runtime wait", || {
        let rt = common::runtime(1, "off");
        let mut child = rt
            .block_on(async { Command::new("sleep").arg("0.1").spawn() })
            .unwrap();
        let status = common::block_on_plain(child.wait()).unwrap();
        assert!(status.success());
    });
}
