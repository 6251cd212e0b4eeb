//! Tests that look inside the MSK JSON model (its fields are crate-private):
//! casing, defaults, and the files in `examples/`.

mod casing;
mod defaults;
mod examples;
