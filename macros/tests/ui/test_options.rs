#[filch::test(start_paused = "yes")]
async fn paused_clock() {}

#[filch::test(retries = 3)]
async fn unknown_option() {}

#[filch::test(flavor = "current_thread", worker_threads = 2)]
async fn workers_on_current_thread() {}

#[filch::test]
#[test]
async fn two_test_attributes() {}

fn main() {}
