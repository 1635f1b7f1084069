#[filch::main(flavor = "single_thread")]
async fn unknown() {}

#[filch::main(flavor = current_thread)]
async fn not_a_string() {}

fn main() {}
