//! A reader for Java `.properties` files, the format of Kafka's `--command-config` files,
//! following `java.util.Properties.load`: `#` and `!` comment lines, `key=value`, `key: value`
//! or `key value`, a trailing odd backslash continuing the line (the next line's leading
//! whitespace dropped), and the escapes `\t \n \r \f \uXXXX` (any other escaped character
//! stands for itself).

use std::fmt;

/// One `key=value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key, unescaped.
    pub key: String,
    /// The value, unescaped.
    pub value: String,
    /// The 1-based line the entry starts on.
    pub line: usize,
}

/// A malformed `\uXXXX` escape (the one thing Java rejects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// The 1-based line of the entry.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for PropertiesError {}

/// Whitespace as `Properties.load` defines it.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Parses the text of a properties file into its entries, in file order (a repeated key
/// appears twice; the caller decides which wins).
pub fn parse(text: &str) -> Result<Vec<Property>, PropertiesError> {
    let lines: Vec<&str> = natural_lines(text);
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start_matches(is_blank);
        i += 1;
        if first.is_empty() || first.starts_with(['#', '!']) {
            continue;
        }
        let mut logical = String::new();
        let mut part = first;
        loop {
            if ends_with_odd_backslashes(part) {
                logical.push_str(&part[..part.len() - 1]);
                match lines.get(i) {
                    Some(next) => {
                        i += 1;
                        part = next.trim_start_matches(is_blank);
                    }
                    None => break,
                }
            } else {
                logical.push_str(part);
                break;
            }
        }
        let (key, value) = split_key_value(&logical);
        let line = start + 1;
        entries.push(Property {
            key: unescape(key, line)?,
            value: unescape(value, line)?,
            line,
        });
    }
    Ok(entries)
}

/// Splits on `\r\n`, `\n` or `\r`, as Java does.
fn natural_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(pos) => {
                lines.push(&rest[..pos]);
                let skip = if rest[pos..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = &rest[pos + skip..];
            }
            None => {
                lines.push(rest);
                rest = "";
            }
        }
    }
    lines
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// The key ends at the first unescaped `=`, `:` or whitespace; whitespace and at most one
/// `=`/`:` separate it from the value.
fn split_key_value(logical: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = logical.len();
    for (pos, c) in logical.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            key_end = pos;
            break;
        }
    }
    let key = &logical[..key_end];
    let mut rest = logical[key_end..].trim_start_matches(is_blank);
    if let Some(after) = rest.strip_prefix(['=', ':']) {
        rest = after.trim_start_matches(is_blank);
    }
    (key, rest)
}

fn unescape(s: &str, line: usize) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| PropertiesError {
                        line,
                        message: format!("malformed \\uXXXX escape \\u{hex}"),
                    })?;
                // A lone UTF-16 surrogate has no char; keep the text readable instead.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            // A trailing lone backslash (continuation at end of file) is dropped.
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect()
    }

    fn p(k: &str, v: &str, line: usize) -> (String, String, usize) {
        (k.to_owned(), v.to_owned(), line)
    }

    #[test]
    fn separators_and_whitespace() {
        assert_eq!(
            pairs("a=1\nb : 2\n  c   3\nd=\ne\nf==x\ng= spaced value  \n"),
            vec![
                p("a", "1", 1),
                p("b", "2", 2),
                p("c", "3", 3),
                p("d", "", 4),
                p("e", "", 5),
                p("f", "=x", 6),
                p("g", "spaced value  ", 7),
            ]
        );
    }

    #[test]
    fn comments_and_blank_lines() {
        assert_eq!(
            pairs("# comment\n! also comment\n\n   \n  # indented comment\nk=v # not a comment\n"),
            vec![p("k", "v # not a comment", 6)]
        );
    }

    #[test]
    fn continuation_lines() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    username=\"u\" \\\n    password=\"p\";\nnext=1\n";
        assert_eq!(
            pairs(text),
            vec![
                p(
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";",
                    1
                ),
                p("next", "1", 4),
            ]
        );
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(
            pairs("a=x\\\\\nb=y"),
            vec![p("a", "x\\", 1), p("b", "y", 2)]
        );
        // A continuation line starting with '#' is part of the value, not a comment.
        assert_eq!(pairs("a=1\\\n  #2\n"), vec![p("a", "1#2", 1)]);
        // A comment line ending in a backslash does not continue.
        assert_eq!(pairs("# c \\\nb=2"), vec![p("b", "2", 2)]);
        // Continuation at the end of the file.
        assert_eq!(pairs("a=1\\"), vec![p("a", "1", 1)]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            pairs("k\\ ey\\=x=a\\tb\\u0041\\:\\\\c\\q"),
            vec![p("k ey=x", "a\tbA:\\cq", 1)]
        );
        let err = parse("\n\nk=\\u12G4").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("malformed \\uXXXX"), "{err}");
        assert!(parse("k=\\u12").is_err());
    }

    #[test]
    fn line_endings() {
        assert_eq!(
            pairs("a=1\r\nb=2\rc=3"),
            vec![p("a", "1", 1), p("b", "2", 2), p("c", "3", 3)]
        );
    }
}
