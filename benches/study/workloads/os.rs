//! What goes through the operating system besides sockets: Unix signals.

use super::{timed, Params};
use crate::rt::Rt;

pub(super) fn signal_round_trip<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    timed(|| rt.signal_round_trips(p.pick(1_000, 200)))
}
