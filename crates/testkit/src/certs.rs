//! A private certificate authority generated at test time (rcgen, ECDSA P-256), issuing server
//! and client certificates. Nothing is written to disk unless a test does it.
//!
//! Generation only fails on invalid names; these helpers panic with the name in the message
//! rather than making every test handle an error that cannot happen with sane input.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A root CA that signs leaf certificates.
pub struct TestCa {
    cert: Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new self-signed root CA with common name `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("generating a P-256 key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "kreplicate tests");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("self-signing test CA {name:?}: {e}"));
        TestCa { cert, key }
    }

    /// The CA certificate as PEM: what clients put in their trust store.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses; IPs become IP SANs) and its
    /// PKCS#8 private key, both PEM: `(cert_pem, key_pem)`.
    pub fn issue_server(&self, names: &[&str]) -> (String, String) {
        self.issue(names, names.first().copied().unwrap_or("server"), |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        })
    }

    /// Like [`TestCa::issue_server`], but the certificate expired on 2001-01-01.
    pub fn issue_expired_server(&self, names: &[&str]) -> (String, String) {
        self.issue(names, names.first().copied().unwrap_or("server"), |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        })
    }

    /// A client certificate with common name `cn` (for mutual TLS) and its key:
    /// `(cert_pem, key_pem)`.
    pub fn issue_client(&self, cn: &str) -> (String, String) {
        self.issue(&[], cn, |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        })
    }

    fn issue(
        &self,
        names: &[&str],
        cn: &str,
        customize: impl FnOnce(&mut CertificateParams),
    ) -> (String, String) {
        let key = KeyPair::generate().expect("generating a P-256 key");
        let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(sans)
            .unwrap_or_else(|e| panic!("invalid certificate names {names:?}: {e}"));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.use_authority_key_identifier_extension = true;
        customize(&mut params);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .unwrap_or_else(|e| panic!("signing certificate for {cn:?}: {e}"));
        (cert.pem(), key.serialize_pem())
    }
}

/// `key_pem` as an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`), encrypted by the openssl
/// command (an implementation independent of kreplicate's) with `password` and PBES2 `scheme`:
/// `&["-v2", "aes-256-cbc"]` (PBKDF2-HMAC-SHA256) or `&["-scrypt"]`.
pub fn openssl_encrypted_key(key_pem: &str, password: &str, scheme: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let plain = dir.path().join("plain.pem");
    std::fs::write(&plain, key_pem).expect("writing the plain key");
    let out = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-in"])
        .arg(&plain)
        .args(scheme)
        .args(["-passout", &format!("pass:{password}")])
        .output()
        .expect("running openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl pkcs8: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).expect("PEM is text");
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_pem_cert_and_pkcs8_key() {
        let ca = TestCa::new("test root");
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let (cert, key) = ca.issue_server(&["localhost", "127.0.0.1"]);
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        let (ccert, ckey) = ca.issue_client("alice");
        assert!(ccert.contains("BEGIN CERTIFICATE") && ckey.contains("BEGIN PRIVATE KEY"));
        // Two CAs never share a certificate.
        assert_ne!(ca.cert_pem(), TestCa::new("test root").cert_pem());
    }
}
