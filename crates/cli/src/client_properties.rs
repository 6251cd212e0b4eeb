//! Kafka client properties (a `--command-config` file, as Kafka's own tools take) turned into
//! the wire client's connection settings. The Java names are understood, plus the librdkafka
//! spellings people often have at hand (`ssl.ca.location`, `sasl.username`, …). Properties
//! that do not matter for connecting produce a warning, never an error.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kreplicate_wire::ConnectionConfig;
use kreplicate_wire::TlsConfig;
use kreplicate_wire::{SaslCredentials, SaslMechanism};

use crate::jaas::{self, LoginModule};
use crate::properties::{self, Property};

/// Connection settings read from a properties file, and the warnings to show.
#[derive(Debug, Clone)]
pub struct ClientProperties {
    /// TLS, SASL, client id and timeouts.
    pub connection: ConnectionConfig,
    /// One line each, `FILE:LINE: …`.
    pub warnings: Vec<String>,
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }
    fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// Properties that matter for Java clients but not here; each gets a warning saying why.
const IGNORED_WITH_REASON: &[(&str, &str)] = &[
    ("bootstrap.servers", "--bootstrap-server is used instead"),
    (
        "ssl.truststore.password",
        "a PEM truststore has no password",
    ),
    ("ssl.keystore.password", "a PEM keystore has no password"),
    ("ssl.protocol", "TLS 1.2 and 1.3 are negotiated"),
    ("ssl.enabled.protocols", "TLS 1.2 and 1.3 are negotiated"),
];

/// Parses the properties in `text` (from the file `name`, used in messages).
pub fn parse(name: &str, text: &str) -> Result<ClientProperties, String> {
    let entries = properties::parse(text).map_err(|e| format!("{name}: {e}"))?;
    // Later entries win, as in java.util.Properties.
    let mut props: BTreeMap<String, Property> = BTreeMap::new();
    for entry in entries {
        props.insert(entry.key.clone(), entry);
    }
    let mut reader = Reader {
        name,
        props,
        warnings: Vec::new(),
    };
    let connection = reader.connection()?;
    reader.warn_unused();
    Ok(ClientProperties {
        connection,
        warnings: reader.warnings,
    })
}

/// Reads a properties file; errors name it.
pub fn load(path: &Path) -> Result<ClientProperties, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--command-config: cannot read {}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

