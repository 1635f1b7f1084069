//! filch-macros: the `#[filch::main]` and `#[filch::test]` attributes of
//! [filch](https://docs.rs/filch). Use them through the `filch` crate (its default `macros`
//! feature), which re-exports them.
//!
//! Both turn an `async fn` into a plain `fn` that builds a runtime with [`filch::Builder`] and
//! `block_on`s the function's body; the generated code names the runtime only through
//! `::filch::…` paths (or the path given with `crate = "…"`). How: `expand.rs`; the options and
//! their checks: `options.rs`.
//!
//! [`filch::Builder`]: https://docs.rs/filch/latest/filch/struct.Builder.html

mod expand;
mod options;

use options::Kind;
use proc_macro::TokenStream;

/// Runs `async fn main` on a filch runtime: the attribute makes `main` a plain `fn` that builds a
/// runtime, `block_on`s the body and returns its value — the `asyncio.run(main())` of a program
/// written as an `async fn`.
///
/// ```
/// #[filch::main]
/// async fn main() {
///     let a = filch::spawn(async { 20 });
///     let b = filch::spawn(async { 22 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 42);
/// }
/// ```
///
/// `main` may return what a plain `main` returns; the value of the body is returned from the
/// generated `main`:
///
/// ```no_run
/// use std::error::Error;
///
/// #[filch::main]
/// async fn main() -> Result<(), Box<dyn Error>> {
///     let listener = filch::net::TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
///
/// # Options
///
/// | option | values | default |
/// |---|---|---|
/// | `flavor` | `"multi_thread"`: worker threads run the tasks ([`Builder::new_multi_thread`]); `"current_thread"`: the thread of `main` runs them ([`Builder::new_current_thread`]) | `"multi_thread"` |
/// | `worker_threads` | a positive integer literal; only with `"multi_thread"` ([`Builder::worker_threads`]) | one per core |
/// | `start_paused` | `true`: the runtime's clock starts paused ([`Builder::start_paused`]) | `false` |
/// | `crate` | the path of the filch crate, as a string, for a renamed dependency | `"filch"` |
///
/// ```
/// #[filch::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() {
///     let on = filch::spawn(async { std::thread::current().name().map(str::to_owned) });
///     assert!(on.await.unwrap().unwrap().contains("worker"));
/// }
/// ```
///
/// # What it expands to
///
/// Roughly this, with the body's tokens kept as they are, so that errors in it point at it:
///
/// ```text
/// fn main() {
///     let body = async {
///         // the body of `async fn main`
///     };
///     return filch::Builder::new_multi_thread()
///         .build()
///         .expect("#[filch::main]: cannot build the runtime")
///         .block_on(body);
/// }
/// ```
///
/// The attribute also works on an `async fn` not named `main` (which may then take arguments):
/// it becomes a function that runs its body on a runtime of its own each time it is called.
///
/// # Panics
/// The generated `main` panics if the runtime cannot be built (the OS refuses a thread), and
/// when the body panics, as [`Runtime::block_on`] does.
///
/// [`Builder::new_multi_thread`]: https://docs.rs/filch/latest/filch/struct.Builder.html#method.new_multi_thread
/// [`Builder::new_current_thread`]: https://docs.rs/filch/latest/filch/struct.Builder.html#method.new_current_thread
/// [`Builder::worker_threads`]: https://docs.rs/filch/latest/filch/struct.Builder.html#method.worker_threads
/// [`Builder::start_paused`]: https://docs.rs/filch/latest/filch/struct.Builder.html#method.start_paused
/// [`Runtime::block_on`]: https://docs.rs/filch/latest/filch/struct.Runtime.html#method.block_on
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test, run on a fresh filch runtime: each test builds its own,
/// `block_on`s its body, and drops the runtime (cancelling the tasks it left) when it ends.
///
/// ```
/// #[filch::test]
/// async fn adds_on_a_task() {
///     let sum = filch::spawn(async { 1 + 1 }).await.unwrap();
///     assert_eq!(sum, 2);
/// }
/// # fn main() {}
/// ```
///
/// By default the runtime is a **current-thread** one (as in tokio's test macro): the test's
/// thread runs every task, so a test sees the same interleaving every run, and the runtime
/// costs no thread to build or join — what a suite of many small tests wants. Ask for
/// `flavor = "multi_thread"` (or `worker_threads = N`, which implies it) to test code that
/// needs tasks to run in parallel.
///
/// Everything a `#[test]` takes works: `#[should_panic(expected = "…")]` (a panic in the body
/// reaches the harness with its message), `#[ignore]`, and a return type of `Result<(), E>`
/// (`E: Debug`), an `Err` failing the test:
///
/// ```
/// use std::time::Duration;
///
/// #[filch::test(flavor = "multi_thread", worker_threads = 2, timeout = "10s")]
/// async fn times_out_rather_than_hangs() -> Result<(), filch::time::Elapsed> {
///     filch::timeout(Duration::from_secs(1), filch::sleep(Duration::from_millis(1))).await?;
///     Ok(())
/// }
///
/// #[filch::test(start_paused = true)]
/// async fn an_hour_of_retries_in_no_time() {
///     let start = filch::time::now();
///     for _ in 0..60 {
///         filch::sleep(Duration::from_secs(60)).await;
///     }
///     assert_eq!(filch::time::now() - start, Duration::from_secs(3600));
/// }
///
/// #[filch::test]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     filch::yield_now().await;
///     panic!("boom");
/// }
/// # fn main() {}
/// ```
///
/// # Options
///
/// | option | values | default |
/// |---|---|---|
/// | `flavor` | `"current_thread"` or `"multi_thread"` | `"current_thread"` |
/// | `worker_threads` | a positive integer literal: a multi-thread runtime with that many workers (an error with `flavor = "current_thread"`) | one per core, with `"multi_thread"` |
/// | `timeout` | a whole number and a unit, `ms`, `s` or `m`: `"500ms"`, `"30s"`, `"2m"` (checked at compile time); real time, whatever the runtime's clock does | none |
/// | `start_paused` | `true`: the runtime's clock starts paused, so sleeps and timeouts complete at once, in deadline order, at exact virtual times (`filch::time::pause`) | `false` |
/// | `crate` | the path of the filch crate, as a string, for a renamed dependency | `"filch"` |
///
/// A test that runs past its `timeout` fails with "test `name` timed out after 30s", even when
/// its body blocks its thread (a `std::thread::sleep`, a deadlock) rather than awaiting forever:
/// with a timeout, the body runs on a thread of its own, which the test's thread waits for with
/// a deadline; a timed-out test's thread is left behind, stuck, until the test process ends.
/// Without a timeout, the body runs on the test's thread itself.
///
/// # What it expands to
///
/// Roughly this (and, with a timeout, the same inside a closure run on its own thread):
///
/// ```text
/// #[test]
/// fn adds_on_a_task() {
///     let body = async {
///         // the body of the `async fn`
///     };
///     return filch::Builder::new_current_thread()
///         .build()
///         .expect("#[filch::test]: cannot build the runtime of test `adds_on_a_task`")
///         .block_on(body);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}
