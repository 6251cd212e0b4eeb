//! How a command fails: one line for the user and the exit code that goes with it.
//!
//! Exit codes: 2 for anything the user can fix in the command line or the configuration
//! (usage, unreadable or invalid files, secrets, a cluster id that does not match, missing AWS
//! credentials or permissions), 1 for failures at run time (a broker or AWS endpoint that
//! cannot be reached, rejected credentials, a replicator that stopped on an error).

use std::fmt;
use std::process::ExitCode;

/// A failed command: printed as `error: <message>` on stderr, then the process exits with
/// [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: u8,
    message: String,
}

/// Exit code for usage and configuration errors (clap uses 2 for usage errors too).
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for run-time failures.
pub const EXIT_RUNTIME: u8 = 1;

impl Failure {
    /// A usage or configuration error (exit code 2).
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }

    /// A run-time failure (exit code 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_RUNTIME,
            message: message.into(),
        }
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The message, on one line: embedded newlines (e.g. from a broker's error text) would
    /// break the one-line-per-error promise, so they become spaces.
    pub fn message(&self) -> String {
        self.message
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Prints the error line and returns the exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {}", self.message());
        ExitCode::from(self.code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Sorts an engine error into configuration (2) or run-time (1). A wrong cluster id, an
/// unreadable secret or an unusable TLS setting is fixed in the configuration; an unreachable
/// broker or a rejected password is found only by trying.
pub fn from_engine(e: &kreplicate_replicate::EngineError) -> Failure {
    if e.is_config_error() {
        Failure::config(e.to_string())
    } else {
        Failure::runtime(e.to_string())
    }
}

/// Sorts a client error the same way as [`from_engine`].
pub fn from_client(e: &kreplicate_wire::client::Error) -> Failure {
    if is_config_error(e) {
        Failure::config(e.to_string())
    } else {
        Failure::runtime(e.to_string())
    }
}

fn is_config_error(e: &kreplicate_wire::client::Error) -> bool {
    use kreplicate_wire::client::Error;
    use kreplicate_wire::ConnectionError;
    matches!(
        e,
        Error::Config(_)
            | Error::Connection(ConnectionError::TlsConfig(_))
            | Error::Connection(ConnectionError::Credentials { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_one_line() {
        let f = Failure::runtime("broker said:\nno\r\n  way\n");
        assert_eq!(f.message(), "broker said: no way");
        assert_eq!(f.code(), 1);
        assert_eq!(Failure::config("x").code(), 2);
    }
}
