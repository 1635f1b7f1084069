//! `filch::process` with each child's exit seen through `SIGCHLD`, the fallback for kernels and
//! systems without pidfds. The cases are in `process_cases/mod.rs`.
#![cfg(unix)]

mod common;

#[path = "process_cases/mod.rs"]
mod cases;

/// What `Child`'s `Debug` says the exit is seen through.
const WATCH: &str = "SIGCHLD";

fn setup() {
    filch::process::use_sigchld_only();
}
