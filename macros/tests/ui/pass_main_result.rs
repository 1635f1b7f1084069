//! `main` returning a `Result`, with `?` in the body and attributes kept.
use std::error::Error;

/// The doc comment stays on the generated `main`.
#[filch::main]
#[allow(clippy::needless_return)]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = filch::spawn(async { "21" }).await?.parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    assert_eq!(n * 2, 42);
    Ok(())
}
