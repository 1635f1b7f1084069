//! Unix signals: delivery to one, several and other runtimes' listeners, coalescing, who sees
//! which delivery, the errors, an idle runtime woken, `ctrl_c`, and listeners whose runtime is
//! gone. The signals are raised at this test process itself.
#![cfg(unix)]

mod common;

use common::{block_on_plain, runtime, within};
use filch::signal::unix::{signal, SignalKind};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// Signals are process-wide, and any driver with a listener delivers every signal: the tests
/// take turns, so that one test's deliveries (or drains) never land in another's.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Raises `signum` on the calling thread: its handler has run when this returns.
fn raise(signum: libc::c_int) {
    // SAFETY: `raise` has no memory-safety preconditions; every signal raised here has a
    // handler installed (a listener was created first), so it does not terminate the process.
    let rc = unsafe { libc::raise(signum) };
    assert_eq!(rc, 0, "raise({signum}) failed");
}

/// Long enough for a delivery that is going to happen to happen, on a loaded machine.
const QUIET: Duration = Duration::from_millis(300);
/// How long a delivery may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// Whether `fut` stays pending for `QUIET`.
async fn stays_pending<F: Future>(fut: F) -> bool {
    filch::timeout(QUIET, fut).await.is_err()
}

#[test]
fn a_raised_signal_reaches_its_listener() {
    let _serial = serial();
    within(Duration::from_secs(60), "one listener", || {
        let rt = runtime(2, "sig-one");
        rt.block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            raise(libc::SIGUSR1);
            let got = filch::timeout(PATIENCE, usr1.recv()).await;
            assert_eq!(got, Ok(Some(())), "SIGUSR1 was not delivered");
            assert!(stays_pending(usr1.recv()).await, "one raise, two answers");
        });
    });
}

#[test]
fn every_listener_of_a_signal_gets_each_delivery() {
    let _serial = serial();
    within(Duration::from_secs(60), "several listeners", || {
        let rt = runtime(2, "sig-many");
        rt.block_on(async {
            let mut listeners: Vec<_> = (0..4)
                .map(|_| signal(SignalKind::user_defined2()).unwrap())
                .collect();
            for round in 0..3 {
                raise(libc::SIGUSR2);
                let all = filch::join_all(listeners.iter_mut().map(|l| l.recv()));
                let got = filch::timeout(PATIENCE, all).await;
                assert_eq!(
                    got,
                    Ok(vec![Some(()); 4]),
                    "round {round}: not every listener got SIGUSR2"
                );
            }
        });
    });
}

#[test]
fn listeners_on_two_runtimes_both_get_a_delivery() {
    let _serial = serial();
    within(Duration::from_secs(60), "two runtimes", || {
        let a = runtime(2, "sig-rt-a");
        let b = runtime(1, "sig-rt-b");
        let (tx, rx) = mpsc::channel();
        for (name, rt) in [("a", &a), ("b", &b)] {
            // Created before the raise, in the runtime they belong to.
            let mut hup = rt.block_on(async { signal(SignalKind::hangup()).unwrap() });
            let tx = tx.clone();
            let _detached = rt.spawn(async move {
                let got = hup.recv().await;
                let _ = tx.send((name, got));
            });
        }
        std::thread::sleep(Duration::from_millis(50));
        raise(libc::SIGHUP);
        let mut heard = Vec::new();
        for _ in 0..2 {
            let (name, got) = rx.recv_timeout(PATIENCE).expect("a runtime missed SIGHUP");
            assert_eq!(got, Some(()));
            heard.push(name);
        }
        heard.sort_unstable();
        assert_eq!(heard, ["a", "b"]);
    });
}

#[test]
fn deliveries_between_two_recv_calls_coalesce_into_one() {
    let _serial = serial();
    within(Duration::from_secs(60), "coalescing", || {
        // One worker, busy running this task while it raises: no driver turns in between, so
        // the three deliveries are all there before the first `recv`.
        let rt = runtime(1, "sig-coalesce");
        let task = rt.spawn(async {
            let mut quit = signal(SignalKind::quit()).unwrap();
            for _ in 0..3 {
                raise(libc::SIGQUIT);
            }
            let first = filch::timeout(PATIENCE, quit.recv()).await;
            assert_eq!(first, Ok(Some(())), "SIGQUIT was not delivered");
            assert!(
                stays_pending(quit.recv()).await,
                "three raises before a recv answered more than once"
            );
            // And the listener still hears the next one.
            raise(libc::SIGQUIT);
            let next = filch::timeout(PATIENCE, quit.recv()).await;
            assert_eq!(next, Ok(Some(())), "the next SIGQUIT was not delivered");
        });
        rt.block_on(task).unwrap();
    });
}

