//! Recognising, from the first bytes it answers with, a peer that is not a Kafka broker: a TLS
//! listener answering our plaintext request with an alert, an HTTP server, or anything else
//! whose first four bytes are no plausible Kafka frame length.

use std::fmt;

/// The largest frame a broker sends before the connection carries traffic (ApiVersions and SASL
/// responses are a few KiB). A larger length on these first frames is not Kafka speaking.
pub(super) const HANDSHAKE_MAX_FRAME_BYTES: usize = 1024 * 1024;

/// How many of the bytes read are quoted in the error.
const QUOTED_BYTES: usize = 16;

/// What answered where a Kafka broker was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotKafka {
    /// A TLS record (alert or handshake): the port is a TLS listener.
    Tls,
    /// An HTTP response or an HTML page.
    Http,
    /// Something else; `length` is what the first four bytes say, `head` the bytes read.
    Implausible {
        /// The length the first four bytes declare.
        length: i32,
        /// The bytes read.
        head: Vec<u8>,
    },
}

impl NotKafka {
    /// Names what `head` (the start of the first answer, at least 4 bytes) looks like.
    pub(super) fn recognise(head: &[u8]) -> NotKafka {
        // A TLS record header is content type, then the protocol version 3.x: 0x15 is an alert
        // (what a TLS server sends on a non-TLS ClientHello), 0x16 a handshake record.
        let tls =
            head.len() >= 3 && matches!(head[0], 0x15 | 0x16) && head[1] == 0x03 && head[2] <= 0x04;
        if tls {
            return NotKafka::Tls;
        }
        let lower = head.to_ascii_lowercase();
        if [&b"http"[..], b"<!do", b"<htm"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            return NotKafka::Http;
        }
        NotKafka::Implausible {
            length: i32::from_be_bytes([head[0], head[1], head[2], head[3]]),
            head: head[..head.len().min(QUOTED_BYTES)].to_vec(),
        }
    }
}

impl fmt::Display for NotKafka {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotKafka::Tls => f.write_str(
                "this port speaks TLS: add EncryptionInTransit (ClientBroker TLS) to the \
                 configuration, or use the broker's plaintext port",
            ),
            NotKafka::Http => f.write_str("this is an HTTP server, not a Kafka broker"),
            NotKafka::Implausible { length, head } => {
                let quoted: String = head
                    .iter()
                    .flat_map(|b| std::ascii::escape_default(*b))
                    .map(char::from)
                    .collect();
                write!(
                    f,
                    "the first frame's length {length} is implausible for a Kafka response \
                     (read \"{quoted}\"): is this a Kafka broker's port?"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tls_http_and_other_answers() {
        // A TLS 1.2 "protocol version" alert and a handshake record.
        assert_eq!(
            NotKafka::recognise(&[0x15, 3, 3, 0, 2, 2, 70]),
            NotKafka::Tls
        );
        assert_eq!(NotKafka::recognise(&[0x16, 3, 1, 0, 0x2a]), NotKafka::Tls);
        assert_eq!(NotKafka::recognise(b"HTTP/1.1 400 Bad"), NotKafka::Http);
        assert_eq!(NotKafka::recognise(b"<!DOCTYPE html>"), NotKafka::Http);
        assert_eq!(NotKafka::recognise(b"<html>"), NotKafka::Http);
        let other = NotKafka::recognise(b"SSH-2.0-OpenSSH_9.6\r\n");
        assert_eq!(
            other,
            NotKafka::Implausible {
                length: i32::from_be_bytes(*b"SSH-"),
                head: b"SSH-2.0-OpenSSH_".to_vec()
            }
        );
        assert_eq!(
            other.to_string(),
            "the first frame's length 1397966893 is implausible for a Kafka response \
             (read \"SSH-2.0-OpenSSH_\"): is this a Kafka broker's port?"
        );
    }
}
