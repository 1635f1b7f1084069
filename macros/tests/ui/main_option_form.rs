// An option without its value, and one written like a call.
#[filch::main(flavor, worker_threads(4))]
async fn main() {}
