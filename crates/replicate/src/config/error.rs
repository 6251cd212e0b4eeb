//! The error for a configuration that cannot be parsed or is invalid.

use std::fmt;

/// A configuration problem: the JSON path of the offending member (as
/// `ReplicationInfoList[0].TopicReplication.TopicsToReplicate[1]`) and what
/// is wrong with it. Displayed as `path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    path: String,
    message: String,
}

impl ConfigError {
    /// An error about the member at `path`.
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where the problem is; `(document)` for the document as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What the problem is.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Converts a tracked serde_json error: the path comes from
    /// `serde_path_to_error`, the message (with line and column) from serde.
    pub(crate) fn from_json(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        // An empty path displays as "."; say what it means instead.
        let path = if path == "." {
            "(document)".to_owned()
        } else {
            path
        };
        Self::new(path, in_input_casing(err.into_inner().to_string()))
    }
}

/// serde lists every accepted key of a struct for an unknown field, in both
/// casings; keep only those in the casing of the key the user wrote, which
/// halves the list and puts the likely intended key in view.
fn in_input_casing(message: String) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((field, rest)) = rest.split_once('`') else {
        return message;
    };
    let Some(list) = rest.strip_prefix(", expected one of ") else {
        return message;
    };
    // `list` is "`A`, `b`, … at line L column C"; split off the position.
    let Some(end) = list.rfind('`') else {
        return message;
    };
    let (names, position) = list.split_at(end + 1);
    let upper = |s: &str| s.starts_with(|c: char| c.is_ascii_uppercase());
    let all: Vec<&str> = names.split(", ").collect();
    let kept: Vec<&str> = all
        .iter()
        .copied()
        .filter(|n| upper(n.trim_start_matches('`')) == upper(field))
        .collect();
    if kept.is_empty() || kept.len() == all.len() {
        return message;
    }
    format!(
        "unknown field `{field}`, expected one of {}{position}",
        kept.join(", ")
    )
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::in_input_casing;

    #[test]
    fn unknown_field_list_keeps_the_input_casing() {
        let serde =
            "unknown field `Foo`, expected one of `Bar`, `bar`, `MTLS`, `mTLS` at line 1 column 9";
        assert_eq!(
            in_input_casing(serde.to_owned()),
            "unknown field `Foo`, expected one of `Bar`, `MTLS` at line 1 column 9"
        );
        let serde =
            "unknown field `foo`, expected one of `Bar`, `bar`, `MTLS`, `mTLS` at line 1 column 9";
        assert_eq!(
            in_input_casing(serde.to_owned()),
            "unknown field `foo`, expected one of `bar`, `mTLS` at line 1 column 9"
        );
    }

    #[test]
    fn other_messages_are_untouched() {
        for m in [
            "unknown variant `X`, expected `A` or `B` at line 1 column 2",
            "unknown field `x`, expected `A` at line 1 column 2",
            "unknown field `x`, there are no fields",
            "missing field `A` at line 1 column 2",
        ] {
            assert_eq!(in_input_casing(m.to_owned()), m);
        }
    }
}