#[test]
fn a_listener_created_after_a_delivery_does_not_see_it() {
    let _serial = serial();
    within(Duration::from_secs(60), "late listener", || {
        let rt = runtime(2, "sig-late");
        rt.block_on(async {
            let mut early = signal(SignalKind::window_change()).unwrap();
            raise(libc::SIGWINCH);
            // Maybe before any driver delivered it: it is still the early listener's only.
            let mut late = signal(SignalKind::window_change()).unwrap();
            let got = filch::timeout(PATIENCE, early.recv()).await;
            assert_eq!(got, Ok(Some(())), "the early listener missed SIGWINCH");
            assert!(
                stays_pending(late.recv()).await,
                "a listener saw a signal raised before it existed"
            );

            // Both hear the next one.
            raise(libc::SIGWINCH);
            let both = filch::timeout(PATIENCE, async { (early.recv().await, late.recv().await) });
            assert_eq!(both.await, Ok((Some(()), Some(()))));

            // Raised while no listener exists (the handler is still installed): dropped.
            drop((early, late));
            raise(libc::SIGWINCH);
            let mut later = signal(SignalKind::window_change()).unwrap();
            assert!(
                stays_pending(later.recv()).await,
                "a signal raised with no listener reached a later one"
            );
        });
    });
}

#[test]
fn signals_that_cannot_be_listened_for_are_invalid_input_errors() {
    let _serial = serial();
    within(Duration::from_secs(60), "forbidden signals", || {
        let rt = runtime(1, "sig-forbidden");
        rt.block_on(async {
            let forbidden = [
                (libc::SIGKILL, "SIGKILL"),
                (libc::SIGSTOP, "SIGSTOP"),
                (libc::SIGSEGV, "SIGSEGV"),
                (libc::SIGBUS, "SIGBUS"),
                (libc::SIGILL, "SIGILL"),
                (libc::SIGFPE, "SIGFPE"),
            ];
            for (signum, name) in forbidden {
                let err = signal(SignalKind::from_raw(signum)).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name}");
                assert!(err.to_string().contains(name), "{name}: {err}");
            }
            for signum in [0, -1, 1000] {
                let err = signal(SignalKind::from_raw(signum)).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}");
                assert!(err.to_string().contains(&signum.to_string()), "{err}");
            }
        });
    });
}

#[test]
fn outside_a_runtime_creating_a_listener_is_an_error() {
    let _serial = serial();
    let err = signal(SignalKind::user_defined1()).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
    let err = block_on_plain(filch::signal::ctrl_c()).unwrap_err();
    assert!(err.to_string().contains("filch::run"), "{err}");
}

#[test]
fn an_idle_runtime_wakes_for_a_signal_promptly() {
    let _serial = serial();
    within(Duration::from_secs(60), "idle runtime", || {
        let rt = runtime(4, "sig-idle");
        let mut usr1 = rt.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
        let (tx, rx) = mpsc::channel();
        let _waiter = rt.spawn(async move {
            let got = usr1.recv().await;
            let _ = tx.send((got, Instant::now()));
        });
        // Every worker goes idle: one blocks in the driver, the others on their parkers.
        std::thread::sleep(Duration::from_millis(300));
        // From a plain thread, to the process: the handler may run on any thread.
        let sent = std::thread::spawn(|| {
            // SAFETY: `kill` has no memory-safety preconditions; SIGUSR1 has a handler.
            let rc = unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
            assert_eq!(rc, 0);
            Instant::now()
        })
        .join()
        .unwrap();
        let (got, at) = rx
            .recv_timeout(PATIENCE)
            .expect("an idle runtime did not deliver SIGUSR1");
        assert_eq!(got, Some(()));
        let latency = at.saturating_duration_since(sent);
        assert!(
            latency < Duration::from_secs(2),
            "delivered after {latency:?}"
        );
    });
}

#[test]
fn a_signal_is_delivered_promptly_while_a_task_hogs_a_worker() {
    let _serial = serial();
    within(Duration::from_secs(60), "hogged runtime", || {
        let rt = runtime(2, "sig-hog");
        let mut usr1 = rt.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
        let (tx, rx) = mpsc::channel();
        let _waiter = rt.spawn(async move {
            let got = usr1.recv().await;
            let _ = tx.send((got, Instant::now()));
        });
        std::thread::sleep(Duration::from_millis(100));
        // A task woken by a timer runs on the worker that was blocked in the driver, and then
        // spins without yielding while the other worker sleeps: the driver, and the self-pipe
        // with it, must be handed to the sleeper.
        let hog = rt.spawn(async {
            filch::sleep(Duration::from_millis(100)).await;
            common::busy_for(Duration::from_secs(3));
        });
        std::thread::sleep(Duration::from_millis(400));
        let sent = Instant::now();
        // SAFETY: `kill` has no memory-safety preconditions; SIGUSR1 has a handler.
        let rc = unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
        assert_eq!(rc, 0);
        let (got, at) = rx
            .recv_timeout(PATIENCE)
            .expect("SIGUSR1 was not delivered");
        assert_eq!(got, Some(()));
        let latency = at.saturating_duration_since(sent);
        assert!(
            latency < Duration::from_secs(1),
            "delivered after {latency:?}: nobody watched the driver while the hog ran"
        );
        rt.block_on(hog).unwrap();
    });
}

