//! Attacks on `filch::process` with every child's exit seen through `SIGCHLD` (the fallback):
//! background reapers woken by a storm of deliveries, and many children exiting at once.
#![cfg(unix)]

mod common;

use common::{is_our_child, within};
use filch::process::Command;
use filch::signal::unix::{signal, SignalKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn setup() {
    filch::process::use_sigchld_only();
}

/// Background reapers (children dropped while they run) are woken by every `SIGCHLD`, and a
/// reaper's poll of its listener may itself deliver a pending `SIGCHLD`, waking every listener
/// on the spot, other reapers and itself included. With deliveries arriving all the time (any
/// child's exit, here a thread that raises `SIGCHLD` in a loop), no reaper may deadlock on its
/// own lock or on another's: once the storm ends and the children are killed, all are reaped
/// and the runtime shuts down.
#[test]
fn reapers_in_a_storm_of_sigchld_neither_deadlock_nor_miss_an_exit() {
    setup();
    within(Duration::from_secs(120), "sigchld storm", || {
        let rt = common::runtime(2, "storm");
        let stop = Arc::new(AtomicBool::new(false));
        let pids = rt.block_on(async {
            let mut pids = Vec::new();
            for _ in 0..40 {
                let child = Command::new("sleep").arg("30").spawn().unwrap();
                pids.push(child.id().unwrap());
                // Dropped at once: a reaper watches it.
            }
            pids
        });
        // Listeners polled on the workers deliver too (a listener's poll delivers a pending
        // signal itself), so deliveries run on several threads at once.
        let listeners: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                rt.spawn(async move {
                    let mut chld = signal(SignalKind::child()).unwrap();
                    while !stop.load(Ordering::SeqCst) {
                        let _ = filch::timeout(Duration::from_millis(5), chld.recv()).await;
                    }
                })
            })
            .collect();
        let raisers: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        // SAFETY: `kill` sends a signal to this process; SIGCHLD's handler
                        // (filch's) only sets a flag and writes a byte.
                        unsafe { libc::kill(libc::getpid(), libc::SIGCHLD) };
                    }
                })
            })
            .collect();
        // Short children exiting meanwhile, waited for.
        rt.block_on(async {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                let status = Command::new("true").status().await.unwrap();
                assert!(status.success());
            }
        });
        stop.store(true, Ordering::SeqCst);
        for raiser in raisers {
            raiser.join().unwrap();
        }
        rt.block_on(async {
            for listener in listeners {
                listener.await.unwrap();
            }
            for &pid in &pids {
                // SAFETY: `kill` sends SIGKILL to a child of ours that no one has reaped (its
                // reaper holds it), so the pid is still ours.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            let start = Instant::now();
            while pids.iter().any(|&p| is_our_child(p)) {
                let left: Vec<u32> = pids.iter().copied().filter(|&p| is_our_child(p)).collect();
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "not reaped: {left:?}"
                );
                filch::sleep(Duration::from_millis(10)).await;
            }
        });
        drop(rt);
    });
}

/// Two hundred children exiting at about the same time: their `SIGCHLD`s coalesce, and each
/// child's wait, and each dropped child's reaper, still sees its own exit.
#[test]
fn coalesced_sigchld_from_many_exits_loses_no_child() {
    setup();
    within(Duration::from_secs(120), "coalesced", || {
        filch::run(async {
            let mut waited = Vec::new();
            let mut dropped = Vec::new();
            for i in 0..200 {
                let child = Command::new("sleep").arg("0.2").spawn().unwrap();
                if i % 2 == 0 {
                    waited.push(child);
                } else {
                    dropped.push(child.id().unwrap());
                }
            }
            let statuses = filch::join_all(
                waited
                    .into_iter()
                    .map(|mut c| filch::spawn(async move { c.wait().await })),
            )
            .await;
            for status in statuses {
                assert!(status.unwrap().unwrap().success());
            }
            let start = Instant::now();
            while dropped.iter().any(|&p| is_our_child(p)) {
                assert!(start.elapsed() < Duration::from_secs(20), "not reaped");
                filch::sleep(Duration::from_millis(10)).await;
            }
        });
    });
}

/// Five hundred children dropped at once: every `SIGCHLD` wakes every reaper (each asks
/// `waitpid` for its own child), but all are reaped, in reasonable time.
#[test]
fn five_hundred_dropped_children_are_all_reaped() {
    setup();
    within(Duration::from_secs(120), "five hundred drops", || {
        let rt = common::runtime(2, "drops");
        rt.block_on(async {
            let mut pids = Vec::new();
            for _ in 0..500 {
                let child = Command::new("sleep").arg("0.3").spawn().unwrap();
                pids.push(child.id().unwrap());
            }
            let start = Instant::now();
            while pids.iter().any(|&p| is_our_child(p)) {
                assert!(start.elapsed() < Duration::from_secs(30), "not reaped");
                filch::sleep(Duration::from_millis(20)).await;
            }
            eprintln!("500 SIGCHLD reapers done in {:?}", start.elapsed());
        });
    });
}

/// A wait polled by an executor that belongs to no runtime (the runtime that spawned the child
/// still runs): it ends, through the `SIGCHLD` its runtime's driver delivers.
#[test]
fn a_wait_polled_off_runtime_ends() {
    setup();
    within(Duration::from_secs(30), "off-runtime wait", || {
        let rt = common::runtime(1, "off");
        let mut child = rt
            .block_on(async { Command::new("sleep").arg("0.1").spawn() })
            .unwrap();
        let status = common::block_on_plain(child.wait()).unwrap();
        assert!(status.success());
    });
}
