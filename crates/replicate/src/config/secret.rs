//! Secrets: where they are ([`SecretRef`]) and what they hold ([`Secret`]).
//!
//! MSK keeps credentials in Secrets Manager and the request names them by
//! ARN (`SecretArn`, `RootCaCertificate`). kreplicate reads such ARNs with
//! GetSecretValue (feature `aws`, see [`crate::aws::secrets_manager`]); the
//! same members may instead hold `file://PATH`, a plain path, or
//! `env:VARIABLE`. Every form holds the Secrets Manager JSON shape:
//! - SASL/SCRAM: `{"username", "password", "certificate"?}` where
//!   `certificate` is the CA chain (PEM) for the cluster;
//! - mTLS: `{"certificate", "privateKey", "privateKeyPassword"?}` where
//!   `certificate` is the client certificate chain (PEM).
//!
//! A root-CA reference may also point at a bare PEM file, read as a secret
//! holding only `certificate`.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde_json::Value;

use super::arn::{Arn, ArnError};

test_util_pub! {
    /// Where a secret is: read when connecting, never when the configuration is parsed.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub enum SecretRef {
        /// A file, from `file://PATH` or a plain `PATH` (relative to the
        /// working directory, as the AWS CLI treats `file://`).
        File(PathBuf),
        /// An environment variable holding the secret JSON, from `env:NAME`.
        Env(String),
        /// A Secrets Manager secret ARN (`arn:aws:secretsmanager:REGION:…`),
        /// read with GetSecretValue in that region.
        Arn(String),
    }
}

impl SecretRef {
    /// Reads a reference as written in the configuration.
    pub(crate) fn parse(reference: &str) -> Result<Self, SecretError> {
        let bad = |problem: &'static str| SecretError::BadReference {
            reference: reference.to_owned(),
            problem,
        };
        if reference.trim().is_empty() {
            return Err(bad("empty; give file://PATH, a file path, or env:VARIABLE"));
        }
        if let Some(path) = reference.strip_prefix("file://") {
            if path.is_empty() {
                return Err(bad("file:// needs a path after it"));
            }
            return Ok(Self::File(PathBuf::from(path)));
        }
        if let Some(var) = reference.strip_prefix("env:") {
            if var.is_empty() {
                return Err(bad("env: needs a variable name after it"));
            }
            if var.contains(['=', '\0']) {
                return Err(bad(
                    "an environment variable name cannot contain '=' or NUL",
                ));
            }
            return Ok(Self::Env(var.to_owned()));
        }
        if reference.starts_with("arn:") {
            Arn::secret(reference).map_err(SecretError::BadArn)?;
            return Ok(Self::Arn(reference.to_owned()));
        }
        Ok(Self::File(PathBuf::from(reference)))
    }

    /// Anchors a relative file path at `base` (e.g. the directory of the
    /// configuration file); other references are returned unchanged.
    #[cfg(test)]
    pub(crate) fn relative_to(self, base: &std::path::Path) -> Self {
        match self {
            Self::File(path) if path.is_relative() => Self::File(base.join(path)),
            other => other,
        }
    }

    /// Reads and parses the secret, from AWS Secrets Manager for an ARN (cached briefly, see
    /// [`crate::aws::secrets_manager`]). Called for every new connection, so a rotated secret
    /// is picked up without a restart.
    pub(crate) async fn load(&self) -> Result<Secret, SecretError> {
        match self {
            #[cfg(feature = "aws")]
            Self::Arn(arn) => {
                let parsed = Arn::secret(arn).map_err(SecretError::BadArn)?;
                let text = crate::aws::secrets_manager::secret_string(&parsed).await?;
                Secret::parse(format!("secret {arn}"), &text)
            }
            _ => self.resolve(),
        }
    }

    /// Reads and parses a file or environment secret; an ARN needs [`load`](Self::load).
    pub(crate) fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            Self::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
                    path: path.clone(),
                    source,
                })?;
                Secret::parse(format!("secret file {}", path.display()), &text)
            }
            Self::Env(var) => {
                let text = std::env::var(var).map_err(|e| match e {
                    std::env::VarError::NotPresent => SecretError::EnvNotSet { var: var.clone() },
                    std::env::VarError::NotUnicode(_) => {
                        SecretError::EnvNotUnicode { var: var.clone() }
                    }
                })?;
                Secret::parse(format!("secret in environment variable {var}"), &text)
            }
            Self::Arn(arn) => Err(SecretError::AwsSecretsManager { arn: arn.clone() }),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file://{}", path.display()),
            Self::Env(var) => write!(f, "env:{var}"),
            Self::Arn(arn) => f.write_str(arn),
        }
    }
}

/// The content of a secret. Which keys are required depends on the use, so
/// the accessors check presence and name the secret and key when missing.
/// `Debug` never shows the password or private key.
#[derive(Clone)]
pub(crate) struct Secret {
    origin: String,
    username: Option<String>,
    password: Option<String>,
    certificate: Option<String>,
    private_key: Option<String>,
    private_key_password: Option<String>,
}

