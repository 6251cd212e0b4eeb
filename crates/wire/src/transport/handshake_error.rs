//! Turning a failed TLS handshake into a sentence that says what to fix.

use std::io;

use rustls::{AlertDescription, CertificateError, Error as TlsError};

use crate::connection::ConnectionError;

/// Turns an I/O error from an established TLS stream into [`ConnectionError::Tls`] when it is
/// really a TLS failure. With TLS 1.3 the client finishes its side of the handshake before the
/// broker checks the client certificate, so a rejected certificate arrives as an alert on the
/// first read; without this it would look like a (retriable) I/O error.
pub fn tls_error_from_io(broker: &str, err: &io::Error) -> Option<ConnectionError> {
    let tls = err.get_ref()?.downcast_ref::<TlsError>()?;
    Some(ConnectionError::Tls {
        broker: broker.to_string(),
        message: describe_tls_error(tls, broker),
    })
}

/// Describes why the handshake with a broker verified as `server_name` failed.
pub(super) fn describe_handshake_error(err: &io::Error, server_name: &str) -> String {
    // tokio-rustls wraps rustls errors in io::Error(InvalidData).
    if let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<TlsError>()) {
        return describe_tls_error(tls, server_name);
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => format!(
            "the broker closed the connection during the handshake ({err}): is this port a TLS \
             listener, and does the broker require a client certificate?"
        ),
        _ => format!("I/O error during the handshake: {err}"),
    }
}

fn describe_tls_error(err: &TlsError, server_name: &str) -> String {
    match err {
        TlsError::InvalidCertificate(cert) => describe_certificate_error(cert, server_name),
        TlsError::AlertReceived(alert) => {
            let hint = match alert {
                AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::AccessDenied
                | AlertDescription::HandshakeFailure => {
                    ": does the broker require a client certificate, and does it trust ours?"
                }
                AlertDescription::ProtocolVersion => {
                    ": no TLS version in common (we speak TLS 1.2 and 1.3)"
                }
                _ => "",
            };
            format!("the broker rejected the handshake with TLS alert {alert:?}{hint}")
        }
        TlsError::InvalidMessage(_)
        | TlsError::InappropriateMessage { .. }
        | TlsError::InappropriateHandshakeMessage { .. } => format!(
            "the broker's reply is not a valid TLS handshake ({err}): is this port a TLS listener?"
        ),
        TlsError::PeerIncompatible(why) => {
            format!("the broker's TLS settings are incompatible with ours: {why:?}")
        }
        other => format!("TLS error: {other}"),
    }
}

fn describe_certificate_error(err: &CertificateError, server_name: &str) -> String {
    match err {
        CertificateError::UnknownIssuer => "certificate not trusted: UnknownIssuer — the broker's \
             certificate is not signed by a trusted CA (is the right CA configured?)"
            .to_string(),
        CertificateError::NotValidForName => format!(
            "certificate name does not match {server_name:?} (set server_name, or fix the \
             certificate's subjectAltName)"
        ),
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "certificate name does not match {server_name:?}: the certificate is valid for [{}] \
             (set server_name, or fix the certificate's subjectAltName)",
            presented.join(", ")
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the broker's certificate has expired ({err})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the broker's certificate is not valid yet ({err}): check the clocks")
        }
        CertificateError::BadSignature => {
            "the broker's certificate has a bad signature (wrong or tampered chain)".to_string()
        }
        other => format!("the broker's certificate was rejected: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(e: TlsError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn names_the_cause() {
        let msg = describe_handshake_error(
            &wrap(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            "b1",
        );
        assert!(
            msg.starts_with("certificate not trusted: UnknownIssuer"),
            "{msg}"
        );
        assert!(msg.contains("is the right CA configured?"), "{msg}");

        let msg = describe_handshake_error(
            &wrap(TlsError::InvalidCertificate(
                CertificateError::NotValidForName,
            )),
            "kafka-1.internal",
        );
        assert!(
            msg.contains("certificate name does not match \"kafka-1.internal\""),
            "{msg}"
        );

        let msg = describe_handshake_error(
            &wrap(TlsError::AlertReceived(
                AlertDescription::CertificateRequired,
            )),
            "b1",
        );
        assert!(
            msg.contains("CertificateRequired") && msg.contains("client certificate"),
            "{msg}"
        );

        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        assert!(describe_handshake_error(&eof, "b1").contains("is this port a TLS listener"));
    }

    #[test]
    fn io_errors_carrying_tls_alerts_become_tls_errors() {
        let alert = wrap(TlsError::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        match tls_error_from_io("b1:9093", &alert) {
            Some(ConnectionError::Tls { broker, message }) => {
                assert_eq!(broker, "b1:9093");
                assert!(message.contains("client certificate"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert!(tls_error_from_io("b1:9093", &reset).is_none());
    }
}
