#[filch::test(timeout = "30")]
async fn no_unit() {}

#[filch::test(timeout = "1.5s")]
async fn fractional() {}

#[filch::test(timeout = "30 seconds")]
async fn unknown_unit() {}

#[filch::test(timeout = "0s")]
async fn zero() {}

#[filch::test(timeout = 30)]
async fn not_a_string() {}

fn main() {}
