//! Attacks on signal delivery with listeners that deliver from their own poll
//! (`unix::Signal::poll_recv`) and `Globals::deliver`'s short-read drain: several runtimes,
//! listeners whose runtime shuts down, listeners polled outside any runtime, bursts that fill
//! more than one read of the self-pipe.
#![cfg(unix)]

mod common;

use common::{block_on_plain, runtime, within};
use filch::signal::unix::{signal, SignalKind};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn kill_self(signum: libc::c_int) {
    // SAFETY: a handler is installed (a listener exists) before this is called.
    let rc = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(rc, 0);
}

const PATIENCE: Duration = Duration::from_secs(10);

fn current_thread() -> filch::Runtime {
    filch::Builder::new_current_thread().build().unwrap()
}

/// Listeners on four runtimes (two current-thread, each driven by its own thread, two
/// multi-thread), each answering every delivery: a pinger sends SIGUSR1 to the process and
/// waits for all four answers before the next. Several drivers and self-delivering polls race
/// for each delivery; none may be lost.
#[test]
fn every_listener_on_several_runtimes_sees_every_ping() {
    let _serial = serial();
    within(Duration::from_secs(180), "attack: several runtimes", || {
        const ROUNDS: usize = 500;
        let (pong_tx, pong_rx) = mpsc::channel::<usize>();
        let mut threads = Vec::new();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        // Rounds are numbered: a listener answers round r after its r-th recv.
        let (go_txs, go_rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| mpsc::channel::<()>()).unzip();
        for (id, go_rx) in go_rxs.into_iter().enumerate() {
            let pong_tx = pong_tx.clone();
            let ready_tx = ready_tx.clone();
            threads.push(std::thread::spawn(move || {
                let rt = if id < 2 {
                    current_thread()
                } else {
                    runtime(2, "atk-sig")
                };
                rt.block_on(async move {
                    let mut l = signal(SignalKind::user_defined1()).unwrap();
                    ready_tx.send(()).unwrap();
                    for r in 0..ROUNDS {
                        let got = filch::timeout(PATIENCE, l.recv()).await;
                        assert_eq!(got, Ok(Some(())), "listener {id}: round {r} lost");
                        pong_tx.send(id).unwrap();
                        // Wait until everyone answered before the next recv (no coalescing of
                        // the next round into this one).
                        while go_rx.try_recv().is_err() {
                            filch::yield_now().await;
                        }
                    }
                });
            }));
        }
        drop(pong_tx);
        for _ in 0..4 {
            ready_rx.recv_timeout(PATIENCE).unwrap();
        }
        for r in 0..ROUNDS {
            kill_self(libc::SIGUSR1);
            let mut seen = [false; 4];
            for _ in 0..4 {
                let id = pong_rx
                    .recv_timeout(PATIENCE * 2)
                    .unwrap_or_else(|_| panic!("round {r}: a listener never answered ({seen:?})"));
                assert!(!seen[id], "round {r}: listener {id} answered twice");
                seen[id] = true;
            }
            for g in &go_txs {
                g.send(()).unwrap();
            }
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}

/// A listener whose runtime is being shut down keeps its signal pending-delivering (its poll
/// may drain the pipe) while a listener on a live runtime waits: the live one must get every
/// delivery.
#[test]
fn a_listener_on_a_dying_runtime_never_steals_a_delivery() {
    let _serial = serial();
    within(Duration::from_secs(180), "attack: dying runtime", || {
        let live = runtime(2, "atk-live");
        let mut usr2 = live.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
        for round in 0..200 {
            // A doomed runtime with a listener whose task loops in recv.
            let doomed = if round % 2 == 0 {
                current_thread()
            } else {
                runtime(1, "atk-doom")
            };
            let mut dl = doomed.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
            let doomed_task = doomed.spawn(async move { while let Some(()) = dl.recv().await {} });
            let killer = std::thread::spawn(move || {
                kill_self(libc::SIGUSR2);
            });
            let dropper = std::thread::spawn(move || {
                drop(doomed_task);
                drop(doomed);
            });
            killer.join().unwrap();
            let got = live.block_on(async { filch::timeout(PATIENCE, usr2.recv()).await });
            assert_eq!(
                got,
                Ok(Some(())),
                "round {round}: the live listener lost a delivery"
            );
            dropper.join().unwrap();
        }
    });
}

/// Listeners of a runtime that is gone (answer `None`) are polled in a tight loop from plain
/// threads while deliveries happen: their polls deliver (drain + flag pass) too. The live
/// listener must see each delivery.
#[test]
fn orphaned_listeners_polled_in_a_loop_do_not_lose_deliveries() {
    let _serial = serial();
    within(Duration::from_secs(180), "attack: orphans", || {
        let live = current_thread();
        let mut usr1 = live.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
        let stop = Arc::new(AtomicBool::new(false));
        let pollers: Vec<_> = (0..2)
            .map(|_| {
                let gone = current_thread();
                let mut l = gone.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
                drop(gone);
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(SeqCst) {
                        assert_eq!(block_on_plain(l.recv()), None);
                    }
                })
            })
            .collect();
        for round in 0..1000 {
            kill_self(libc::SIGUSR1);
            let got = live.block_on(async { filch::timeout(PATIENCE, usr1.recv()).await });
            assert_eq!(got, Ok(Some(())), "round {round}: lost");
        }
        stop.store(true, SeqCst);
        for p in pollers {
            p.join().unwrap();
        }
    });
}

/// Bursts of two signals (more bytes than one 128-byte read of the self-pipe), raised from
/// several threads, then silence: after each burst, each listener gets at least one answer, and
/// then a single further signal still reaches an idle runtime (no bytes left in the pipe
/// without an event).
#[test]
fn bursts_larger_than_one_read_leave_no_stranded_bytes() {
    let _serial = serial();
    within(Duration::from_secs(180), "attack: bursts", || {
        for flavor in ["current_thread", "multi_thread"] {
            let rt = if flavor == "current_thread" {
                current_thread()
            } else {
                runtime(2, "atk-burst")
            };
            let other = runtime(1, "atk-burst2");
            let (mut a1, mut a2) = rt.block_on(async {
                (
                    signal(SignalKind::user_defined1()).unwrap(),
                    signal(SignalKind::user_defined2()).unwrap(),
                )
            });
            let mut b1 = other.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
            for round in 0..50 {
                let senders: Vec<_> = (0..4)
                    .map(|k| {
                        std::thread::spawn(move || {
                            for i in 0..100 {
                                kill_self(if (i + k) % 2 == 0 {
                                    libc::SIGUSR1
                                } else {
                                    libc::SIGUSR2
                                });
                            }
                        })
                    })
                    .collect();
                for s in senders {
                    s.join().unwrap();
                }
                let got = rt.block_on(async {
                    filch::timeout(PATIENCE, async { (a1.recv().await, a2.recv().await) }).await
                });
                assert_eq!(
                    got,
                    Ok((Some(()), Some(()))),
                    "{flavor} round {round}: burst lost"
                );
                let got = other.block_on(async { filch::timeout(PATIENCE, b1.recv()).await });
                assert_eq!(
                    got,
                    Ok(Some(())),
                    "{flavor} round {round}: other runtime lost the burst"
                );
                // Let any in-flight deliveries of the burst finish, then swallow them.
                std::thread::sleep(Duration::from_millis(5));
                let _ = rt
                    .block_on(async { filch::timeout(Duration::from_millis(20), a1.recv()).await });
                let _ = rt
                    .block_on(async { filch::timeout(Duration::from_millis(20), a2.recv()).await });
                let _ = other
                    .block_on(async { filch::timeout(Duration::from_millis(20), b1.recv()).await });
                // One lone signal, sent from a plain thread while the runtime idles in recv.
                let waiter = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(2));
                    kill_self(libc::SIGUSR2);
                });
                let got = rt.block_on(async { filch::timeout(PATIENCE, a2.recv()).await });
                waiter.join().unwrap();
                assert_eq!(
                    got,
                    Ok(Some(())),
                    "{flavor} round {round}: lone signal after a burst lost"
                );
            }
        }
    });
}

