//! Tests that look inside the MSK JSON model (its fields are crate-private):
//! casing, defaults, the files in `examples/`, the errors of each part, and
//! secrets.

mod casing;
mod defaults;
mod errors;
mod examples;
mod secrets;
