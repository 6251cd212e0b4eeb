//! Why a request could not be encoded or a response decoded. The connection layer reports
//! their text in [`ConnectionError::Encode`](crate::ConnectionError::Encode) and
//! [`ConnectionError::Malformed`](crate::ConnectionError::Malformed), whose `message` also
//! carries the frame-level failures (a wrong correlation id, ...).

/// Why [`encode_request`](super::encode_request) failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    /// `kafka-protocol` refused a field (e.g. one this version cannot carry).
    #[error("{0}")]
    Field(anyhow::Error),
    /// The frame's length does not fit its i32 length prefix.
    #[error("request of {size} bytes is too large")]
    TooLarge {
        /// The header and body size.
        size: usize,
    },
}

/// Why [`decode_response`](super::decode_response) failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    /// The response header could not be decoded.
    #[error("header: {0}")]
    Header(anyhow::Error),
    /// The response body could not be decoded.
    #[error("body: {0}")]
    Body(anyhow::Error),
}
