#[filch::test]
fn not_async() {
    assert!(true);
}

fn main() {}
