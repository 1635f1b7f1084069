//! `filch::process` with each child's exit seen through a pidfd (Linux; elsewhere this runs the
//! `SIGCHLD` fallback too). The cases are in `process_cases/mod.rs`.
#![cfg(unix)]

mod common;

#[path = "process_cases/mod.rs"]
mod cases;

/// What `Child`'s `Debug` says the exit is seen through.
const WATCH: &str = "pidfd";

fn setup() {}
