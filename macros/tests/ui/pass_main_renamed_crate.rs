//! `crate = "..."` for a renamed dependency, with `worker_threads`.
use filch as runtime;

#[runtime::main(crate = "runtime", worker_threads = 2)]
async fn main() {
    let name = runtime::spawn(async { std::thread::current().name().map(str::to_owned) });
    let name = name.await.unwrap().unwrap();
    assert!(name.starts_with("filch-worker-"), "{name}");
}
