//! A child process whose stdout and stderr go to a log file, killed (and reaped) on drop so a
//! panicking test leaves nothing running. The log is deleted with it, unless the thread is
//! panicking: then the file is kept and its path printed, because that is when someone reads it.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

/// How much of the end of a log an error message quotes.
const TAIL_BYTES: u64 = 4096;

/// A log file that outlives restarts of the process writing to it.
pub(crate) struct LogFile {
    file: Option<NamedTempFile>,
    path: PathBuf,
    what: String,
}

impl LogFile {
    /// Creates an empty log in the temp dir, named after `what` (e.g. "tansu").
    pub(crate) fn new(what: &str) -> Result<Self> {
        let file = tempfile::Builder::new()
            .prefix(&format!("{what}-"))
            .suffix(".log")
            .tempfile()
            .with_context(|| format!("creating a log file for {what}"))?;
        let path = file.path().to_path_buf();
        Ok(Self {
            file: Some(file),
            path,
            what: what.to_string(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The last few KB of the log, for error messages.
    pub(crate) fn tail(&self) -> String {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return String::from("<log unreadable>");
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The whole log.
    pub(crate) fn contents(&self) -> String {
        std::fs::read(&self.path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Starts `cmd` with stdin closed and stdout/stderr appended to this log.
    pub(crate) fn spawn(&self, cmd: &mut Command) -> Result<Child> {
        let out = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening log {}", self.path.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {} ({cmd:?})", self.what))
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(file) = self.file.take() {
                if let Ok((_, path)) = file.keep() {
                    eprintln!("{} log kept at {}", self.what, path.display());
                }
            }
        }
    }
}

/// Kills `child` and waits for it, so its pid is gone when this returns. Killing a process that
/// already exited is fine.
pub(crate) fn kill_and_reap(child: &mut Child) -> std::io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    // `kill` fails only if the process already exited between the two calls; `wait` tells.
    let _ = child.kill();
    child.wait()
}
