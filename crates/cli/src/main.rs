//! The `kreplicate` binary.
fn main() {
    eprintln!("kreplicate: not yet implemented");
    std::process::exit(2);
}
