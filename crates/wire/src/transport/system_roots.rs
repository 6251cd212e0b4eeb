//! The trust anchors used when no CA is configured: the operating system's trust store, read
//! once per process with `rustls-native-certs` (on Linux the OpenSSL locations, or only
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is set), so a corporate CA installed there is
//! trusted as by every other client on the machine.
//!
//! Fallback, decided on purpose: when the store the platform offers yields no usable
//! certificate (a distroless container without `ca-certificates`), the Mozilla roots bundled
//! in `webpki-roots` are trusted instead and a warning says so once: such a container can
//! still reach a public-CA cluster (MSK, Confluent Cloud), and it has no other CA to honour.
//! When the operator pointed `SSL_CERT_FILE` / `SSL_CERT_DIR` somewhere explicitly and nothing
//! usable is there, that is a configuration error, never a silent switch to other roots.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use super::no_usable_ca::NoUsableCa;
use crate::connection::ConnectionError;

/// The variables that replace the platform locations (the `rustls-native-certs` rule).
const ENV_VARS: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The roots to trust without a configured CA. Read on first use and kept for the process: the
/// store is a few hundred kilobytes of PEM, and every connector shares the result.
pub(super) fn system_roots() -> Result<Arc<RootCertStore>, ConnectionError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, NoUsableCa>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let errors = loaded.errors.iter().map(|e| e.to_string()).collect();
            let choice = choose(loaded.certs, errors, env_override())?;
            if let Some(reason) = &choice.fell_back_because {
                tracing::warn!(
                    reason = %reason,
                    "the operating system's trust store has no usable CA certificate; trusting \
                     the Mozilla roots bundled with kreplicate instead (set SSL_CERT_FILE or \
                     RootCaCertificate to choose the CA)"
                );
            } else if !choice.skipped.is_empty() {
                // A store with some unreadable entries is common (dangling links); what loaded
                // is used, and the rest is only worth a debug line.
                tracing::debug!(skipped = ?choice.skipped, "parts of the trust store were not usable");
            }
            Ok(Arc::new(choice.store))
        })
        .clone()
        .map_err(|error| ConnectionError::TlsConfig(error.to_string()))
}

/// `SSL_CERT_FILE=…` and/or `SSL_CERT_DIR=…` as set, when they replace the platform store:
/// by the `rustls-native-certs` rule, a set `SSL_CERT_FILE` always does, `SSL_CERT_DIR` only
/// when it names at least one directory.
fn env_override() -> Option<String> {
    let set: Vec<String> = ENV_VARS
        .iter()
        .filter_map(|&name| {
            let value = std::env::var_os(name)?;
            let counts = name == "SSL_CERT_FILE"
                || std::env::split_paths(&value).any(|p| !p.as_os_str().is_empty());
            counts.then(|| format!("{name}={}", value.to_string_lossy()))
        })
        .collect();
    (!set.is_empty()).then(|| set.join(" "))
}

/// What [`choose`] decided.
#[derive(Debug)]
struct Choice {
    store: RootCertStore,
    /// Why the bundled Mozilla roots are used instead of the platform store, if they are.
    fell_back_because: Option<String>,
    /// Read errors and certificates that are not usable trust anchors.
    skipped: Vec<String>,
}

/// The rule, apart from reading files and the environment so it can be tested alone.
/// `env_override` names the variables that chose the store, when they did.
fn choose(
    certs: Vec<CertificateDer<'static>>,
    mut errors: Vec<String>,
    env_override: Option<String>,
) -> Result<Choice, NoUsableCa> {
    let mut store = RootCertStore::empty();
    let (_, unusable) = store.add_parsable_certificates(certs);
    if unusable > 0 {
        errors.push(format!(
            "{unusable} certificate(s) are not usable CA certificates"
        ));
    }
    if !store.is_empty() {
        return Ok(Choice {
            store,
            fell_back_because: None,
            skipped: errors,
        });
    }
    let why = if errors.is_empty() {
        "no certificate found".to_string()
    } else {
        errors.join("; ")
    };
    if let Some(vars) = env_override {
        return Err(NoUsableCa { vars, why });
    }
    Ok(Choice {
        store: RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        fell_back_because: Some(why),
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    /// A real self-signed CA certificate (ISRG Root X2, from the rustls-native-certs docs).
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIICGzCCAaGgAwIBAgIQQdKd0XLq7qeAwSxs6S+HUjAKBggqhkjOPQQDAzBPMQsw
CQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJuZXQgU2VjdXJpdHkgUmVzZWFyY2gg
R3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBYMjAeFw0yMDA5MDQwMDAwMDBaFw00
MDA5MTcxNjAwMDBaME8xCzAJBgNVBAYTAlVTMSkwJwYDVQQKEyBJbnRlcm5ldCBT
ZWN1cml0eSBSZXNlYXJjaCBHcm91cDEVMBMGA1UEAxMMSVNSRyBSb290IFgyMHYw
EAYHKoZIzj0CAQYFK4EEACIDYgAEzZvVn4CDCuwJSvMWSj5cz3es3mcFDR0HttwW
+1qLFNvicWDEukWVEYmO6gbf9yoWHKS5xcUy4APgHoIYOIvXRdgKam7mAHf7AlF9
ItgKbppbd9/w+kHsOdx1ymgHDB/qo0IwQDAOBgNVHQ8BAf8EBAMCAQYwDwYDVR0T
AQH/BAUwAwEB/zAdBgNVHQ4EFgQUfEKWrt5LSDv6kviejM9ti6lyN5UwCgYIKoZI
zj0EAwMDaAAwZQIwe3lORlCEwkSHRhtFcP9Ymd70/aTSVaYgLXTWNLxBo1BfASdW
tL4ndQavEi51mI38AjEAi/V3bNTIZargCyzuFJ0nN6T5U6VR5CmD1/iQMVtCnwr1
/q4AaOeMSQ+2b1tbFfLn
-----END CERTIFICATE-----
";

    fn ca() -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap()
    }

    #[test]
    fn the_platform_store_is_used_alone_when_it_has_a_ca() {
        let garbage = CertificateDer::from(vec![1, 2, 3]);
        let c = choose(vec![ca(), garbage], vec!["dangling link".into()], None).unwrap();
        assert_eq!(c.store.len(), 1, "only the platform CA, no Mozilla roots");
        assert!(c.fell_back_because.is_none());
        assert_eq!(
            c.skipped,
            vec![
                "dangling link".to_string(),
                "1 certificate(s) are not usable CA certificates".to_string()
            ]
        );
    }

    #[test]
    fn an_empty_platform_store_falls_back_to_the_mozilla_roots_saying_why() {
        let c = choose(Vec::new(), vec!["no such file".into()], None).unwrap();
        assert_eq!(c.store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert_eq!(c.fell_back_because.as_deref(), Some("no such file"));
        let c = choose(Vec::new(), Vec::new(), None).unwrap();
        assert_eq!(c.fell_back_because.as_deref(), Some("no certificate found"));
    }

    #[test]
    fn an_explicit_empty_store_is_an_error_not_a_fallback() {
        let err = choose(
            Vec::new(),
            vec!["failed to read PEM from file".into()],
            Some("SSL_CERT_FILE=/nonexistent.pem".into()),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "no usable CA certificate in the trust store named by SSL_CERT_FILE=/nonexistent.pem: \
             failed to read PEM from file"
        );
    }
}