/// A listener created while another runtime's listener is delivering: it must see every
/// signal raised after its creation (raised from the creating thread itself, `raise`, so the
/// handler runs after creation for sure).
#[test]
fn a_fresh_listener_sees_a_signal_raised_after_it_while_others_deliver() {
    let _serial = serial();
    within(Duration::from_secs(180), "attack: fresh listeners", || {
        let busy = runtime(2, "atk-busy");
        // Created before the noise starts: a SIGUSR1 with no handler installed kills the process.
        let mut busy_l = busy.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
        let stop = Arc::new(AtomicBool::new(false));
        let noise = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    kill_self(libc::SIGUSR1);
                    std::thread::sleep(Duration::from_micros(50));
                }
            })
        };
        let drain = busy.spawn(async move { while busy_l.recv().await.is_some() {} });
        for flavor in ["current_thread", "multi_thread"] {
            let rt = if flavor == "current_thread" {
                current_thread()
            } else {
                runtime(2, "atk-fresh")
            };
            for round in 0..500 {
                let got = rt.block_on(async {
                    let mut l = signal(SignalKind::user_defined1()).unwrap();
                    // SAFETY: a handler is installed.
                    assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
                    filch::timeout(PATIENCE, l.recv()).await
                });
                assert_eq!(got, Ok(Some(())), "{flavor} round {round}: lost");
            }
        }
        stop.store(true, SeqCst);
        noise.join().unwrap();
        drop(drain);
    });
}
