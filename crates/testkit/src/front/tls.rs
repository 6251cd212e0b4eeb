//! The front's TLS server configuration (ring provider), optionally requiring client certificates.

use std::sync::Arc;

use anyhow::{bail, Context as _};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor presenting `cert_pem`/`key_pem`; with `client_ca_pem`, clients must present a
/// certificate issued by that CA (mutual TLS).
pub(super) fn acceptor(
    cert_pem: &str,
    key_pem: &str,
    client_ca_pem: Option<&str>,
) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("front server certificate PEM")?;
    if chain.is_empty() {
        bail!("no certificate in the front's server certificate PEM");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).context("front server key PEM")?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?;
    let builder = match client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots
                    .add(cert.context("client CA PEM")?)
                    .context("client CA certificate")?;
            }
            if roots.is_empty() {
                bail!("no certificate in the front's client CA PEM");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .context("front server certificate and key")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
