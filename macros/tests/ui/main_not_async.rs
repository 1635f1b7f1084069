#[filch::main]
fn main() {
    println!("no async");
}
