//! Logging to stderr through `tracing`, as text or JSON lines, filtered by `--log-level` or
//! `RUST_LOG`. Text logs share the terminal with the progress line: each log event first
//! erases a drawn progress line, which redraws itself on its next tick.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::failure::Failure;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers); also turns off the progress line.
    Json,
}

/// Logging options, accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter: a level (error, warn, info, debug, trace) or RUST_LOG-style directives
    /// (e.g. `info,kreplicate_wire=debug`). Default: RUST_LOG if set, else the command's level.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The progress line's state on the terminal, shared between the progress display and the
/// log writer.
#[derive(Debug, Default)]
pub struct TerminalLine {
    drawn: AtomicBool,
}

/// Erases the current terminal line and returns the cursor to its start.
pub const ERASE_LINE: &str = "\r\x1b[2K";

impl TerminalLine {
    /// Draws `text` as the progress line (replacing the previous one).
    pub fn draw(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{ERASE_LINE}{text}");
        let _ = err.flush();
        self.drawn.store(true, Ordering::SeqCst);
    }

    /// Erases the progress line if one is drawn (before other output, and at exit).
    pub fn clear(&self) {
        let mut err = std::io::stderr().lock();
        self.clear_locked(&mut err);
    }

    fn clear_locked(&self, out: &mut impl Write) {
        if self.drawn.swap(false, Ordering::SeqCst) {
            let _ = out.write_all(ERASE_LINE.as_bytes());
        }
    }
}

/// The process's one terminal line.
pub fn terminal_line() -> &'static TerminalLine {
    static LINE: TerminalLine = TerminalLine {
        drawn: AtomicBool::new(false),
    };
    &LINE
}

/// Makes stderr writers that erase the progress line first. Holding the stderr lock for the
/// whole event keeps a progress redraw from landing in the middle of a log line.
struct ClearingStderr;

impl<'a> MakeWriter<'a> for ClearingStderr {
    type Writer = std::io::StderrLock<'static>;

    fn make_writer(&'a self) -> Self::Writer {
        let mut lock = std::io::stderr().lock();
        terminal_line().clear_locked(&mut lock);
        lock
    }
}

/// Installs the global subscriber. `default_level` applies when neither `--log-level` nor
/// `RUST_LOG` says otherwise.
pub fn init(args: &LogArgs, default_level: &str) -> Result<(), Failure> {
    let filter = match &args.log_level {
        Some(level) => EnvFilter::try_new(level)
            .map_err(|e| Failure::config(format!("--log-level {level:?}: {e}")))?,
        None => match std::env::var("RUST_LOG") {
            Ok(value) if !value.trim().is_empty() => EnvFilter::try_new(&value)
                .map_err(|e| Failure::config(format!("RUST_LOG={value:?}: {e}")))?,
            _ => EnvFilter::new(default_level),
        },
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ClearingStderr);
    let result = match args.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| Failure::runtime(format!("cannot set up logging: {e}")))
}
