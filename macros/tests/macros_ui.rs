//! What `#[filch::main]` and `#[filch::test]` say about mistakes, checked with trybuild: each
//! case under `tests/ui/` is compiled; a `pass_*` case must build and run, any other must fail
//! with the messages in its `.stderr` file (`TRYBUILD=overwrite cargo test -p filch-macros --test macros_ui`
//! writes them anew: read them before committing). What the attributes do at run time is in
//! the facade's `tests/macros.rs`.

use std::env;
use std::process::Command;

#[test]
fn attribute_errors_point_at_the_mistake() {
    if let Some(why) = skip_reason() {
        eprintln!("macros_ui skipped: {why}");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass_*.rs");
    cases.compile_fail("tests/ui/main_*.rs");
    cases.compile_fail("tests/ui/test_*.rs");
}

/// The `.stderr` files hold stable rustc's messages, which change between compiler versions:
/// they are compared on plain stable builds only, not under the sanitizer, loom and shuffle
/// builds (`RUSTFLAGS`), which compile the same expansions, nor on nightly.
fn skip_reason() -> Option<String> {
    if env::var_os("RUSTFLAGS").is_some_and(|flags| !flags.is_empty()) {
        return Some("RUSTFLAGS is set".to_owned());
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let version = Command::new(cargo).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    (version.contains("nightly") || version.contains("beta") || version.contains("dev"))
        .then(|| format!("not a stable toolchain ({})", version.trim()))
}
