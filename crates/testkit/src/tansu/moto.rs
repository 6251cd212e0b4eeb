//! A local moto S3 server, so Tansu's `s3://` storage engine keeps data across broker restarts
//! without any network beyond loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::process::{kill_and_reap, LogFile};
use crate::ports::try_free_port;

/// Bucket created by [`MotoServer::start`].
pub const DEFAULT_BUCKET: &str = "tansu";

/// moto is a Python web app; importing it takes a second or two, more on a busy CI box.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP exchange with moto must not hang a test.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `moto_server` process on a free 127.0.0.1 port, killed on drop.
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    log: LogFile,
}

impl MotoServer {
    /// Starts moto (`moto_server` from `PATH`, else `python3 -m moto.server`), waits until it
    /// answers HTTP, and creates the bucket `DEFAULT_BUCKET`.
    pub fn start() -> Result<Self> {
        let port = try_free_port().context("choosing a port for moto")?;
        let log = LogFile::new("moto")?;
        let port_arg = port.to_string();
        let mut cmd = if on_path("moto_server") {
            Command::new("moto_server")
        } else {
            let mut c = Command::new("python3");
            c.args(["-m", "moto.server"]);
            c
        };
        cmd.args(["-H", "127.0.0.1", "-p", &port_arg]);
        let child = log.spawn(&mut cmd).context(
            "moto is needed for s3-backed Tansu; run `bash scripts/test-env.sh` to install it",
        )?;
        let mut server = Self {
            child: Some(child),
            port,
            log,
        };
        server.wait_ready().with_context(|| {
            format!(
                "moto on port {port} did not become ready; log {}:\n{}",
                server.log.path().display(),
                server.log.tail()
            )
        })?;
        server.create_bucket(DEFAULT_BUCKET)?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bucket created at start.
    pub fn bucket(&self) -> &str {
        DEFAULT_BUCKET
    }

    /// Process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Creates `bucket` (an S3 `PUT /<bucket>`).
    pub fn create_bucket(&self, bucket: &str) -> Result<()> {
        let (status, body) = self.http("PUT", &format!("/{bucket}"))?;
        if status != 200 {
            bail!("moto answered {status} to creating bucket {bucket}: {body}");
        }
        Ok(())
    }

    /// Keys in `bucket` (first page of `GET /<bucket>?list-type=2`), to check what Tansu wrote.
    pub fn list_keys(&self, bucket: &str) -> Result<Vec<String>> {
        let (status, body) = self.http("GET", &format!("/{bucket}?list-type=2"))?;
        if status != 200 {
            bail!("moto answered {status} to listing bucket {bucket}: {body}");
        }
        Ok(body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect())
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("moto exited during start-up with {status}");
                }
            }
            match self.http("GET", "/") {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("no HTTP answer within {READY_TIMEOUT:?}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// One HTTP/1.1 request with an empty body; returns the status code and the body.
    fn http(&self, method: &str, path: &str) -> Result<(u16, String)> {
        self.request(method, path, &[], "")
    }

    /// One HTTP/1.1 request; returns the status code and the body. Written by hand: a few
    /// requests a test do not justify an HTTP client dependency.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, String)> {
        let addr = format!("127.0.0.1:{}", self.port);
        let mut stream =
            TcpStream::connect(&addr).with_context(|| format!("connecting to moto at {addr}"))?;
        stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
        stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        write!(
            stream,
            "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .with_context(|| format!("reading moto's answer to {method} {path}"))?;
        let text = String::from_utf8_lossy(&response);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .with_context(|| {
                format!("moto's answer to {method} {path} has no status line: {text:?}")
            })?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Err(e) = kill_and_reap(&mut child) {
                eprintln!("killing moto pid {}: {e}", child.id());
            }
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
