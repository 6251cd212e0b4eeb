//! A TLS- and SASL-terminating front for a broker that has neither (Tansu 0.6).
//!
//! Per accepted connection: TLS handshake if configured (optionally requiring a client
//! certificate), then, if SASL is configured, the pre-authentication phase a Kafka broker runs
//! (ApiVersions / SaslHandshake / SaslAuthenticate, PLAIN and SCRAM-SHA-256/512, and MSK IAM's
//! OAUTHBEARER token checked by `tests/aws/verify_msk_iam_token.py`), then a
//! frame-level relay to the upstream broker that rewrites broker addresses in Metadata,
//! FindCoordinator and DescribeCluster responses to the front's own address.
//!
//! The front runs on its own thread with its own Tokio runtime, so it works from sync and async
//! tests alike; dropping it stops the listener and every connection.
//!
//! ```no_run
//! use kreplicate_testkit::front::{Front, FrontConfig, FrontMechanism, FrontSasl};
//! let front = Front::start(
//!     FrontConfig::new("127.0.0.1:9092")
//!         .with_sasl(FrontSasl::new(&[("alice", "pw")], &[FrontMechanism::ScramSha512])),
//! )?;
//! println!("bootstrap through the front: {}", front.addr());
//! # anyhow::Ok(())
//! ```

pub(crate) mod frames;
mod msk_iam;
pub(crate) mod relay;
mod sasl_gate;
mod tls;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use relay::{relay, Advertised};
use sasl_gate::{authenticate, Gate, SaslSetup};

pub use msk_iam::{botocore_msk_iam_token, FrontMskIam};

use crate::strict::connection::serve_strict;
use crate::strict::StrictState;

/// A SASL mechanism the front can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrontMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    /// MSK IAM: a SigV4-presigned `kafka-cluster:Connect` token (see [`FrontMskIam`]).
    OAuthBearer,
}

impl FrontMechanism {
    /// The IANA name used in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            FrontMechanism::Plain => "PLAIN",
            FrontMechanism::ScramSha256 => "SCRAM-SHA-256",
            FrontMechanism::ScramSha512 => "SCRAM-SHA-512",
            FrontMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism with this IANA name (exact, as Kafka matches it).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            FrontMechanism::Plain,
            FrontMechanism::ScramSha256,
            FrontMechanism::ScramSha512,
            FrontMechanism::OAuthBearer,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// Users (name → password) and the mechanisms offered to them.
#[derive(Clone)]
pub struct FrontSasl {
    pub users: HashMap<String, String>,
    pub mechanisms: Vec<FrontMechanism>,
}

impl fmt::Debug for FrontSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("FrontSasl")
            .field("users", &users)
            .field("mechanisms", &self.mechanisms)
            .finish()
    }
}

impl FrontSasl {
    /// `users` as (name, password) pairs.
    pub fn new(users: &[(&str, &str)], mechanisms: &[FrontMechanism]) -> Self {
        FrontSasl {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            mechanisms: mechanisms.to_vec(),
        }
    }
}

/// What the front does.
#[derive(Clone, Debug, Default)]
pub struct FrontConfig {
    /// The broker behind the front, `host:port`.
    pub upstream: String,
    /// Terminate TLS with this `(cert_pem, key_pem)`.
    pub tls: Option<(String, String)>,
    /// Require client certificates issued by this CA (needs `tls`).
    pub client_ca_pem: Option<String>,
    /// Require SASL authentication before relaying.
    pub sasl: Option<FrontSasl>,
    /// `host:port` to put in rewritten broker addresses instead of the front's own (for a proxy
    /// in front of the front, e.g. a fault proxy).
    pub advertised: Option<String>,
    /// Offer OAUTHBEARER with MSK IAM tokens (alone, or besides `sasl`'s mechanisms).
    pub msk_iam: Option<FrontMskIam>,
}

impl FrontConfig {
    /// A plain relay to `upstream` (add TLS and/or SASL with the `with_` methods).
    pub fn new(upstream: impl Into<String>) -> Self {
        FrontConfig {
            upstream: upstream.into(),
            ..FrontConfig::default()
        }
    }

