//! Benchmark harness; see docs/benchmarks.md.
fn main() {
    println!("kreplicate-benches: end-to-end harness not yet implemented (issue 7)");
}
