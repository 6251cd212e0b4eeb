//! Encoding requests with their header and decoding responses, version-aware.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

use super::api_error::{DecodeError, EncodeError};
use super::Api;

/// A human name for an API key, for error messages ("Fetch", "SaslAuthenticate"). Every
/// request this client sends is an [`Api`]; the other names are for completeness.
pub(crate) fn api_name(key: i16) -> &'static str {
    match Api::from_key(key) {
        Some(api) => api.name(),
        None if ApiKey::try_from(key).is_ok() => "OtherApi",
        None => "UnknownApi",
    }
}

/// Encodes a whole request frame: the 4-byte length, the header and the body for `version`.
/// The length is reserved up front so the body is written once, with no copy.
pub(crate) fn encode_request<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<Bytes, EncodeError> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let header_version = R::header_version(version);
    let size = header
        .compute_size(header_version)
        .and_then(|h| request.compute_size(version).map(|b| h + b))
        .map_err(EncodeError::Field)?;
    let length = i32::try_from(size).map_err(|_| EncodeError::TooLarge { size })?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.extend_from_slice(&length.to_be_bytes());
    header
        .encode(&mut buf, header_version)
        .map_err(EncodeError::Field)?;
    request
        .encode(&mut buf, version)
        .map_err(EncodeError::Field)?;
    Ok(buf.freeze())
}

/// Decodes a response frame (correlation id onwards) of request type `R` at `version`.
/// Returns the correlation id found in the header with the body.
pub(crate) fn decode_response<R: Request>(
    mut frame: Bytes,
    version: i16,
) -> Result<(i32, R::Response), DecodeError> {
    let header_version =
        <R::Response as kafka_protocol::protocol::HeaderVersion>::header_version(version);
    let header = ResponseHeader::decode(&mut frame, header_version).map_err(DecodeError::Header)?;
    let body = R::Response::decode(&mut frame, version).map_err(DecodeError::Body)?;
    Ok((header.correlation_id, body))
}

/// Reads the correlation id at the start of a response frame without decoding the rest: every
/// response header version begins with it.
pub(crate) fn peek_correlation_id(frame: &[u8]) -> Option<i32> {
    frame
        .get(0..4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

    #[test]
    fn request_round_trips_through_broker_side_decoding() {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kreplicate"))
            .with_client_software_version(StrBytes::from_static_str("0.1"));
        let mut b = encode_request(&req, 3, 42, "me").unwrap();
        assert_eq!(bytes::Buf::get_i32(&mut b) as usize, b.len());
        let header = kafka_protocol::protocol::decode_request_header_from_buffer(&mut b).unwrap();
        assert_eq!(header.correlation_id, 42);
        assert_eq!(header.request_api_version, 3);
        assert_eq!(header.client_id.as_deref(), Some("me"));
        let decoded = ApiVersionsRequest::decode(&mut b, 3).unwrap();
        assert_eq!(decoded, req);
    }

    #[test]
    fn response_decodes_with_correlation_id() {
        let resp = ApiVersionsResponse::default().with_throttle_time_ms(7);
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(9)
            .encode(&mut buf, 0)
            .unwrap();
        resp.encode(&mut buf, 3).unwrap();
        let frame = buf.freeze();
        assert_eq!(peek_correlation_id(&frame), Some(9));
        let (corr, decoded) = decode_response::<ApiVersionsRequest>(frame, 3).unwrap();
        assert_eq!(corr, 9);
        assert_eq!(decoded.throttle_time_ms, 7);
    }

    #[test]
    fn encoding_errors_say_what_failed() {
        let err = encode_request(&ApiVersionsRequest::default(), 9, 1, "me").unwrap_err();
        assert!(matches!(err, EncodeError::Field(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "specified version not supported by this message type"
        );
        let too_large = EncodeError::TooLarge { size: 1 << 31 };
        assert_eq!(
            too_large.to_string(),
            "request of 2147483648 bytes is too large"
        );
    }

    #[test]
    fn decoding_errors_name_the_part_that_failed() {
        let err =
            decode_response::<ApiVersionsRequest>(Bytes::from_static(&[0, 0]), 3).unwrap_err();
        assert!(matches!(err, DecodeError::Header(_)), "{err:?}");
        assert!(err.to_string().starts_with("header: "), "{err}");
        // Correlation id 1, then a body cut inside its first field (error code i16).
        let err = decode_response::<ApiVersionsRequest>(Bytes::from_static(&[0, 0, 0, 1, 0]), 3)
            .unwrap_err();
        assert!(matches!(err, DecodeError::Body(_)), "{err:?}");
        assert!(err.to_string().starts_with("body: "), "{err}");
    }

    #[test]
    fn truncated_response_is_an_error_not_a_panic() {
        assert!(decode_response::<ApiVersionsRequest>(Bytes::from_static(&[0, 0]), 3).is_err());
        assert!(
            decode_response::<ApiVersionsRequest>(Bytes::from_static(&[0, 0, 0, 1, 0]), 3).is_err()
        );
    }
}