#[test]
fn ctrl_c_resolves_on_sigint() {
    let _serial = serial();
    within(Duration::from_secs(60), "ctrl_c", || {
        let rt = runtime(2, "sig-ctrl-c");
        rt.block_on(async {
            let mut ctrl_c = pin!(filch::signal::ctrl_c());
            // The first poll installs the handler: only then is raising SIGINT safe.
            let first = poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "ctrl_c resolved with no SIGINT");
            raise(libc::SIGINT);
            let got = filch::timeout(PATIENCE, ctrl_c).await;
            assert!(matches!(got, Ok(Ok(()))), "ctrl_c gave {got:?}");
        });
    });
}

#[test]
fn a_listener_outliving_its_runtime_answers_none() {
    let _serial = serial();
    within(Duration::from_secs(60), "outliving listener", || {
        let rt = runtime(1, "sig-outlive");
        let mut usr2 = rt.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
        drop(rt);
        assert_eq!(block_on_plain(usr2.recv()), None);
        // A delivery now reaches no driver of that runtime, and nothing breaks.
        raise(libc::SIGUSR2);
        assert_eq!(block_on_plain(usr2.recv()), None);
        drop(usr2);
    });
}

#[test]
fn a_runtime_dropped_while_a_listener_waits_wakes_it_with_none() {
    let _serial = serial();
    within(
        Duration::from_secs(60),
        "runtime dropped under a waiting listener",
        || {
            let rt = runtime(2, "sig-drop");
            let mut usr2 = rt.block_on(async { signal(SignalKind::user_defined2()).unwrap() });
            // Waiting on a plain thread, outside the runtime: only the shutdown can end the wait.
            let waiter = std::thread::spawn(move || block_on_plain(usr2.recv()));
            std::thread::sleep(Duration::from_millis(100));
            drop(rt);
            assert_eq!(waiter.join().unwrap(), None);
        },
    );
}

#[test]
fn a_runtime_dropped_with_a_task_waiting_in_recv_shuts_down() {
    let _serial = serial();
    within(Duration::from_secs(60), "task waiting in recv", || {
        let rt = runtime(2, "sig-task-drop");
        let mut hup = rt.block_on(async { signal(SignalKind::hangup()).unwrap() });
        let task = rt.spawn(async move { hup.recv().await });
        std::thread::sleep(Duration::from_millis(50));
        drop(rt);
        drop(task);
        // The handler is still installed; with no listener left the delivery is dropped.
        raise(libc::SIGHUP);
    });
}

// ---- attack: lost deliveries ----

/// Sends `signum` to the whole process (any thread may take it), from a plain thread.
fn kill_self(signum: libc::c_int) {
    // SAFETY: as `raise`; a handler is installed before this is called.
    let rc = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(rc, 0);
}

/// A ping-pong of signals sent to the process from a plain thread (so they land on any
/// thread, workers in the driver included) and answered one by one: on both flavours, with a
/// second runtime's listeners created and dropped meanwhile, no delivery is lost.
#[test]
fn a_ping_pong_of_signals_loses_no_delivery() {
    let _serial = serial();
    within(Duration::from_secs(120), "signal ping-pong", || {
        for flavor in ["current_thread", "multi_thread"] {
            let rt = if flavor == "current_thread" {
                filch::Builder::new_current_thread().build().unwrap()
            } else {
                runtime(2, "sig-pp")
            };
            let churn = runtime(1, "sig-churn");
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let churner = {
                let stop = stop.clone();
                churn.spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let l = signal(SignalKind::user_defined1()).unwrap();
                        filch::yield_now().await;
                        drop(l);
                    }
                })
            };
            let (ping_tx, ping_rx) = mpsc::channel::<()>();
            let (pong_tx, pong_rx) = mpsc::channel::<()>();
            let mut usr1 = rt.block_on(async { signal(SignalKind::user_defined1()).unwrap() });
            let pinger = std::thread::spawn(move || {
                for _ in 0..300 {
                    kill_self(libc::SIGUSR1);
                    if pong_rx.recv_timeout(PATIENCE).is_err() {
                        return false;
                    }
                }
                drop(ping_tx);
                true
            });
            rt.block_on(async move {
                for i in 0..300 {
                    let got = filch::timeout(PATIENCE, usr1.recv()).await;
                    assert_eq!(got, Ok(Some(())), "{flavor}: delivery {i} lost");
                    pong_tx.send(()).unwrap();
                }
            });
            assert!(pinger.join().unwrap(), "{flavor}: a pong went missing");
            let _ = ping_rx;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            churn.block_on(churner).unwrap();
        }
    });
}
