//! What the user configures for TLS to a cluster.

use std::fmt;
use std::path::Path;

use crate::connection::ConnectionError;

/// TLS settings for one cluster. Cheap to clone; turned into a rustls client configuration once.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlsConfig {
    /// Root CA certificate(s) as PEM text, for a private CA; only these are trusted then.
    /// `None` trusts the operating system's store (`SSL_CERT_FILE` / `SSL_CERT_DIR` when set),
    /// or the bundled Mozilla roots when that store holds no usable certificate.
    pub ca_pem: Option<String>,
    /// Client certificate chain as PEM, for mutual TLS. Needs `client_key_pem` too.
    pub client_cert_pem: Option<String>,
    /// The client certificate's private key as PEM (PKCS#8, PKCS#1 or SEC1, or an encrypted
    /// PKCS#8 `ENCRYPTED PRIVATE KEY` with `client_key_password`). A secret: never printed
    /// by `Debug`.
    pub client_key_pem: Option<String>,
    /// The password of an encrypted PKCS#8 client key (PBES2: PBKDF2 or scrypt with AES-CBC,
    /// what `openssl pkcs8 -topk8` writes); MSK's `privateKeyPassword`, Kafka's
    /// `ssl.key.password`. Not needed for an unencrypted key. A secret: never printed by
    /// `Debug`.
    pub client_key_password: Option<String>,
    /// Check that the broker's certificate names the host we connect to. Default `true`.
    ///
    /// **Dangerous when `false`:** the chain is still verified against the CA, but any
    /// certificate that CA issued is accepted for any broker, so anyone holding one can
    /// impersonate the cluster. Only for brokers whose certificates lack the right names.
    pub verify_hostname: bool,
    /// Name sent in SNI and checked against the certificate, instead of the host part of the
    /// broker address. A DNS name or an IP address.
    pub server_name: Option<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_pem: None,
            client_cert_pem: None,
            client_key_pem: None,
            client_key_password: None,
            verify_hostname: true,
            server_name: None,
        }
    }
}

impl fmt::Debug for TlsConfig {
    // PEM blobs are long and the key is secret: show only what is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pem = |p: &Option<String>| p.as_ref().map(|s| format!("<{} bytes of PEM>", s.len()));
        f.debug_struct("TlsConfig")
            .field(
                "ca_pem",
                &pem(&self.ca_pem).unwrap_or_else(|| "<system roots>".into()),
            )
            .field("client_cert_pem", &pem(&self.client_cert_pem))
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "client_key_password",
                &self.client_key_password.as_ref().map(|_| "<redacted>"),
            )
            .field("verify_hostname", &self.verify_hostname)
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsConfig {
    /// Builds the TLS setup these settings describe, without connecting: an unusable CA
    /// certificate, client certificate or key is reported here rather than at the first
    /// handshake (as [`ConnectionError::TlsConfig`]).
    pub fn check(&self) -> Result<(), ConnectionError> {
        super::TlsConnector::new(self).map(drop)
    }

    test_util_pub! {
        /// Trusts the CA certificate(s) in the PEM file at `path` instead of the system roots.
        pub fn with_ca_pem_file(mut self, path: impl AsRef<Path>) -> Result<Self, ConnectionError> {
            self.ca_pem = Some(read_pem_file(path.as_ref(), "CA certificate")?);
            Ok(self)
        }
    }

    test_util_pub! {
        /// Presents the client certificate chain and key in these PEM files (mutual TLS).
        pub fn with_client_cert_files(
            mut self,
            cert_path: impl AsRef<Path>,
            key_path: impl AsRef<Path>,
        ) -> Result<Self, ConnectionError> {
            self.client_cert_pem = Some(read_pem_file(cert_path.as_ref(), "client certificate")?);
            self.client_key_pem = Some(read_pem_file(key_path.as_ref(), "client private key")?);
            Ok(self)
        }
    }
}

fn read_pem_file(path: &Path, what: &str) -> Result<String, ConnectionError> {
    std::fs::read_to_string(path).map_err(|e| {
        ConnectionError::TlsConfig(format!(
            "cannot read {what} PEM file {}: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key_and_pem_bodies() {
        let cfg = TlsConfig {
            ca_pem: Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()),
            client_cert_pem: None,
            client_key_pem: Some("-----BEGIN PRIVATE KEY-----\nSECRETKEY\n".into()),
            ..TlsConfig::default()
        };
        let shown = format!("{cfg:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("bytes of PEM"), "{shown}");
        assert!(!shown.contains("SECRETKEY"), "{shown}");
        assert!(!shown.contains("AAAA"), "{shown}");
        assert!(shown.contains("verify_hostname: true"), "{shown}");
    }

    #[test]
    fn reads_ca_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "PEMTEXT").unwrap();
        let cfg = TlsConfig::default().with_ca_pem_file(&path).unwrap();
        assert_eq!(cfg.ca_pem.as_deref(), Some("PEMTEXT"));

        let missing = dir.path().join("nope.pem");
        let err = TlsConfig::default().with_ca_pem_file(&missing).unwrap_err();
        assert!(matches!(err, ConnectionError::TlsConfig(_)));
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
        let err = TlsConfig::default()
            .with_client_cert_files(&path, &missing)
            .unwrap_err();
        assert!(err.to_string().contains("client private key"), "{err}");
    }
}
