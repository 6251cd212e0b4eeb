//! A prepared rustls client configuration, built once per client and shared by its connections.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::handshake_error::describe_handshake_error;
use super::no_hostname_verifier::NoHostnameVerifier;
use super::system_roots::system_roots;
use super::tls_config::TlsConfig;
use crate::connection::ConnectionError;
use crate::lock::lock;

/// Distinct TLS configurations kept by [`TlsConnector::cached`]. A process talks to a handful of
/// clusters; past this the cache is emptied rather than grown.
const CACHE_CAPACITY: usize = 32;

/// A ready-to-use TLS client configuration. Cloning shares it.
#[derive(Clone)]
pub struct TlsConnector {
    connector: tokio_rustls::TlsConnector,
    config: Arc<ClientConfig>,
    server_name: Option<String>,
    verify_hostname: bool,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .field("verify_hostname", &self.verify_hostname)
            .field(
                "client_auth",
                &self.config.client_auth_cert_resolver.has_certs(),
            )
            .finish()
    }
}

impl TlsConnector {
    /// Builds the rustls configuration: trust roots (the configured CA, else the operating
    /// system's store, see `system_roots`), optional client certificate, hostname
    /// policy. Always the ring provider, never the process-wide default, so another crate
    /// installing a different default cannot change what we accept.
    pub fn new(config: &TlsConfig) -> Result<Self, ConnectionError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = root_store(config.ca_pem.as_deref())?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectionError::TlsConfig(format!("TLS protocol versions: {e}")))?;
        let builder = if config.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| ConnectionError::TlsConfig(format!("certificate verifier: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoHostnameVerifier::new(verifier)))
        };
        let client_config = match (&config.client_cert_pem, &config.client_key_pem) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert_pem), Some(key_pem)) => {
                let chain = parse_certificates(cert_pem, "client certificate PEM")?;
                let key = parse_private_key(key_pem, config.client_key_password.as_deref())?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    ConnectionError::TlsConfig(format!(
                        "client certificate and key do not form a usable pair: {e}"
                    ))
                })?
            }
            (Some(_), None) => {
                return Err(ConnectionError::TlsConfig(
                    "client certificate is set but client private key is not".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(ConnectionError::TlsConfig(
                    "client private key is set but client certificate is not".into(),
                ))
            }
        };
        if let Some(name) = &config.server_name {
            parse_server_name(name)?;
        }
        let client_config = Arc::new(client_config);
        Ok(TlsConnector {
            connector: tokio_rustls::TlsConnector::from(client_config.clone()),
            config: client_config,
            server_name: config.server_name.clone(),
            verify_hostname: config.verify_hostname,
        })
    }

    /// Like [`TlsConnector::new`], but returns the connector already built for an equal
    /// configuration in this process, if any.
    pub(crate) fn cached(config: &TlsConfig) -> Result<Self, ConnectionError> {
        static CACHE: OnceLock<Mutex<HashMap<TlsConfig, TlsConnector>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(hit) = lock(cache).get(config) {
            return Ok(hit.clone());
        }
        // Build outside the lock: parsing PEM and roots takes a while.
        let built = TlsConnector::new(config)?;
        let mut map = lock(cache);
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(config.clone(), built.clone());
        Ok(built)
    }

    /// The rustls configuration (shared).
    #[cfg(test)]
    fn client_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// The name to send in SNI and verify for a broker at `host`: the configured override, or
    /// the host itself (DNS name or IP address).
    pub(crate) fn server_name_for(
        &self,
        host: &str,
    ) -> Result<ServerName<'static>, ConnectionError> {
        parse_server_name(self.server_name.as_deref().unwrap_or(host))
    }

    /// Runs the TLS handshake over `tcp` to `broker` ("host:port").
    pub(crate) async fn handshake(
        &self,
        broker: &str,
        server_name: ServerName<'static>,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ConnectionError> {
        let shown_name = server_name.to_str().into_owned();
        self.connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| ConnectionError::Tls {
                broker: broker.to_string(),
                message: describe_handshake_error(&e, &shown_name),
            })
    }
}

fn parse_server_name(name: &str) -> Result<ServerName<'static>, ConnectionError> {
    ServerName::try_from(name.to_string()).map_err(|e| {
        ConnectionError::TlsConfig(format!(
            "{name:?} is neither a valid DNS name nor an IP address for TLS: {e}"
        ))
    })
}

/// The trust anchors: the configured private CA(s) alone, or the operating system's store.
fn root_store(ca_pem: Option<&str>) -> Result<Arc<RootCertStore>, ConnectionError> {
    let Some(pem) = ca_pem else {
        return system_roots();
    };
    let mut store = RootCertStore::empty();
    for (i, cert) in parse_certificates(pem, "CA PEM")?.into_iter().enumerate() {
        store.add(cert).map_err(|e| {
            ConnectionError::TlsConfig(format!(
                "certificate #{} in CA PEM is not a usable CA certificate: {e}",
                i + 1
            ))
        })?;
    }
    Ok(Arc::new(store))
}

/// All `CERTIFICATE` blocks of `pem`; at least one.
fn parse_certificates(
    pem: &str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, ConnectionError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectionError::TlsConfig(format!("{what} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ConnectionError::TlsConfig(format!(
            "no certificate found in {what} (expected -----BEGIN CERTIFICATE----- blocks)"
        )));
    }
    Ok(certs)
}

