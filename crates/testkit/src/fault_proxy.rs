//! A TCP proxy on a free 127.0.0.1 port whose faults tests switch on and off at run time:
//! drop every connection, cut after N bytes, delay, throttle, stall, half-open (a peer that
//! vanished without a FIN), refuse, corrupt one byte. Not Kafka-aware.
//!
//! It runs on its own tokio runtime, so sync and async tests use it alike, and stops (closing
//! every connection) on drop.
//!
//! # In front of a Kafka broker
//! Metadata responses name the broker's *advertised* address, so a client bootstrapped through
//! the proxy would connect to the broker directly afterwards. Start the broker advertising the
//! proxy's port instead: reserve a port, start Tansu with
//! [`TansuOptions::advertised`](crate::tansu::TansuOptions) set to it, then start the proxy on
//! that port with [`FaultProxy::start_on`]. [`FaultProxy::with_tansu`] does exactly that.

use std::io;
use std::net::{Ipv4Addr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;

use crate::ports::try_free_port;
use crate::tansu::{TansuBroker, TansuOptions};

/// Largest chunk forwarded in one write.
const CHUNK: usize = 16 * 1024;

/// Bound on connecting to the upstream for each accepted client.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Fault settings; every connection task watches them.
#[derive(Debug, Clone, Default)]
struct Faults {
    /// Bumped by `drop_all`; a connection closes when it differs from the value it started with.
    drop_generation: u64,
    /// `(limit, generation)`: close a connection once `limit` bytes went one way since the
    /// setting (counts restart when the generation changes).
    drop_after: Option<(u64, u64)>,
    delay: Duration,
    bytes_per_sec: Option<u64>,
    stalled: bool,
    half_open: bool,
    refuse: bool,
}

/// Traffic counters since the proxy started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Every accepted TCP connection, refused ones included.
    pub connections_accepted: u64,
    /// Connections closed at once because [`FaultProxy::refuse`] was on.
    pub connections_refused: u64,
    /// Connections currently open.
    pub open_connections: u64,
    /// Bytes written to the upstream.
    pub bytes_client_to_upstream: u64,
    /// Bytes written to clients.
    pub bytes_upstream_to_client: u64,
}

struct Shared {
    upstream: String,
    faults: watch::Sender<Faults>,
    accepted: AtomicU64,
    refused: AtomicU64,
    open: AtomicU64,
    c2u: AtomicU64,
    u2c: AtomicU64,
    /// Absolute position in the upstream→client byte stream (all connections) to flip.
    corrupt_at: Mutex<Option<u64>>,
    drop_after_generation: AtomicU64,
}