struct Reader<'a> {
    name: &'a str,
    /// Entries not yet consumed.
    props: BTreeMap<String, Property>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn take(&mut self, key: &str) -> Option<Property> {
        self.props.remove(key)
    }

    fn error(&self, p: &Property, message: impl std::fmt::Display) -> String {
        format!("{}:{}: {}: {message}", self.name, p.line, p.key)
    }

    fn connection(&mut self) -> Result<ConnectionConfig, String> {
        let mut config = ConnectionConfig::default();
        let protocol = match self.take("security.protocol") {
            None => Protocol::Plaintext,
            Some(p) => match p.value.trim().to_ascii_uppercase().as_str() {
                "PLAINTEXT" => Protocol::Plaintext,
                "SSL" => Protocol::Ssl,
                "SASL_PLAINTEXT" => Protocol::SaslPlaintext,
                "SASL_SSL" => Protocol::SaslSsl,
                _ => {
                    return Err(self.error(
                        &p,
                        format!(
                            "{:?} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
                            p.value
                        ),
                    ))
                }
            },
        };
        if let Some(p) = self.take("client.id") {
            config.client_id = p.value;
        }
        if let Some(timeout) = self.millis("request.timeout.ms")? {
            config.request_timeout = timeout;
        }
        if let Some(timeout) = self.millis("socket.connection.setup.timeout.ms")? {
            config.connect_timeout = timeout;
        }
        let tls = self.tls()?;
        if protocol.tls() {
            config.tls = Some(tls.unwrap_or_default());
        } else if tls.is_some() {
            self.warnings.push(format!(
                "warning: {}: ssl.* properties are ignored because security.protocol is not SSL or SASL_SSL",
                self.name
            ));
        }
        let sasl = self.sasl(protocol.sasl())?;
        if let Some(credentials) = sasl {
            config.sasl = Some(Arc::new(credentials));
        }
        Ok(config)
    }

    fn millis(&mut self, key: &str) -> Result<Option<Duration>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(p) => match p.value.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
                _ => Err(self.error(&p, "must be a positive number of milliseconds")),
            },
        }
    }

    /// Reads a PEM file named by property `p`; a file that is not PEM (a JKS or PKCS#12
    /// store) gets a message saying how to convert it.
    fn pem_file(&self, p: &Property, what: &str) -> Result<String, String> {
        let text = std::fs::read(&p.value)
            .map_err(|e| self.error(p, format!("cannot read {what} file {}: {e}", p.value)))?;
        match String::from_utf8(text) {
            Ok(text) if text.contains("-----BEGIN") => Ok(text),
            _ => Err(self.error(
                p,
                format!(
                    "{} is not a PEM file; kreplicate reads {what}s as PEM only (convert a JKS or PKCS#12 store with keytool -exportcert -rfc, or openssl pkcs12 -nodes)",
                    p.value
                ),
            )),
        }
    }

    /// The `ssl.*` settings; `None` when none is given.
    fn tls(&mut self) -> Result<Option<TlsConfig>, String> {
        let mut tls = TlsConfig::default();
        let mut any = false;
        for key in ["ssl.truststore.type", "ssl.keystore.type"] {
            if let Some(p) = self.take(key) {
                any = true;
                if !p.value.trim().eq_ignore_ascii_case("PEM") {
                    return Err(self.error(
                        &p,
                        format!("{:?} is not supported; only PEM stores are", p.value),
                    ));
                }
            }
        }
        let ca_location = self
            .take("ssl.truststore.location")
            .or_else(|| self.take("ssl.ca.location"));
        if let Some(p) = ca_location {
            tls.ca_pem = Some(self.pem_file(&p, "CA certificate")?);
            any = true;
        }
        if let Some(p) = self.take("ssl.truststore.certificates") {
            tls.ca_pem = Some(p.value);
            any = true;
        }
        if let Some(p) = self.take("ssl.endpoint.identification.algorithm") {
            any = true;
            match p.value.trim().to_ascii_lowercase().as_str() {
                "" => tls.verify_hostname = false,
                "https" => tls.verify_hostname = true,
                _ => {
                    return Err(self.error(
                        &p,
                        format!(
                            "{:?} is not supported; use https (check the broker's name) or leave it empty (do not)",
                            p.value
                        ),
                    ))
                }
            }
        }
        // The password of an encrypted PKCS#8 key (ENCRYPTED PRIVATE KEY), as Java clients
        // take it for a PEM key.
        if let Some(p) = self.take("ssl.key.password") {
            tls.client_key_password = Some(p.value);
        }
        // Client certificate (mutual TLS): a PEM keystore holding both, Kafka's inline PEM
        // properties, or librdkafka's separate files.
        if let Some(p) = self.take("ssl.keystore.location") {
            let pem = self.pem_file(&p, "keystore")?;
            tls.client_cert_pem = Some(pem.clone());
            tls.client_key_pem = Some(pem);
            any = true;
        }
        if let Some(p) = self.take("ssl.keystore.certificate.chain") {
            tls.client_cert_pem = Some(p.value);
            any = true;
        }
        if let Some(p) = self.take("ssl.keystore.key") {
            tls.client_key_pem = Some(p.value);
            any = true;
        }
        if let Some(p) = self.take("ssl.certificate.location") {
            tls.client_cert_pem = Some(self.pem_file(&p, "client certificate")?);
            any = true;
        }
        if let Some(p) = self.take("ssl.key.location") {
            tls.client_key_pem = Some(self.pem_file(&p, "private key")?);
            any = true;
        }
        if tls.client_cert_pem.is_some() != tls.client_key_pem.is_some() {
            return Err(format!(
                "{}: a client certificate needs both a certificate and a private key (ssl.keystore.location, or ssl.certificate.location with ssl.key.location)",
                self.name
            ));
        }
        Ok(any.then_some(tls))
    }

    /// The SASL settings; `None` when SASL is not used.
    fn sasl(&mut self, required: bool) -> Result<Option<SaslCredentials>, String> {
        let mechanism_prop = self.take("sasl.mechanism");
        let jaas_prop = self.take("sasl.jaas.config");
        let username_prop = self.take("sasl.username");
        let password_prop = self.take("sasl.password");
        let given = mechanism_prop.is_some()
            || jaas_prop.is_some()
            || username_prop.is_some()
            || password_prop.is_some();
        if !required {
            if given {
                self.warnings.push(format!(
                    "warning: {}: sasl.* properties are ignored because security.protocol is not SASL_PLAINTEXT or SASL_SSL",
                    self.name
                ));
            }
            return Ok(None);
        }
        let Some(mechanism_prop) = mechanism_prop else {
            return Err(format!(
                "{}: sasl.mechanism is not set (Kafka's default, GSSAPI, is not supported); set SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN",
                self.name
            ));
        };
        let mechanism = match mechanism_prop.value.trim().to_ascii_uppercase().as_str() {
            "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
            "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
            "PLAIN" => SaslMechanism::Plain,
            _ => {
                return Err(self.error(
                    &mechanism_prop,
                    format!(
                        "{:?} is not supported; use SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN",
                        mechanism_prop.value
                    ),
                ))
            }
        };
        let (mut username, mut password) = (None, None);
        if let Some(p) = &jaas_prop {
            let entry = jaas::parse(&p.value).map_err(|e| self.error(p, e))?;
            let expected = match mechanism {
                SaslMechanism::Plain => LoginModule::Plain,
                _ => LoginModule::Scram,
            };
            if entry.login_module() != expected {
                let module = match expected {
                    LoginModule::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
                    _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
                };
                return Err(self.error(
                    p,
                    format!(
                        "login module {} does not go with sasl.mechanism={}; use {module}",
                        entry.module,
                        mechanism.name()
                    ),
                ));
            }
            username = entry.options.get("username").cloned();
            password = entry.options.get("password").cloned();
        }
        if let Some(p) = username_prop {
            username = Some(p.value);
        }
        if let Some(p) = password_prop {
            password = Some(p.value);
        }
        match (username, password) {
            (Some(username), Some(password)) => Ok(Some(SaslCredentials {
                mechanism,
                username,
                password,
            })),
            (username, _) => {
                let missing = if username.is_none() {
                    "username"
                } else {
                    "password"
                };
                Err(format!(
                    "{}: SASL needs a {missing}: set sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"…\" password=\"…\";",
                    self.name
                ))
            }
        }
    }

    /// Warns about every property nobody consumed.
    fn warn_unused(&mut self) {
        let mut left: Vec<Property> = std::mem::take(&mut self.props).into_values().collect();
        left.sort_by_key(|p| p.line);
        for p in left {
            let reason = IGNORED_WITH_REASON
                .iter()
                .find(|(key, _)| *key == p.key)
                .map(|(_, why)| *why)
                .unwrap_or("not used by kreplicate");
            self.warnings.push(format!(
                "warning: {}:{}: property {} ignored: {reason}",
                self.name, p.line, p.key
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl_of(config: &ConnectionConfig) -> SaslCredentials {
        block_on(config.sasl.as_ref().expect("sasl set").credentials()).unwrap()
    }

    /// The providers built from properties answer at once; a one-off runtime polls them.
    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn plaintext_by_default_and_unknown_properties_warn() {
        let props = parse("c.properties", "# nothing\nlinger.ms=5\nclient.id=me\n").unwrap();
        assert!(props.connection.tls.is_none());
        assert!(props.connection.sasl.is_none());
        assert_eq!(props.connection.client_id, "me");
        assert_eq!(
            props.warnings,
            vec!["warning: c.properties:2: property linger.ms ignored: not used by kreplicate"]
        );
    }

    #[test]
    fn sasl_ssl_scram_with_ca_and_no_hostname_check() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let text = format!(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n  username=\"u\" password=\"p\";\nssl.truststore.location={}\nssl.endpoint.identification.algorithm=\nssl.truststore.password=x\n",
            ca.display()
        );
        let props = parse("c.properties", &text).unwrap();
        let tls = props.connection.tls.as_ref().unwrap();
        assert!(tls.ca_pem.as_deref().unwrap().contains("BEGIN CERTIFICATE"));
        assert!(!tls.verify_hostname);
        let creds = sasl_of(&props.connection);
        assert_eq!(creds.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(creds.username, "u");
        assert_eq!(creds.password, "p");
        assert_eq!(
            props.warnings,
            vec!["warning: c.properties:7: property ssl.truststore.password ignored: a PEM truststore has no password"]
        );
    }

    #[test]
    fn librdkafka_spellings() {
        let props = parse(
            "c",
            "security.protocol=sasl_plaintext\nsasl.mechanism=PLAIN\nsasl.username=a\nsasl.password=b\n",
        )
        .unwrap();
        assert!(props.connection.tls.is_none());
        let creds = sasl_of(&props.connection);
        assert_eq!(creds.mechanism, SaslMechanism::Plain);
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("a", "b")
        );
        assert!(props.warnings.is_empty(), "{:?}", props.warnings);
    }

    #[test]
    fn ssl_without_settings_uses_system_roots() {
        let props = parse("c", "security.protocol=SSL\n").unwrap();
        let tls = props.connection.tls.unwrap();
        assert!(tls.ca_pem.is_none());
        assert!(tls.verify_hostname);
    }

    #[test]
    fn errors_name_file_line_and_property() {
        let err = parse("c", "\nsecurity.protocol=TLS\n").unwrap_err();
        assert_eq!(
            err,
            "c:2: security.protocol: \"TLS\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
        );
        let err = parse("c", "security.protocol=SASL_SSL\n").unwrap_err();
        assert!(err.contains("sasl.mechanism is not set"), "{err}");
        let err = parse("c", "security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n").unwrap_err();
        assert!(
            err.starts_with("c:2: sasl.mechanism: \"GSSAPI\" is not supported"),
            "{err}"
        );
        let err = parse(
            "c",
            "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";\n",
        )
        .unwrap_err();
        assert!(
            err.contains("does not go with sasl.mechanism=PLAIN"),
            "{err}"
        );
        let err = parse(
            "c",
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\nsasl.username=u\n",
        )
        .unwrap_err();
        assert!(err.contains("SASL needs a password"), "{err}");
        let err = parse("c", "ssl.truststore.location=/nonexistent/ca.pem\n").unwrap_err();
        assert!(
            err.starts_with(
                "c:1: ssl.truststore.location: cannot read CA certificate file /nonexistent/ca.pem"
            ),
            "{err}"
        );
        let err = parse("c", "ssl.truststore.type=JKS\n").unwrap_err();
        assert!(err.contains("only PEM"), "{err}");
        let err = parse("c", "request.timeout.ms=soon\n").unwrap_err();
        assert!(err.contains("positive number of milliseconds"), "{err}");
    }

    #[test]
    fn non_pem_truststore_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("t.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0]).unwrap();
        let err = parse("c", &format!("ssl.truststore.location={}\n", jks.display())).unwrap_err();
        assert!(err.contains("is not a PEM file"), "{err}");
    }

    #[test]
    fn sasl_settings_without_sasl_protocol_warn() {
        let props = parse("c", "sasl.mechanism=PLAIN\n").unwrap();
        assert!(props.connection.sasl.is_none());
        assert_eq!(props.warnings.len(), 1);
        assert!(props.warnings[0].contains("sasl.* properties are ignored"));
    }
}
