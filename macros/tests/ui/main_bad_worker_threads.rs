// `#[filch::main]` also goes on functions not named `main`: one mistake per function.
#[filch::main(worker_threads = 0)]
async fn zero() {}

#[filch::main(worker_threads = "4")]
async fn quoted() {}

#[filch::main(worker_threads = 2.5)]
async fn fractional() {}

const WORKERS: usize = 4;

#[filch::main(worker_threads = WORKERS)]
async fn not_a_literal() {}

fn main() {}