/// The label of an encrypted PKCS#8 key's PEM block (RFC 5958 §3, RFC 7468 §11).
const ENCRYPTED_KEY_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_KEY_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The first private key of `pem` (PKCS#8, PKCS#1 or SEC1), or its encrypted PKCS#8 key
/// decrypted with `password`.
fn parse_private_key(
    pem: &str,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, ConnectionError> {
    if let Some(start) = pem.find(ENCRYPTED_KEY_BEGIN) {
        return decrypt_private_key(&pem[start..], password);
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => ConnectionError::TlsConfig(
            "no private key found in client key PEM (expected a PRIVATE KEY, RSA PRIVATE KEY, \
             EC PRIVATE KEY or ENCRYPTED PRIVATE KEY block)"
                .into(),
        ),
        other => ConnectionError::TlsConfig(format!("client key PEM is not valid: {other}")),
    })
}

/// Decrypts the `ENCRYPTED PRIVATE KEY` block at the start of `pem` (PBES2, RFC 8018).
fn decrypt_private_key(
    pem: &str,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, ConnectionError> {
    let Some(password) = password else {
        return Err(ConnectionError::TlsConfig(
            "the client private key is encrypted (ENCRYPTED PRIVATE KEY) and no password was \
             given: set privateKeyPassword in the mTLS secret (ssl.key.password in \
             client.properties), or decrypt the key (openssl pkcs8 -in key.pem -out plain.pem)"
                .into(),
        ));
    };
    let block = match pem.find(ENCRYPTED_KEY_END) {
        Some(end) => &pem[..end + ENCRYPTED_KEY_END.len()],
        None => pem,
    };
    let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes()).map_err(|e| {
        ConnectionError::TlsConfig(format!("the encrypted client key PEM is not valid: {e}"))
    })?;
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| {
        ConnectionError::TlsConfig(format!(
            "the encrypted client key is not an encrypted PKCS#8 key: {e}"
        ))
    })?;
    let key = encrypted.decrypt(password).map_err(|e| {
        ConnectionError::TlsConfig(format!(
            "cannot decrypt the client private key with the password given ({e}): check the \
             password; only PBES2 encryption (PBKDF2 or scrypt with AES-CBC, what openssl \
             pkcs8 -topk8 writes) is supported"
        ))
    })?;
    Ok(PrivateKeyDer::Pkcs8(key.as_bytes().to_vec().into()))
}

/// Used by tests elsewhere in the crate to check which provider a config uses.
#[cfg(test)]
pub(super) fn provider_of(connector: &TlsConnector) -> &Arc<rustls::crypto::CryptoProvider> {
    connector.config.crypto_provider()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_text(r: Result<TlsConnector, ConnectionError>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => {
                assert!(matches!(e, ConnectionError::TlsConfig(_)), "{e:?}");
                e.to_string()
            }
        }
    }

    #[test]
    fn empty_or_garbage_ca_pem_is_a_config_error() {
        for pem in [
            "",
            "not a pem at all",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let msg = err_text(TlsConnector::new(&TlsConfig {
                ca_pem: Some(pem.into()),
                ..TlsConfig::default()
            }));
            assert!(
                msg.contains("no certificate found in CA PEM"),
                "{pem:?}: {msg}"
            );
        }
        let msg = err_text(TlsConnector::new(&TlsConfig {
            ca_pem: Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()),
            ..TlsConfig::default()
        }));
        assert!(
            msg.contains("certificate #1 in CA PEM is not a usable CA certificate"),
            "{msg}"
        );
    }

    #[test]
    fn default_roots_use_ring_and_the_system_store() {
        let c = TlsConnector::new(&TlsConfig::default()).unwrap();
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            provider_of(&c).cipher_suites.len(),
            ring.cipher_suites.len()
        );
        assert!(!c.client_config().client_auth_cert_resolver.has_certs());
        assert_eq!(
            c.server_name_for("10.0.0.1").unwrap(),
            ServerName::try_from("10.0.0.1").unwrap()
        );
        assert_eq!(
            c.server_name_for("kafka.example").unwrap(),
            ServerName::try_from("kafka.example").unwrap()
        );
    }

    #[test]
    fn server_name_override_and_validation() {
        let c = TlsConnector::new(&TlsConfig {
            server_name: Some("broker.internal".into()),
            ..TlsConfig::default()
        })
        .unwrap();
        assert_eq!(
            c.server_name_for("127.0.0.1").unwrap(),
            ServerName::try_from("broker.internal").unwrap()
        );
        let msg = err_text(TlsConnector::new(&TlsConfig {
            server_name: Some("bad name!".into()),
            ..TlsConfig::default()
        }));
        assert!(
            msg.contains("\"bad name!\" is neither a valid DNS name"),
            "{msg}"
        );
    }

    #[test]
    fn half_configured_client_auth_is_rejected() {
        let msg = err_text(TlsConnector::new(&TlsConfig {
            client_key_pem: Some("x".into()),
            ..TlsConfig::default()
        }));
        assert!(
            msg.contains("client private key is set but client certificate is not"),
            "{msg}"
        );
        let msg = err_text(TlsConnector::new(&TlsConfig {
            client_cert_pem: Some("x".into()),
            ..TlsConfig::default()
        }));
        assert!(
            msg.contains("client certificate is set but client private key is not"),
            "{msg}"
        );
    }

    #[test]
    fn cache_returns_the_same_config() {
        let cfg = TlsConfig {
            server_name: Some("cache-test.example".into()),
            ..TlsConfig::default()
        };
        let a = TlsConnector::cached(&cfg).unwrap();
        let b = TlsConnector::cached(&cfg).unwrap();
        assert!(Arc::ptr_eq(a.client_config(), b.client_config()));
        let c = TlsConnector::new(&cfg).unwrap();
        assert!(!Arc::ptr_eq(a.client_config(), c.client_config()));
    }
}
