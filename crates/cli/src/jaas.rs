//! The one JAAS entry Kafka clients put in `sasl.jaas.config`:
//! `<LoginModule class> <flag> key="value" key=value … ;`

use std::collections::BTreeMap;

/// A parsed `sasl.jaas.config` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    /// The login module class, e.g. `org.apache.kafka.common.security.scram.ScramLoginModule`.
    pub module: String,
    /// The options (`username`, `password`, …).
    pub options: BTreeMap<String, String>,
}

/// The login module a mechanism needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginModule {
    /// `…scram.ScramLoginModule` (SCRAM-SHA-256/512).
    Scram,
    /// `…plain.PlainLoginModule` (PLAIN).
    Plain,
    /// Anything else (GSSAPI, OAUTHBEARER, …).
    Other,
}

impl JaasEntry {
    /// Which kind of login module this is (by the last component of the class name).
    pub fn login_module(&self) -> LoginModule {
        match self.module.rsplit('.').next() {
            Some("ScramLoginModule") => LoginModule::Scram,
            Some("PlainLoginModule") => LoginModule::Plain,
            _ => LoginModule::Other,
        }
    }
}

const FLAGS: [&str; 4] = ["required", "requisite", "sufficient", "optional"];

/// Parses a `sasl.jaas.config` value. Errors say what was expected; they never quote option
/// values (a password may be among them).
pub fn parse(text: &str) -> Result<JaasEntry, String> {
    let mut rest = text.trim_start();
    let module = take_word(&mut rest);
    if module.is_empty() || module.contains('=') {
        return Err(
            "expected a login module class first, e.g. org.apache.kafka.common.security.scram.ScramLoginModule required username=\"…\" password=\"…\";".into(),
        );
    }
    let flag = take_word(&mut rest);
    if !FLAGS.contains(&flag.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "expected a control flag (required, requisite, sufficient or optional) after {module}"
        ));
    }
    let mut options = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(';') {
            if !after.trim().is_empty() {
                return Err(
                    "only one login module is supported; found text after the first ';'".into(),
                );
            }
            break;
        }
        if rest.is_empty() {
            return Err("missing ';' at the end".into());
        }
        let key_end = rest
            .find(|c: char| c == '=' || c == ';' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            return Err(format!("option {key:?} has no '=value'"));
        };
        if key.is_empty() {
            return Err("an option has no name before '='".into());
        }
        rest = after_eq.trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let (value, after) = take_quoted(quoted)
                .ok_or_else(|| format!("the value of option {key:?} has no closing '\"'"))?;
            rest = after;
            value
        } else {
            let end = rest
                .find(|c: char| c == ';' || c.is_whitespace())
                .unwrap_or(rest.len());
            let value = rest[..end].to_owned();
            rest = &rest[end..];
            value
        };
        options.insert(key.to_owned(), value);
    }
    Ok(JaasEntry {
        module: module.to_owned(),
        options,
    })
}

fn take_word<'a>(rest: &mut &'a str) -> &'a str {
    let s = rest.trim_start();
    let end = s
        .find(|c: char| c.is_whitespace() || c == ';')
        .unwrap_or(s.len());
    *rest = &s[end..];
    &s[..end]
}

/// Reads up to the closing quote; `\"` and `\\` are escapes.
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((pos, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[pos + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => return None,
            },
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_entry() {
        let entry = parse(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p a\"ss;";"#,
        )
        .unwrap();
        assert_eq!(entry.login_module(), LoginModule::Scram);
        assert_eq!(entry.options["username"], "alice");
        assert_eq!(entry.options["password"], "p a\"ss;");
        assert_eq!(entry.options.len(), 2);
    }

    #[test]
    fn plain_entry_with_unquoted_values() {
        let entry = parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule REQUIRED username=bob password = secret ;",
        )
        .unwrap();
        assert_eq!(entry.login_module(), LoginModule::Plain);
        assert_eq!(entry.options["username"], "bob");
        assert_eq!(entry.options["password"], "secret");
    }

    #[test]
    fn errors_never_show_values() {
        let err =
            parse(r#"x.ScramLoginModule required username="u" password="hunter2"#).unwrap_err();
        assert!(err.contains("password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(parse(r#"x.ScramLoginModule username="u";"#)
            .unwrap_err()
            .contains("control flag"));
        assert!(parse(r#"x.ScramLoginModule required username="u""#)
            .unwrap_err()
            .contains("missing ';'"));
        assert!(parse(r#"x.ScramLoginModule required username;"#)
            .unwrap_err()
            .contains("no '=value'"));
        assert!(parse(r#"username="u";"#)
            .unwrap_err()
            .contains("login module class"));
        assert!(parse(r#"a.B required; c.D required;"#)
            .unwrap_err()
            .contains("only one login module"));
        assert_eq!(
            parse("com.sun.security.auth.module.Krb5LoginModule required;")
                .unwrap()
                .login_module(),
            LoginModule::Other
        );
    }
}
