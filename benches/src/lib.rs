//! What the end-to-end harness and the criterion benches share: the records they copy, so the
//! hot path is measured on the same bytes as the end-to-end drain.

pub mod workload;
