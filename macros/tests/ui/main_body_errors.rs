// Errors in the body point at the body, not at the attribute.
use std::error::Error;

#[filch::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = "not a number";
    println!("{n}");
    42
}
