//! `flavor = "current_thread"`: the thread of `main` runs the tasks.
#[filch::main(flavor = "current_thread")]
async fn main() {
    let main_thread = std::thread::current().id();
    let ran_on = filch::spawn(async { std::thread::current().id() }).await.unwrap();
    assert_eq!(ran_on, main_thread);
}
