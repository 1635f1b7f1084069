//! filch-reactor: the I/O driver and timers of [filch](https://docs.rs/filch).
//!
//! This crate is a placeholder in this release: the reactor (a `mio` driver turned by idle
//! workers, a hierarchical timer wheel, TCP/UDP/Unix sockets) is the next milestone. It will know
//! only `std::task::Waker`, never the scheduler; the scheduler will turn it from its park step.
