//! Locking a std `Mutex` whose holder may have panicked.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking the data over when a panicking holder poisoned it: every value kept
/// behind these mutexes is consistent between statements, so a panic elsewhere does not
/// make it wrong, and one panicked task must not stop the others.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
