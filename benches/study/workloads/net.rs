//! Sockets: TCP echo, the many-connections run, a ping-pong through `readable` and `try_read`,
//! and connects through `TcpSocket`.

use super::{timed, Params};
use crate::rt::{Rt, TokioShaped};
use std::time::Duration;

/// How many connections `c100k` makes: up to 100,000, as the open-file limit allows once the
/// soft limit is raised to the hard one (each connection is two descriptors here; 256 are kept
/// for the runtimes and the rest of the study).
fn many_connections_count() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` and `setrlimit` read and write the one struct passed to them.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1_000;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let usable = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(256)
        / 2;
    usable.min(100_000)
}

pub(super) fn c100k<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let n = many_connections_count();
    let run = rt.many_connections(n);
    vec![
        n as f64,
        run.connect.as_secs_f64() * 1e6 / n as f64,
        run.sweep.as_secs_f64(),
        run.heap,
    ]
}

pub(super) fn tcp_echo<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let run = rt.echo(50, p.pick(2_000, 200), 64);
    let mut rtts: Vec<Duration> = run.round_trips;
    rtts.sort_unstable();
    let p99 = rtts[(rtts.len() * 99 / 100).min(rtts.len() - 1)];
    vec![run.total.as_secs_f64(), p99.as_secs_f64() * 1e6]
}

pub(super) fn net_try_read_ping_pong<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    timed(|| rt.try_read_ping_pong(p.pick(10_000, 2_000)))
}

pub(super) fn net_tcp_socket_connect<R: TokioShaped>(rt: &R, _: &Params) -> Vec<f64> {
    timed(|| rt.socket_connects(200))
}
