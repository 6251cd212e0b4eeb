//! Free TCP ports on 127.0.0.1 for brokers, proxies and fronts started by tests.
//!
//! The kernel picks the port (bind to port 0), so concurrent test processes rarely collide. A
//! process-wide set makes sure one test binary never hands out the same port twice, even after
//! the probe socket is closed and the kernel would happily reuse it.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, OnceLock};

/// How many kernel-chosen ports to try before giving up. Only a port that this process already
/// handed out is skipped, so a handful of attempts is plenty.
const ATTEMPTS: usize = 64;

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Returns a currently free TCP port on 127.0.0.1 that this process has not returned before.
///
/// The port is free when this returns; the caller binds it soon after. Another process may in
/// principle take it in between, so starters that can retry (e.g.
/// [`TansuBroker::start`](crate::tansu::TansuBroker::start)) do.
///
/// # Panics
/// If the loopback interface cannot be bound at all: no test that needs a port can run then.
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("no free TCP port on 127.0.0.1: {e}"))
}

/// Like [`free_port`], but returns the error instead of panicking.
pub fn try_free_port() -> std::io::Result<u16> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        drop(listener);
        // A poisoned lock only means another test panicked while holding it; the set is still
        // a valid set of ports.
        let mut set = handed_out().lock().unwrap_or_else(|p| p.into_inner());
        if set.insert(port) {
            return Ok(port);
        }
        last = Some(port);
    }
    Err(std::io::Error::other(format!(
        "the kernel offered only ports already handed out by this process (last: {last:?}) in \
         {ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len(), "duplicate port in {ports:?}");
        for port in ports {
            assert_ne!(port, 0);
            TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .unwrap_or_else(|e| panic!("port {port} not bindable: {e}"));
        }
    }
}