impl Secret {
    /// Parses secret text. `origin` describes where it came from (e.g.
    /// `secret file /etc/k/scram.json`) and prefixes every error. Keys other
    /// than the five known ones are ignored, as Secrets Manager secrets
    /// often carry extras.
    pub(crate) fn parse(origin: impl Into<String>, text: &str) -> Result<Self, SecretError> {
        let origin = origin.into();
        if text.trim_start().starts_with("-----BEGIN") {
            return Ok(Self {
                origin,
                username: None,
                password: None,
                certificate: Some(text.to_owned()),
                private_key: None,
                private_key_password: None,
            });
        }
        // Parse to a Value first: serde's syntax errors never quote input,
        // so a malformed secret cannot leak into a message.
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(source) => return Err(SecretError::Json { origin, source }),
        };
        let Value::Object(map) = value else {
            return Err(SecretError::NotAnObject {
                origin,
                found: json_kind(&value),
            });
        };
        let take = |key: &'static str| -> Result<Option<String>, SecretError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(SecretError::NotAString {
                    origin: origin.clone(),
                    key,
                    found: json_kind(other),
                }),
            }
        };
        Ok(Self {
            username: take("username")?,
            password: take("password")?,
            certificate: take("certificate")?,
            private_key: take("privateKey")?,
            private_key_password: take("privateKeyPassword")?,
            origin,
        })
    }

    /// Where this secret came from, as used in error messages.
    #[cfg(test)]
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// `username` (SASL/SCRAM).
    pub(crate) fn username(&self) -> Result<&str, SecretError> {
        self.required("username", &self.username)
    }

    /// `password` (SASL/SCRAM).
    pub(crate) fn password(&self) -> Result<&str, SecretError> {
        self.required("password", &self.password)
    }

    /// `certificate`: the CA chain in a SCRAM or root-CA secret, the client
    /// certificate chain in an mTLS secret (PEM).
    pub(crate) fn certificate(&self) -> Result<&str, SecretError> {
        self.required("certificate", &self.certificate)
    }

    /// `certificate` if present; SCRAM secrets need it only for private CAs.
    #[cfg(test)]
    pub(crate) fn certificate_if_present(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// `privateKey` (mTLS, PEM).
    pub(crate) fn private_key(&self) -> Result<&str, SecretError> {
        self.required("privateKey", &self.private_key)
    }

    /// `privateKeyPassword` (mTLS, only for an encrypted PKCS#8 key).
    pub(crate) fn private_key_password(&self) -> Option<&str> {
        self.private_key_password.as_deref()
    }

    fn required<'a>(
        &self,
        key: &'static str,
        value: &'a Option<String>,
    ) -> Result<&'a str, SecretError> {
        match value.as_deref() {
            Some(v) if !v.is_empty() => Ok(v),
            Some(_) => Err(SecretError::EmptyKey {
                origin: self.origin.clone(),
                key,
            }),
            None => Err(SecretError::MissingKey {
                origin: self.origin.clone(),
                key,
            }),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Shows that a value is there without showing it.
        struct Redacted;
        impl fmt::Debug for Redacted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }
        /// Certificates are public but long: show the size only.
        struct Length(usize);
        impl fmt::Debug for Length {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "<{} bytes>", self.0)
            }
        }
        f.debug_struct("Secret")
            .field("origin", &self.origin)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field(
                "certificate",
                &self.certificate.as_ref().map(|c| Length(c.len())),
            )
            .field("private_key", &self.private_key.as_ref().map(|_| Redacted))
            .field(
                "private_key_password",
                &self.private_key_password.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Why a secret reference could not be parsed or resolved. Messages name
/// the file or variable and the key; they never include secret values.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// The reference string itself is unusable.
    #[error("secret reference {reference:?}: {problem}")]
    BadReference {
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The file could not be read.
    #[error("cannot read secret file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// `env:VAR` names a variable that is not set.
    #[error("environment variable {var} is not set (it should hold the secret JSON)")]
    EnvNotSet {
        /// The variable.
        var: String,
    },
    /// `env:VAR` names a variable whose value is not UTF-8.
    #[error("environment variable {var} is not valid UTF-8")]
    EnvNotUnicode {
        /// The variable.
        var: String,
    },
    /// The content is not JSON.
    #[error("{origin}: not valid JSON: {source}")]
    Json {
        /// Where the secret came from.
        origin: String,
        /// The syntax error (position only, no content).
        #[source]
        source: serde_json::Error,
    },
    /// The content is JSON but not an object.
    #[error("{origin}: expected a JSON object such as {{\"username\": \"…\", \"password\": \"…\"}}, found {found}")]
    NotAnObject {
        /// Where the secret came from.
        origin: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// A known key holds something other than a string.
    #[error("{origin}: key \"{key}\" must be a string, found {found}")]
    NotAString {
        /// Where the secret came from.
        origin: String,
        /// The key.
        key: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A key this use needs is absent.
    #[error("{origin}: missing key \"{key}\"")]
    MissingKey {
        /// Where the secret came from.
        origin: String,
        /// The key.
        key: &'static str,
    },
    /// A key this use needs is the empty string.
    #[error("{origin}: key \"{key}\" is empty")]
    EmptyKey {
        /// Where the secret came from.
        origin: String,
        /// The key.
        key: &'static str,
    },
    /// An ARN given to the synchronous [`SecretRef::resolve`], or to a build without the
    /// `aws` feature.
    #[error("secret {arn} is in AWS Secrets Manager, which this kreplicate cannot read (built without the `aws` feature, or read synchronously); save the secret's JSON to a file and give file://PATH, or put it in an environment variable and give env:VARIABLE")]
    AwsSecretsManager {
        /// The ARN as written.
        arn: String,
    },
    /// An `arn:` reference that is not a Secrets Manager secret ARN.
    #[error("{0}")]
    BadArn(ArnError),
    /// Secrets Manager refused or failed.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_reference_form() {
        assert_eq!(
            SecretRef::parse("file://secrets/scram.json").unwrap(),
            SecretRef::File(PathBuf::from("secrets/scram.json"))
        );
        assert_eq!(
            SecretRef::parse("file:///etc/k/ca.pem").unwrap(),
            SecretRef::File(PathBuf::from("/etc/k/ca.pem"))
        );
        assert_eq!(
            SecretRef::parse("/etc/k/ca.pem").unwrap(),
            SecretRef::File(PathBuf::from("/etc/k/ca.pem"))
        );
        assert_eq!(
            SecretRef::parse("env:KAFKA_SECRET").unwrap(),
            SecretRef::Env("KAFKA_SECRET".into())
        );
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-scram-creds-AbCdEf";
        assert_eq!(SecretRef::parse(arn).unwrap(), SecretRef::Arn(arn.into()));
    }

    #[test]
    fn relative_to_anchors_only_relative_files() {
        let base = std::path::Path::new("/etc/kreplicate");
        assert_eq!(
            SecretRef::parse("file://s.json").unwrap().relative_to(base),
            SecretRef::File(PathBuf::from("/etc/kreplicate/s.json"))
        );
        assert_eq!(
            SecretRef::parse("/abs/s.json").unwrap().relative_to(base),
            SecretRef::File(PathBuf::from("/abs/s.json"))
        );
        assert_eq!(
            SecretRef::parse("env:S").unwrap().relative_to(base),
            SecretRef::Env("S".into())
        );
    }

    #[test]
    fn display_round_trips_through_parse() {
        for s in [
            "file://a/b.json",
            "env:X",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
        ] {
            let r = SecretRef::parse(s).unwrap();
            assert_eq!(r.to_string(), s);
            assert_eq!(SecretRef::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn rejects_empty_references() {
        for s in ["", "  ", "file://", "env:", "env:A=B"] {
            let err = SecretRef::parse(s).unwrap_err().to_string();
            assert!(err.contains(&format!("{s:?}")), "{err}");
        }
    }

    #[test]
    fn arn_cannot_be_resolved_and_says_what_to_do() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x";
        let err = SecretRef::Arn(arn.into())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(err.contains(arn), "{err}");
        assert!(err.contains("file://PATH"), "{err}");
        assert!(err.contains("env:VARIABLE"), "{err}");
    }

    #[test]
    fn bare_pem_is_a_certificate() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let secret = Secret::parse("ca file", pem).unwrap();
        assert_eq!(secret.certificate().unwrap(), pem);
        assert!(secret.username().is_err());
    }

    #[test]
    fn non_string_value_names_the_key() {
        let err = Secret::parse("s", r#"{"username":"u","password":42}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "s: key \"password\" must be a string, found a number");
    }

    #[test]
    fn non_object_is_rejected() {
        let err = Secret::parse("s", r#"["u","p"]"#).unwrap_err().to_string();
        assert!(err.starts_with("s: expected a JSON object"), "{err}");
        assert!(err.ends_with("found an array"), "{err}");
    }

    #[test]
    fn empty_value_is_reported_as_empty() {
        let secret = Secret::parse("s", r#"{"username":"","password":"p"}"#).unwrap();
        assert_eq!(
            secret.username().unwrap_err().to_string(),
            "s: key \"username\" is empty"
        );
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let secret =
            Secret::parse("s", r#"{"username":"u","password":"p","note":{"x":1}}"#).unwrap();
        assert_eq!(secret.username().unwrap(), "u");
        assert_eq!(secret.password().unwrap(), "p");
        assert_eq!(secret.certificate_if_present(), None);
    }
}