/// A running fault-injecting TCP proxy.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` ("host:port") on a free 127.0.0.1 port.
    pub fn start(upstream: &str) -> Result<Self> {
        let port = try_free_port().context("choosing a port for the fault proxy")?;
        Self::start_on(port, upstream)
    }

    /// Starts a proxy to `upstream` on 127.0.0.1:`port` (a port reserved earlier, e.g. one a
    /// broker already advertises).
    pub fn start_on(port: u16, upstream: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .context("building the fault proxy runtime")?;
        let std_listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .with_context(|| format!("fault proxy binding 127.0.0.1:{port}"))?;
        std_listener.set_nonblocking(true)?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            faults: watch::Sender::new(Faults::default()),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            open: AtomicU64::new(0),
            c2u: AtomicU64::new(0),
            u2c: AtomicU64::new(0),
            corrupt_at: Mutex::new(None),
            drop_after_generation: AtomicU64::new(0),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            port,
            shared,
            runtime: Some(runtime),
        })
    }

    /// Starts a Tansu broker that advertises a proxy, and the proxy in front of it: every
    /// client connection, after bootstrap too, goes through the proxy. `options.advertised`
    /// is overwritten.
    pub fn with_tansu(mut options: TansuOptions) -> Result<(TansuBroker, FaultProxy)> {
        let port = try_free_port().context("choosing a port for the fault proxy")?;
        options.advertised = Some(format!("127.0.0.1:{port}"));
        let broker = TansuBroker::start(options)?;
        let proxy = Self::start_on(port, &broker.addr())?;
        Ok((broker, proxy))
    }

    /// `127.0.0.1:<port>`: where clients connect.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where connections are forwarded.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// Counters so far.
    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            connections_accepted: s.accepted.load(Ordering::SeqCst),
            connections_refused: s.refused.load(Ordering::SeqCst),
            open_connections: s.open.load(Ordering::SeqCst),
            bytes_client_to_upstream: s.c2u.load(Ordering::SeqCst),
            bytes_upstream_to_client: s.u2c.load(Ordering::SeqCst),
        }
    }

    /// Closes every current connection now (both sides see the close). New connections work.
    pub fn drop_all(&self) {
        self.shared
            .faults
            .send_modify(|f| f.drop_generation = f.drop_generation.wrapping_add(1));
    }

    /// From now on, closes a connection as soon as `n` bytes have been forwarded in either
    /// direction (counted from this call for open connections, from accept for new ones),
    /// forwarding exactly `n`. Stays on until [`clear_faults`](Self::clear_faults).
    ///
    /// The progress trigger for repeated cuts: how many connections are cut follows the
    /// traffic, not the clock, so a test means the same on a fast and a slow machine.
    pub fn drop_after_bytes(&self, n: u64) {
        let generation = self
            .shared
            .drop_after_generation
            .fetch_add(1, Ordering::SeqCst)
            .wrapping_add(1);
        self.shared
            .faults
            .send_modify(|f| f.drop_after = Some((n, generation)));
    }

    /// Holds each chunk this long before forwarding it (both directions).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.faults.send_modify(|f| f.delay = delay);
    }

    /// Throttles each direction of each connection to about `bytes_per_sec`; `None` removes
    /// the limit.
    pub fn set_bandwidth(&self, bytes_per_sec: Option<u64>) {
        self.shared
            .faults
            .send_modify(|f| f.bytes_per_sec = bytes_per_sec.filter(|&b| b > 0));
    }

    /// `true`: stop forwarding in both directions, keeping every socket open; `false`: resume,
    /// delivering what was held.
    pub fn stall(&self, on: bool) {
        self.shared.faults.send_modify(|f| f.stalled = on);
    }

    /// `true`: every open connection, and every new one until switched off, becomes half-open:
    /// the proxy stops reading from the client and sends nothing back, without a FIN, for good
    /// (as when the peer host vanished). `false` affects only connections accepted later.
    pub fn half_open(&self, on: bool) {
        self.shared.faults.send_modify(|f| f.half_open = on);
    }

    /// `true`: accept new connections and close them at once. Open connections are untouched.
    pub fn refuse(&self, on: bool) {
        self.shared.faults.send_modify(|f| f.refuse = on);
    }

    /// Flips (XOR 0xFF) the byte `offset` bytes into the upstream→client stream from now on
    /// (across all connections, in forwarding order), once.
    pub fn corrupt_next_response_byte(&self, offset: u64) {
        let target = self.shared.u2c.load(Ordering::SeqCst) + offset;
        *lock(&self.shared.corrupt_at) = Some(target);
    }

    /// Removes every fault (delay, bandwidth, stall, half-open, refuse, drop-after, pending
    /// corruption). Connections already half-open stay dead.
    pub fn clear_faults(&self) {
        *lock(&self.shared.corrupt_at) = None;
        self.shared.faults.send_modify(|f| {
            *f = Faults {
                drop_generation: f.drop_generation,
                ..Faults::default()
            }
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping the tasks closes the listener and every socket. Blocking on that is not
            // allowed inside another runtime, so only wait when called from plain threads.
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

use crate::lock::lock;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("fault proxy accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let faults = shared.faults.borrow().clone();
        if faults.refuse {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        tokio::spawn(serve(client, shared.clone(), faults.half_open));
    }
}

/// Decrements the open-connection count however the connection task ends.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ClientToUpstream,
    UpstreamToClient,
}

/// How a pump stopped without an I/O error.
enum PumpEnd {
    /// The reading side sent FIN; it was passed on.
    Eof,
    /// A fault ends the connection.
    Close,
}

async fn serve(client: TcpStream, shared: Arc<Shared>, half_open_at_accept: bool) {
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _guard = OpenGuard(shared.clone());
    let mut control = shared.faults.subscribe();
    let generation = control.borrow_and_update().drop_generation;
    let dead = Arc::new(AtomicBool::new(half_open_at_accept));
    let _ = client.set_nodelay(true);

    if half_open_at_accept {
        // Never connect upstream; hold the client socket silently until dropped.
        watch_control(&mut control, generation, &dead).await;
        return;
    }
    let upstream = match tokio::time::timeout(
        UPSTREAM_CONNECT_TIMEOUT,
        TcpStream::connect(&shared.upstream),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("fault proxy: upstream {} refused: {e}", shared.upstream);
            return;
        }
        Err(_) => {
            tracing::debug!(
                "fault proxy: upstream {} connect timed out",
                shared.upstream
            );
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (upstream_r, upstream_w) = upstream.into_split();
    let c2u = pump(
        client_r,
        upstream_w,
        Direction::ClientToUpstream,
        shared.clone(),
        shared.faults.subscribe(),
        dead.clone(),
    );
    let u2c = pump(
        upstream_r,
        client_w,
        Direction::UpstreamToClient,
        shared.clone(),
        shared.faults.subscribe(),
        dead.clone(),
    );
    tokio::pin!(c2u, u2c);
    let (mut c2u_done, mut u2c_done) = (false, false);
    let watcher = watch_control(&mut control, generation, &dead);
    tokio::pin!(watcher);
    while !(c2u_done && u2c_done) {
        tokio::select! {
            end = &mut c2u, if !c2u_done => {
                c2u_done = true;
                if !matches!(end, Ok(PumpEnd::Eof)) { break; }
            }
            end = &mut u2c, if !u2c_done => {
                u2c_done = true;
                if !matches!(end, Ok(PumpEnd::Eof)) { break; }
            }
            _ = &mut watcher => break,
        }
    }
    // Returning drops all four halves: both peers see the connection close.
}

/// Resolves when `drop_all` was called after the connection started; marks the connection
/// dead whenever half-open is switched on while it lives.
async fn watch_control(control: &mut watch::Receiver<Faults>, generation: u64, dead: &AtomicBool) {
    loop {
        {
            let f = control.borrow_and_update();
            if f.drop_generation != generation {
                return;
            }
            if f.half_open {
                dead.store(true, Ordering::SeqCst);
            }
        }
        if control.changed().await.is_err() {
            // The proxy is shutting down; the runtime drops this task.
            std::future::pending::<()>().await;
        }
    }
}

/// Waits until forwarding is allowed: not stalled and not half-open.
async fn wait_flowing(control: &mut watch::Receiver<Faults>, dead: &AtomicBool) {
    loop {
        {
            let f = control.borrow_and_update();
            if f.half_open {
                dead.store(true, Ordering::SeqCst);
            }
            if !f.stalled && !dead.load(Ordering::SeqCst) {
                return;
            }
        }
        if control.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn pump<R, W>(
    mut reader: R,
    mut writer: W,
    direction: Direction,
    shared: Arc<Shared>,
    mut control: watch::Receiver<Faults>,
    dead: Arc<AtomicBool>,
) -> io::Result<PumpEnd>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    // (generation of the drop-after setting, bytes forwarded under it)
    let mut budget_state: (u64, u64) = (0, 0);
    loop {
        wait_flowing(&mut control, &dead).await;
        let limit = match control.borrow().bytes_per_sec {
            // About 20 writes a second keeps throttled streams smooth.
            Some(bps) => usize::try_from(bps / 20).unwrap_or(CHUNK).clamp(1, CHUNK),
            None => CHUNK,
        };
        let n = reader.read(&mut buf[..limit]).await?;
        if n == 0 {
            writer.shutdown().await?;
            return Ok(PumpEnd::Eof);
        }
        let delay = control.borrow().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // A stall or half-open that began meanwhile holds this chunk too.
        wait_flowing(&mut control, &dead).await;
        let faults = control.borrow().clone();

        let mut n = n;
        let mut close_after = false;
        if let Some((max, generation)) = faults.drop_after {
            if budget_state.0 != generation {
                budget_state = (generation, 0);
            }
            let room = max.saturating_sub(budget_state.1);
            if (n as u64) >= room {
                n = usize::try_from(room).unwrap_or(n);
                close_after = true;
            }
            budget_state.1 += n as u64;
        }
        let counter = match direction {
            Direction::ClientToUpstream => &shared.c2u,
            Direction::UpstreamToClient => &shared.u2c,
        };
        let start = counter.fetch_add(n as u64, Ordering::SeqCst);
        if direction == Direction::UpstreamToClient {
            let mut pending = lock(&shared.corrupt_at);
            if let Some(target) = *pending {
                if target >= start && target < start + n as u64 {
                    let i = usize::try_from(target - start).unwrap_or(0);
                    buf[i] ^= 0xFF;
                    *pending = None;
                }
            }
        }
        if n > 0 {
            writer.write_all(&buf[..n]).await?;
        }
        if close_after {
            return Ok(PumpEnd::Close);
        }
        if let Some(bps) = faults.bytes_per_sec {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / bps as f64)).await;
        }
    }
}
