//! The HTTP rows: a server on each runtime under `wrk`, with `perf stat` counting the study's
//! syscalls and context switches.

use super::Params;
use crate::rt::{HttpServer, Rt};

/// Whether `wrk` (the HTTP load generator, from Debian's packages) can be run.
pub(crate) fn have_wrk() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

/// Parses a wrk latency ("512.00us", "1.20ms", "2.00s") into microseconds.
fn wrk_micros(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number,
        "ms" => number * 1e3,
        "s" => number * 1e6,
        _ => return None,
    })
}

/// Counts the syscalls and context switches of this process (every thread: the runtimes live in
/// it; wrk and perf do not) between [`Perf::start`] and [`Perf::stop`], with `perf stat` attached
/// to it, started with its counters disabled and switched on and off through its control
/// descriptors (stdin, with the acknowledgements on stdout), so that only the load is counted.
struct Perf {
    child: std::process::Child,
    ack: std::io::BufReader<std::process::ChildStdout>,
}

/// Why the perf counts are missing, said once.
static PERF_NOTE: std::sync::Once = std::sync::Once::new();

fn perf_missing(why: &str) {
    PERF_NOTE.call_once(|| {
        eprintln!("perf stat is unavailable ({why}): the HTTP workloads' syscall and context-switch counts are left out")
    });
}

impl Perf {
    /// `None` (said once on stderr) if perf is missing or cannot count this process.
    fn start() -> Option<Perf> {
        use std::process::{Command, Stdio};
        let child = Command::new("perf")
            .args([
                "stat",
                "-x,",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
            ])
            .args(["--delay=-1", "--control=fd:0,1", "-p"])
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => {
                perf_missing(&err.to_string());
                return None;
            }
        };
        let ack = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut perf = Perf { child, ack };
        if perf.command("enable") {
            Some(perf)
        } else {
            let _ = perf.child.kill();
            let stderr = perf
                .child
                .wait_with_output()
                .map(|o| o.stderr)
                .unwrap_or_default();
            perf_missing(String::from_utf8_lossy(&stderr).trim());
            None
        }
    }

    /// Sends `command` to perf and waits for its `ack`.
    fn command(&mut self, command: &str) -> bool {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut().expect("piped");
        if writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return false;
        }
        let mut line = Vec::new();
        matches!(self.ack.read_until(b'\n', &mut line), Ok(n) if n > 0) && line.ends_with(b"ack\n")
    }

    /// Stops counting, ends perf (SIGINT: it prints its counts) and returns (syscalls, context
    /// switches).
    fn stop(mut self) -> Option<(f64, f64)> {
        let disabled = self.command("disable");
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own child's, not yet
        // waited for.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&output.stderr);
        let count = |event: &str| {
            text.lines()
                .map(|l| l.split(',').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[2] == event)
                .and_then(|f| f[0].parse::<f64>().ok())
        };
        match (
            disabled,
            count("raw_syscalls:sys_enter"),
            count("context-switches"),
        ) {
            (true, Some(syscalls), Some(switches)) => Some((syscalls, switches)),
            _ => {
                perf_missing(text.trim());
                None
            }
        }
    }
}

/// An HTTP workload: `server` on this runtime under `wrk -t1 -c50 --latency`; µs per request
/// (from wrk's requests/s), wrk's p99, and the process's syscalls and context switches per
/// request (NaN, left out of the report, without perf).
fn http_load<R: Rt>(rt: &R, p: &Params, server: HttpServer) -> Vec<f64> {
    let seconds = p.pick(2, 1);
    let (output, counts) = rt.with_http_server(server, |addr| {
        let perf = Perf::start();
        let output = std::process::Command::new("wrk")
            .args([
                "-t1",
                "-c50",
                &format!("-d{seconds}s"),
                "--latency",
                &format!("http://{addr}/"),
            ])
            .output()
            .expect("wrk runs (checked before the study)");
        (output, perf.and_then(Perf::stop))
    });
    let text = String::from_utf8_lossy(&output.stdout);
    let rps: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected wrk output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| wrk_micros(v.trim()))
        .unwrap_or_else(|| panic!("no p99 in wrk output:\n{text}"));
    // "  123456 requests in 1.00s, 12.34MB read"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    let (syscalls, switches) = counts.unwrap_or((f64::NAN, f64::NAN));
    vec![1e6 / rps, p99, syscalls / requests, switches / requests]
}

pub(super) fn http_raw<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    http_load(rt, p, HttpServer::Raw)
}

#[cfg(feature = "hyper")]
pub(super) fn http_hello<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    http_load(rt, p, HttpServer::Hyper)
}
