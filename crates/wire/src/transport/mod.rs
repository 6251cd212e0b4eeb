//! Byte streams to a broker: plain TCP or TLS (rustls with the ring provider).
//!
//! - [`TlsConfig`]: what the user configures (CA, client certificate, hostname checking).
//!   Without a CA the operating system's trust store is used (`system_roots`).
//! - [`TlsConnector`]: a prepared rustls client config. Building one parses PEM and sets up a
//!   verifier, so it is built once per client and shared; [`connect`] keeps a small cache keyed
//!   by the configuration so callers that only hold a `TlsConfig` still reuse it.
//! - [`Stream`]: the connected socket, plain or TLS, with `TCP_NODELAY` set.
//!
//! There is no fallback to plaintext: when TLS is configured and the handshake fails, the
//! connection fails with [`ConnectionError::Tls`](crate::connection::ConnectionError::Tls) saying what went wrong.

mod address;
mod connect;
mod handshake_error;
mod no_hostname_verifier;
mod no_usable_ca;
mod stream;
mod system_roots;
mod tls_config;
mod tls_connector;

pub use connect::connect;
pub use handshake_error::tls_error_from_io;
pub use stream::Stream;
pub use tls_config::TlsConfig;
pub use tls_connector::TlsConnector;
