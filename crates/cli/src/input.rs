//! Loading a command-line document argument the way the AWS CLI does: `file://PATH`, a plain
//! path, inline JSON, or `-` for standard input. Every error names the option and the file.

use std::io::Read;
use std::path::PathBuf;

use crate::failure::Failure;

/// A loaded document and the name to use for it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The file as the user wrote it (without `file://`), `<stdin>`, or `<inline JSON>`.
    pub name: String,
    /// The document text.
    pub text: String,
}

/// Where an argument says the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file (`file://PATH` or a plain path).
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// The argument is the JSON itself (it starts with `{` or `[`), as the AWS CLI allows.
    Inline(String),
}

impl Location {
    /// Reads an argument as written on the command line.
    pub fn parse(argument: &str) -> Location {
        if argument == "-" {
            return Location::Stdin;
        }
        if argument.trim_start().starts_with(['{', '[']) {
            return Location::Inline(argument.to_owned());
        }
        let path = argument.strip_prefix("file://").unwrap_or(argument);
        Location::File(PathBuf::from(path))
    }
}

/// Loads the document given to `option` (e.g. `--cli-input-json`). `-` (stdin) is accepted
/// only when `allow_stdin`, since only one document can come from there.
pub fn load(option: &str, argument: &str, allow_stdin: bool) -> Result<Input, Failure> {
    match Location::parse(argument) {
        Location::Stdin if !allow_stdin => Err(Failure::config(format!(
            "{option}: '-' (standard input) is accepted only for --cli-input-json; give a file"
        ))),
        Location::Stdin => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Failure::config(format!("{option}: cannot read standard input: {e}"))
            })?;
            Ok(Input {
                name: "<stdin>".into(),
                text,
            })
        }
        Location::Inline(text) => Ok(Input {
            name: "<inline JSON>".into(),
            text,
        }),
        Location::File(path) => {
            if argument.starts_with("file://") && path.as_os_str().is_empty() {
                return Err(Failure::config(format!(
                    "{option}: file:// needs a path after it"
                )));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Failure::config(format!("{option}: cannot read {}: {e}", path.display()))
            })?;
            Ok(Input {
                name: path.display().to_string(),
                text,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_forms() {
        assert_eq!(Location::parse("-"), Location::Stdin);
        assert_eq!(
            Location::parse("file://conf/r.json"),
            Location::File("conf/r.json".into())
        );
        assert_eq!(
            Location::parse("file:///etc/r.json"),
            Location::File("/etc/r.json".into())
        );
        assert_eq!(Location::parse("r.json"), Location::File("r.json".into()));
        assert_eq!(
            Location::parse(" {\"a\":1}"),
            Location::Inline(" {\"a\":1}".into())
        );
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.json");
        let arg = format!("file://{}", path.display());
        let err = load("--kafka-clusters", &arg, false).unwrap_err();
        assert_eq!(err.code(), 2);
        let msg = err.message();
        assert!(
            msg.starts_with(&format!(
                "--kafka-clusters: cannot read {}: ",
                path.display()
            )),
            "{msg}"
        );
    }

    #[test]
    fn stdin_only_where_allowed() {
        let err = load("--kafka-clusters", "-", false).unwrap_err();
        assert!(err.message().contains("only for --cli-input-json"), "{err}");
        let err = load("--kafka-clusters", "file://", false).unwrap_err();
        assert!(err.message().contains("needs a path"), "{err}");
    }

    #[test]
    fn reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "[1]").unwrap();
        let input = load("--x", path.to_str().unwrap(), false).unwrap();
        assert_eq!(input.text, "[1]");
        assert_eq!(input.name, path.display().to_string());
    }
}
