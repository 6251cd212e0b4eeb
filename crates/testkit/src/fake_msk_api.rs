//! A fake of the one Kafka API call kreplicate makes, GetBootstrapBrokers
//! (`GET /v1/clusters/{clusterArn}/bootstrap-brokers`), answering as the API reference documents
//! it: 200 with the camelCase broker strings, 404 NotFoundException for an unknown cluster, 403
//! ForbiddenException for a caller without `kafka:GetBootstrapBrokers`, 401 without a SigV4
//! Authorization header. moto does not serve it. Access keys can also be denied
//! `secretsmanager:GetSecretValue` here (point `AWS_ENDPOINT_URL_SECRETS_MANAGER` at it) to
//! test the refusal Secrets Manager gives; it stores no secrets (moto does).
//!
//! Blocking HTTP/1.1 on a thread per connection, one request per connection: a handful of
//! calls per test.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Default)]
struct State {
    /// Cluster ARN → the GetBootstrapBrokers answer.
    clusters: HashMap<String, Value>,
    /// Access key ids refused everything.
    denied: HashSet<String>,
}

/// A running fake on 127.0.0.1; stops on drop.
pub struct FakeMskApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    calls: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMskApi {
    /// Starts listening on a free port.
    pub fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("fake MSK API: bind")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let state = Arc::new(Mutex::new(State::default()));
        let calls = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, calls, stop) = (state.clone(), calls.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("fake-msk-api-{}", addr.port()))
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match listener.accept() {
                            Ok((stream, _)) => {
                                let (state, calls) = (state.clone(), calls.clone());
                                std::thread::spawn(move || {
                                    if let Err(e) = serve(stream, &state, &calls) {
                                        tracing::debug!("fake MSK API: {e:#}");
                                    }
                                });
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            Err(e) => {
                                tracing::warn!("fake MSK API: accept: {e}");
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                    }
                })?
        };
        Ok(FakeMskApi {
            addr,
            state,
            calls,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_KAFKA`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes GetBootstrapBrokers for `arn` answer `answer` (camelCase members, e.g.
    /// `{"bootstrapBrokerStringSaslIam": "127.0.0.1:9098"}`).
    pub fn add_cluster(&self, arn: &str, answer: Value) {
        lock(&self.state).clusters.insert(arn.to_owned(), answer);
    }

    /// Refuses every call signed by `access_key_id`.
    pub fn deny(&self, access_key_id: &str) {
        lock(&self.state).denied.insert(access_key_id.to_owned());
    }

    /// Requests served so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Drop for FakeMskApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

use crate::lock::lock;

fn serve(stream: TcpStream, state: &Mutex<State>, calls: &AtomicU64) -> anyhow::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = HashMap::new();
    let mut size = request_line.len();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        size += n;
        anyhow::ensure!(n > 0 && size <= MAX_HEAD, "bad request head");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(MAX_HEAD)];
    reader.read_exact(&mut body)?;
    calls.fetch_add(1, Ordering::Relaxed);
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, error_type, answer) = answer(state, method, path, &headers);
    let body = answer.to_string();
    let mut out = stream;
    let error_header = error_type
        .map(|t| format!("x-amzn-ErrorType: {t}\r\n"))
        .unwrap_or_default();
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\n{error_header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    )?;
    out.flush()?;
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "Not Found",
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …` → (AKID, SERVICE).
fn signer(headers: &HashMap<String, String>) -> Option<(String, String)> {
    let auth = headers.get("authorization")?;
    let credential = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")?
        .split(',')
        .find_map(|p| p.trim().strip_prefix("Credential="))?;
    let scope: Vec<&str> = credential.split('/').collect();
    (scope.len() == 5).then(|| (scope[0].to_owned(), scope[3].to_owned()))
}

fn answer(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
) -> (u16, Option<&'static str>, Value) {
    let Some((key, service)) = signer(headers) else {
        return (
            401,
            Some("UnauthorizedException"),
            json!({"message": "Missing Authentication Token"}),
        );
    };
    let denied = lock(state).denied.contains(&key);
    if method == "POST" && service == "secretsmanager" {
        let target = headers.get("x-amz-target").map(String::as_str);
        if denied && target == Some("secretsmanager.GetSecretValue") {
            return (
                400,
                None,
                json!({
                    "__type": "AccessDeniedException",
                    "Message": format!("User: arn:aws:iam::123456789012:user/{key} is not authorized to perform: secretsmanager:GetSecretValue because no identity-based policy allows the secretsmanager:GetSecretValue action"),
                }),
            );
        }
        return (
            400,
            None,
            json!({"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}),
        );
    }
    let arn = path
        .strip_prefix("/v1/clusters/")
        .and_then(|rest| rest.strip_suffix("/bootstrap-brokers"))
        .map(percent_decode);
    match (method, arn) {
        ("GET", Some(arn)) if service == "kafka" => {
            if denied {
                return (
                    403,
                    Some("ForbiddenException"),
                    json!({"message": format!("User: arn:aws:iam::123456789012:user/{key} is not authorized to perform: kafka:GetBootstrapBrokers on resource: {arn}")}),
                );
            }
            match lock(state).clusters.get(&arn) {
                Some(answer) => (200, None, answer.clone()),
                None => (
                    404,
                    Some("NotFoundException"),
                    json!({"message": format!("The requested resource {arn} doesn't exist.")}),
                ),
            }
        }
        _ => (
            404,
            Some("NotFoundException"),
            json!({"message": format!("no route for {method} {path}")}),
        ),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| b.is_ascii_hexdigit();
        if bytes[i] == b'%' && i + 2 < bytes.len() && hex(bytes[i + 1]) && hex(bytes[i + 2]) {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_encoded_arn() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Akafka%3Aus-east-1%3A1%3Acluster%2Fc%2Fu"),
            "arn:aws:kafka:us-east-1:1:cluster/c/u"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