    /// Terminates TLS with this server certificate and key (PEM).
    pub fn with_tls(mut self, cert_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Requires client certificates issued by `ca_pem`.
    pub fn with_client_ca(mut self, ca_pem: impl Into<String>) -> Self {
        self.client_ca_pem = Some(ca_pem.into());
        self
    }

    /// Advertises `host:port` instead of the front's own address.
    pub fn with_advertised(mut self, advertised: impl Into<String>) -> Self {
        self.advertised = Some(advertised.into());
        self
    }

    /// Requires SASL.
    pub fn with_sasl(mut self, sasl: FrontSasl) -> Self {
        self.sasl = Some(sasl);
        self
    }

    /// Requires MSK IAM authentication (SASL OAUTHBEARER); the connection is closed when the
    /// token expires, as MSK ends a session whose credentials expired.
    pub fn with_msk_iam(mut self, msk_iam: FrontMskIam) -> Self {
        self.msk_iam = Some(msk_iam);
        self
    }
}

/// Counters, for tests to assert on.
#[derive(Debug, Default)]
pub(crate) struct FrontStats {
    pub(crate) connections: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
    pub(crate) auth_successes: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    /// Why the last login was refused (the front's own reason, not the client's message).
    pub(crate) last_auth_failure: std::sync::Mutex<Option<String>>,
}

/// What every connection task needs.
struct Shared {
    upstream: String,
    advertised: Advertised,
    tls: Option<TlsAcceptor>,
    sasl: Option<SaslSetup>,
    stats: Arc<FrontStats>,
    /// Kafka's broker rules enforced on every request (the strict layer), else a plain relay.
    strict: Option<Arc<StrictState>>,
}

/// A running front on 127.0.0.1. Stops on drop.
pub struct Front {
    addr: SocketAddr,
    upstream: String,
    stats: Arc<FrontStats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Front {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Front")
            .field("addr", &self.addr)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

impl Front {
    /// Starts listening on a free 127.0.0.1 port.
    pub fn start(config: FrontConfig) -> anyhow::Result<Front> {
        Self::start_inner(config, None)
    }

    /// A front whose relay enforces the strict layer's rules.
    pub(crate) fn start_strict(
        config: FrontConfig,
        strict: Arc<StrictState>,
    ) -> anyhow::Result<Front> {
        Self::start_inner(config, Some(strict))
    }

    fn start_inner(config: FrontConfig, strict: Option<Arc<StrictState>>) -> anyhow::Result<Front> {
        if config.client_ca_pem.is_some() && config.tls.is_none() {
            anyhow::bail!("front: client_ca_pem (mutual TLS) needs tls to be configured");
        }
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key, config.client_ca_pem.as_deref())?),
            None => None,
        };
        let sasl = match (&config.sasl, &config.msk_iam) {
            (None, None) => None,
            (sasl, msk_iam) => {
                let (users, mut mechanisms) = sasl
                    .as_ref()
                    .map(|s| (s.users.clone(), s.mechanisms.clone()))
                    .unwrap_or_default();
                if msk_iam.is_some() && !mechanisms.contains(&FrontMechanism::OAuthBearer) {
                    mechanisms.push(FrontMechanism::OAuthBearer);
                }
                Some(SaslSetup::new(&users, &mechanisms, msk_iam.clone()))
            }
        };
        // Bind here, synchronously, so the address is known and a failure is reported now.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("front: bind")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(FrontStats::default());
        let shared = Arc::new(Shared {
            upstream: config.upstream.clone(),
            advertised: match &config.advertised {
                Some(a) => {
                    let (host, port) = a
                        .rsplit_once(':')
                        .and_then(|(h, p)| Some((h.to_string(), p.parse::<i32>().ok()?)))
                        .with_context(|| format!("front: advertised {a} is not host:port"))?;
                    Advertised { host, port }
                }
                None => Advertised {
                    host: addr.ip().to_string(),
                    port: i32::from(addr.port()),
                },
            },
            tls,
            sasl,
            stats: stats.clone(),
            strict,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("front: tokio runtime")?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("front-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("front: listener: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        _ = accept_loop(listener, shared) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime cancels every connection task and closes its sockets.
                drop(runtime);
            })
            .context("front: spawn thread")?;
        Ok(Front {
            addr,
            upstream: config.upstream,
            stats,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The listening address, `127.0.0.1:port`: the bootstrap address for clients.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The listening socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the front listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The upstream broker address.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed (untrusted client, missing client certificate, not TLS...).
    pub fn tls_failures(&self) -> u64 {
        self.stats.tls_failures.load(Ordering::Relaxed)
    }

    /// Successful SASL logins.
    pub fn auth_successes(&self) -> u64 {
        self.stats.auth_successes.load(Ordering::Relaxed)
    }

    /// Rejected SASL logins (wrong password, unknown user, malformed exchange).
    pub fn auth_failures(&self) -> u64 {
        self.stats.auth_failures.load(Ordering::Relaxed)
    }

    /// Why the front refused the last login, as the front saw it (e.g. "token expired at …"
    /// for MSK IAM, where the client only hears "Access denied").
    pub fn last_auth_failure(&self) -> Option<String> {
        self.stats
            .last_auth_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(shared, tcp).await {
                        tracing::debug!(%peer, "front: connection ended: {e:#}");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("front: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle(shared: Arc<Shared>, tcp: TcpStream) -> anyhow::Result<()> {
    tcp.set_nodelay(true)?;
    match &shared.tls {
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(stream) => serve(&shared, stream).await,
            Err(e) => {
                shared.stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                Err(anyhow::Error::new(e).context("TLS handshake"))
            }
        },
        None => serve(&shared, tcp).await,
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    mut client: S,
) -> anyhow::Result<()> {
    let mut upstream = TcpStream::connect(&shared.upstream)
        .await
        .with_context(|| format!("connecting upstream {}", shared.upstream))?;
    upstream.set_nodelay(true)?;
    let mut session_expires = None;
    if let Some(sasl) = &shared.sasl {
        match authenticate(sasl, &shared.stats, &mut client, &mut upstream).await? {
            Gate::Closed => return Ok(()),
            Gate::Open { expires } => session_expires = expires,
        }
    }
    let served = async {
        match &shared.strict {
            Some(strict) => serve_strict(client, upstream, &shared.advertised, strict).await,
            None => relay(client, upstream, &shared.advertised).await,
        }
    };
    match session_expires {
        // The session ends with its credentials: the client must reconnect with new ones.
        Some(at) => match tokio::time::timeout_at(at, served).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        },
        None => served.await,
    }
}

#[cfg(test)]
mod tests;
