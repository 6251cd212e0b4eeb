//! The HTTP endpoint of a running replicator: `GET /metrics` (Prometheus text), `GET /status`
//! (the typed [`Status`] snapshot as JSON), `GET /healthz` (the process is up) and `GET /ready`
//! (200 only once the replicator has started and both clusters answered their last probe;
//! 503 with the reason otherwise).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kreplicate_replicate::ReplicatorMetrics;
use kreplicate_replicate::{ClusterRole, Status};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Content type of the exposition prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the endpoint reports; updated by `run` as the replicator starts and stops.
pub struct ServerState {
    metrics: OnceLock<Arc<ReplicatorMetrics>>,
    /// (role, cluster alias as used in the `cluster` metric label).
    clusters: [(&'static str, String); 2],
    stopping: AtomicBool,
}

impl ServerState {
    /// State for a replicator between `source_alias` and `target_alias`, not started yet.
    pub fn new(source_alias: &str, target_alias: &str) -> Arc<Self> {
        Arc::new(Self {
            metrics: OnceLock::new(),
            clusters: [
                ("source", source_alias.to_owned()),
                ("target", target_alias.to_owned()),
            ],
            stopping: AtomicBool::new(false),
        })
    }

    /// The replicator has started; serve its metrics.
    pub fn set_started(&self, metrics: Arc<ReplicatorMetrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// Shutdown has begun: stop reporting ready so traffic managers look elsewhere.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// `Ok` when ready, else why not.
    pub fn readiness(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err("shutting down".into());
        }
        let Some(metrics) = self.metrics.get() else {
            return Err("the replicator has not started yet".into());
        };
        let status = metrics.status();
        let down: Vec<String> = self
            .clusters
            .iter()
            .filter(|(role, alias)| !reachable(&status, role, alias))
            .map(|(role, alias)| format!("{role} cluster {alias} is not reachable"))
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(down.join("; "))
        }
    }

    pub(crate) fn respond(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            "/metrics" => match self.metrics.get() {
                Some(metrics) => {
                    let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
                    response
                }
                None => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the replicator has not started yet\n",
                ),
            },
            "/status" => match self.metrics.get() {
                Some(metrics) => {
                    // Plain data: serialising it cannot fail.
                    let body = serde_json::to_vec(&metrics.status()).unwrap_or_default();
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    response
                }
                None => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the replicator has not started yet\n",
                ),
            },
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/ready" => match self.readiness() {
                Ok(()) => text(StatusCode::OK, "ready\n"),
                Err(why) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("not ready: {why}\n"),
                ),
            },
            _ => text(
                StatusCode::NOT_FOUND,
                "not found; try /metrics, /status, /healthz or /ready\n",
            ),
        }
    }
}

/// Whether `status` lists the cluster `alias` on side `role` as reachable.
fn reachable(status: &Status, role: &str, alias: &str) -> bool {
    status.clusters.iter().any(|c| {
        let side = match c.role {
            ClusterRole::Source => "source",
            _ => "target",
        };
        side == role && c.alias == alias && c.reachable
    })
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A listening endpoint; dropping it stops accepting connections.
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and starts serving.
    pub async fn bind(addr: &str, state: Arc<ServerState>) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, state));
        Ok(MetricsServer { addr, task })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// `--metrics-addr`: `HOST:PORT` (an IPv6 host in brackets), checked when the command line is
/// parsed so a typo is a usage error (exit 2), not a failure to listen (exit 1).
pub fn listen_addr(text: &str) -> Result<String, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or("expected HOST:PORT, e.g. 127.0.0.1:9464 or 0.0.0.0:9464")?;
    if host.is_empty() {
        return Err("no host: expected HOST:PORT, e.g. 127.0.0.1:9464".into());
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err("write an IPv6 address in brackets, as [::1]:9464".into());
    }
    port.parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    Ok(text.to_string())
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = state.respond(request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(response: &Response<Full<Bytes>>) -> StatusCode {
        response.status()
    }

    #[test]
    fn readiness_follows_start_reachability_and_stop() {
        let state = ServerState::new("src", "dst");
        assert_eq!(
            state.readiness(),
            Err("the replicator has not started yet".into())
        );
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/metrics")),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/healthz")),
            StatusCode::OK
        );
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/status")),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let metrics = Arc::new(ReplicatorMetrics::new());
        // What the engine does first: names both clusters.
        metrics.expose_clusters("src", "dst");
        metrics.set_cluster_reachable("src", true);
        state.set_started(metrics.clone());
        assert_eq!(
            state.readiness(),
            Err("target cluster dst is not reachable".into())
        );
        metrics.set_cluster_reachable("dst", true);
        assert_eq!(state.readiness(), Ok(()));
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/ready")),
            StatusCode::OK
        );
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/metrics")),
            StatusCode::OK
        );
        let response = state.respond(&Method::GET, "/status");
        assert_eq!(status_of(&response), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            serde_json::to_value(metrics.status()).unwrap()["clusters"],
            serde_json::json!([
                {"role": "source", "alias": "src", "reachable": true},
                {"role": "target", "alias": "dst", "reachable": true}
            ])
        );
        assert_eq!(
            status_of(&state.respond(&Method::POST, "/metrics")),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/x")),
            StatusCode::NOT_FOUND
        );
        state.set_stopping();
        assert_eq!(state.readiness(), Err("shutting down".into()));
        assert_eq!(
            status_of(&state.respond(&Method::GET, "/ready")),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
