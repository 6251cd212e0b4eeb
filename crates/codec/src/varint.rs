//! Kafka's variable-length integers (protobuf style): zigzag `varint` (i32, at most 5 bytes),
//! zigzag `varlong` (i64, at most 10 bytes) and the unsigned varint (u32, at most 5 bytes).
//!
//! Hand-written because they sit on the hot path of record decoding; the readers work on a
//! slice plus a cursor so callers can attach positions to errors. Like the Java client, the
//! readers accept any bits in the last allowed byte (they are shifted out) and reject a
//! continuation bit on it.

use bytes::BufMut;

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended before the last byte of the varint.
    Truncated,
    /// The varint has more bytes than its type allows.
    TooLong,
}

impl std::fmt::Display for VarintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarintError::Truncated => f.write_str("varint truncated"),
            VarintError::TooLong => f.write_str("varint too long"),
        }
    }
}

/// Reads an unsigned varint of at most `max_bytes` bytes as a u64, advancing `pos`.
#[inline]
fn read_raw(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64, VarintError> {
    let mut value: u64 = 0;
    let mut shift = 0u32;
    let mut at = *pos;
    for _ in 0..max_bytes {
        let Some(&b) = buf.get(at) else {
            return Err(VarintError::Truncated);
        };
        at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            *pos = at;
            return Ok(value);
        }
        shift += 7;
    }
    Err(VarintError::TooLong)
}

/// Reads an unsigned varint (u32, at most 5 bytes) at `*pos`, advancing `pos` past it.
#[inline]
pub fn read_unsigned_varint(buf: &[u8], pos: &mut usize) -> Result<u32, VarintError> {
    // Bits above 32 in the fifth byte are dropped, as the Java client does.
    read_raw(buf, pos, 5).map(|v| v as u32)
}

/// Reads a zigzag varint (i32, at most 5 bytes) at `*pos`, advancing `pos` past it.
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32, VarintError> {
    // Fast path: one byte covers -64..=63, the common case for deltas and small lengths.
    if let Some(&b) = buf.get(*pos) {
        if b & 0x80 == 0 {
            *pos += 1;
            let v = u32::from(b);
            return Ok(((v >> 1) as i32) ^ -((v & 1) as i32));
        }
    }
    let v = read_unsigned_varint(buf, pos)?;
    Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
}

/// Reads a zigzag varlong (i64, at most 10 bytes) at `*pos`, advancing `pos` past it.
#[inline]
pub fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64, VarintError> {
    let v = read_raw(buf, pos, 10)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

/// Number of bytes [`put_unsigned_varint`] writes for `v`.
#[inline]
pub fn unsigned_varint_len(v: u32) -> usize {
    raw_len(u64::from(v))
}

/// Number of bytes [`put_varint`] writes for `v`.
#[inline]
pub fn varint_len(v: i32) -> usize {
    raw_len(u64::from(zigzag32(v)))
}

/// Number of bytes [`put_varlong`] writes for `v`.
#[inline]
pub fn varlong_len(v: i64) -> usize {
    raw_len(zigzag64(v))
}

#[inline]
fn raw_len(v: u64) -> usize {
    // 1 byte per started group of 7 significant bits; 0 still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn put_raw<B: BufMut + ?Sized>(buf: &mut B, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Writes an unsigned varint.
#[inline]
pub fn put_unsigned_varint<B: BufMut + ?Sized>(buf: &mut B, v: u32) {
    put_raw(buf, u64::from(v));
}

/// Writes a zigzag varint.
#[inline]
pub fn put_varint<B: BufMut + ?Sized>(buf: &mut B, v: i32) {
    put_raw(buf, u64::from(zigzag32(v)));
}

/// Writes a zigzag varlong.
#[inline]
pub fn put_varlong<B: BufMut + ?Sized>(buf: &mut B, v: i64) {
    put_raw(buf, zigzag64(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc_varint(v: i32) -> Vec<u8> {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        b
    }

    #[test]
    fn known_encodings_match_kafka() {
        // Values from the Kafka protocol docs / Java ByteUtilsTest.
        assert_eq!(enc_varint(0), [0x00]);
        assert_eq!(enc_varint(-1), [0x01]);
        assert_eq!(enc_varint(1), [0x02]);
        assert_eq!(enc_varint(-64), [0x7f]);
        assert_eq!(enc_varint(64), [0x80, 0x01]);
        assert_eq!(enc_varint(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc_varint(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut b = Vec::new();
        put_varlong(&mut b, i64::MIN);
        assert_eq!(
            b,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let mut b = Vec::new();
        put_unsigned_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
    }

    #[test]
    fn truncated_and_too_long_are_errors() {
        let mut pos = 0;
        assert_eq!(
            read_varint(&[0x80, 0x80], &mut pos),
            Err(VarintError::Truncated)
        );
        assert_eq!(pos, 0, "cursor must not move on error");
        assert_eq!(read_varint(&[], &mut pos), Err(VarintError::Truncated));
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], &mut pos),
            Err(VarintError::TooLong)
        );
        assert_eq!(
            read_varlong(&[0x80; 11], &mut pos),
            Err(VarintError::TooLong)
        );
        assert_eq!(
            read_unsigned_varint(&[0xff; 5], &mut pos),
            Err(VarintError::TooLong)
        );
    }

    #[test]
    fn reads_advance_cursor_exactly() {
        let buf = [0x02, 0xac, 0x02, 0x7f, 0x99];
        let mut pos = 0;
        assert_eq!(read_varint(&buf, &mut pos), Ok(1));
        assert_eq!(pos, 1);
        assert_eq!(read_unsigned_varint(&buf, &mut pos), Ok(300));
        assert_eq!(pos, 3);
        assert_eq!(read_varlong(&buf, &mut pos), Ok(-64));
        assert_eq!(pos, 4);
        assert_eq!(read_varint(&buf, &mut pos), Err(VarintError::Truncated));
    }

    proptest! {
        #[test]
        fn varint_round_trip(v in any::<i32>(), prefix in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut b = prefix.clone();
            put_varint(&mut b, v);
            prop_assert_eq!(b.len() - prefix.len(), varint_len(v));
            let mut pos = prefix.len();
            prop_assert_eq!(read_varint(&b, &mut pos), Ok(v));
            prop_assert_eq!(pos, b.len());
        }

        #[test]
        fn varlong_round_trip(v in any::<i64>()) {
            let mut b = Vec::new();
            put_varlong(&mut b, v);
            prop_assert_eq!(b.len(), varlong_len(v));
            let mut pos = 0;
            prop_assert_eq!(read_varlong(&b, &mut pos), Ok(v));
            prop_assert_eq!(pos, b.len());
        }

        #[test]
        fn unsigned_varint_round_trip(v in any::<u32>()) {
            let mut b = Vec::new();
            put_unsigned_varint(&mut b, v);
            prop_assert_eq!(b.len(), unsigned_varint_len(v));
            let mut pos = 0;
            prop_assert_eq!(read_unsigned_varint(&b, &mut pos), Ok(v));
            prop_assert_eq!(pos, b.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut pos = 0;
            let _ = read_varint(&buf, &mut pos);
            prop_assert!(pos <= buf.len());
            let mut pos = 0;
            let _ = read_varlong(&buf, &mut pos);
            prop_assert!(pos <= buf.len());
        }
    }
}
