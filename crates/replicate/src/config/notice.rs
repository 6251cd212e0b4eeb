//! Things worth telling the user about an accepted configuration. The
//! library collects them; the caller decides how to show them.

use std::fmt;

/// How much a [`Notice`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Accepted, but the user probably wants to change it.
    Warning,
    /// Accepted; for information only (e.g. an AWS-only field is ignored).
    Info,
}

/// One message about the member at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How much it matters.
    pub severity: Severity,
    /// JSON path of the member, in PascalCase.
    pub path: String,
    /// One line of text.
    pub message: String,
}

impl Notice {
    pub(crate) fn info(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Info,
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        write!(f, "{label}: {}: {}", self.path, self.message)
    }
}
