//! Kafka framing: every request and response is a 4-byte big-endian length followed by that many
//! bytes. Sans-io: the decoder works on a caller-owned buffer so it can be tested without sockets.

use bytes::{Buf, Bytes, BytesMut};

/// Default cap on one frame. Fetch responses are the largest frames we read; they are bounded by
/// the fetch's `max_bytes`, so anything far beyond it means a corrupt length, not a real frame.
pub(crate) const DEFAULT_MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("frame length {0} is negative")]
    NegativeLength(i32),
    #[error("frame length {length} exceeds the limit of {max} bytes")]
    TooLarge { length: usize, max: usize },
}

/// Splits complete frames off the front of `buf`. Returns `Ok(None)` until a whole frame has
/// arrived; partial data stays in `buf` for the next read.
pub(crate) fn decode_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if length < 0 {
        return Err(FrameError::NegativeLength(length));
    }
    let length = length as usize;
    if length > max {
        return Err(FrameError::TooLarge { length, max });
    }
    if buf.len() < 4 + length {
        // Reserve once for the whole frame so large fetch responses do not grow the buffer in
        // many small steps.
        buf.reserve(4 + length - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(length).freeze()))
}

/// Prefixes `body` with its length.
#[cfg(test)]
fn encode_frame(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_frames_and_keeps_partial_tail() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&encode_frame(b"hello"));
        buf.extend_from_slice(&encode_frame(b""));
        buf.extend_from_slice(&[0, 0, 0, 3, b'a']);
        assert_eq!(
            decode_frame(&mut buf, 100).unwrap().unwrap(),
            Bytes::from_static(b"hello")
        );
        assert_eq!(decode_frame(&mut buf, 100).unwrap().unwrap(), Bytes::new());
        assert_eq!(decode_frame(&mut buf, 100).unwrap(), None);
        buf.extend_from_slice(b"bc");
        assert_eq!(
            decode_frame(&mut buf, 100).unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn rejects_negative_and_oversized_lengths() {
        let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert_eq!(
            decode_frame(&mut buf, 100),
            Err(FrameError::NegativeLength(-1))
        );
        let mut buf = BytesMut::from(&101i32.to_be_bytes()[..]);
        assert_eq!(
            decode_frame(&mut buf, 100),
            Err(FrameError::TooLarge {
                length: 101,
                max: 100
            })
        );
    }
}
