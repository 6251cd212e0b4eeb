//! Primitive encodings of the persisted format: unsigned LEB128 varints and
//! big-endian integers, with a strict reader that reports the field and byte
//! position of every problem and never panics.

use crate::error::DecodeError;

/// Appends `value` as an unsigned LEB128 varint (minimal length).
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a non-negative offset (or offset difference) as a varint.
pub(crate) fn put_offset(out: &mut Vec<u8>, value: i64) {
    // Callers only pass values their invariants keep non-negative.
    put_uvarint(out, value.max(0) as u64);
}

/// Strict cursor over one key or value.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// `what` names the input in errors (`"key"` or `"value"`).
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes,
            position: 0,
            what,
        }
    }

    pub(crate) fn what(&self) -> &'static str {
        self.what
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub(crate) fn take(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let start = self.position;
        let slice = start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(DecodeError::Truncated {
                what: self.what,
                field,
                position: start,
            })?;
        self.position += len;
        Ok(slice)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    pub(crate) fn be_u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let mut raw = [0u8; 2];
        raw.copy_from_slice(self.take(2, field)?);
        Ok(u16::from_be_bytes(raw))
    }

    pub(crate) fn be_i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4, field)?);
        Ok(i32::from_be_bytes(raw))
    }

    pub(crate) fn be_i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8, field)?);
        Ok(i64::from_be_bytes(raw))
    }

    /// An unsigned LEB128 varint: at most 10 bytes, minimally encoded.
    pub(crate) fn uvarint(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let start = self.position;
        let bad = |problem| DecodeError::BadVarint {
            what: self.what,
            field,
            position: start,
            problem,
        };
        let mut value: u64 = 0;
        for index in 0..10 {
            let byte = match self.bytes.get(self.position) {
                Some(byte) => *byte,
                None => {
                    return Err(DecodeError::Truncated {
                        what: self.what,
                        field,
                        position: start,
                    })
                }
            };
            self.position += 1;
            // The tenth byte holds the 64th bit only.
            if index == 9 && byte > 1 {
                return Err(bad("more than 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if index > 0 && byte == 0 {
                    return Err(bad("not minimally encoded"));
                }
                return Ok(value);
            }
        }
        Err(bad("more than 64 bits"))
    }

    /// A varint that must fit a non-negative `i64`.
    pub(crate) fn offset(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let start = self.position;
        let value = self.uvarint(field)?;
        i64::try_from(value).map_err(|_| DecodeError::BadVarint {
            what: self.what,
            field,
            position: start,
            problem: "larger than i64::MAX",
        })
    }

    /// Succeeds only if every byte was consumed.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                what: self.what,
                count,
                position: self.position,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_round_trips_boundaries() {
        for value in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            i64::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, value);
            let mut reader = Reader::new(&out, "value");
            assert_eq!(reader.uvarint("x").unwrap(), value, "value {value}");
            reader.finish().unwrap();
        }
        let mut out = Vec::new();
        put_uvarint(&mut out, 300);
        assert_eq!(out, vec![0xac, 0x02]);
    }

    #[test]
    fn uvarint_rejects_overlong_oversized_and_truncated() {
        let err = Reader::new(&[0x80, 0x00], "value")
            .uvarint("run count")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "offset-map value: run count at byte 0 is not a valid varint: not minimally encoded"
        );
        let eleven = [0xff; 11];
        assert!(matches!(
            Reader::new(&eleven, "value").uvarint("x"),
            Err(DecodeError::BadVarint {
                problem: "more than 64 bits",
                ..
            })
        ));
        let mut tenth_too_big = vec![0xff; 9];
        tenth_too_big.push(0x02);
        assert!(matches!(
            Reader::new(&tenth_too_big, "value").uvarint("x"),
            Err(DecodeError::BadVarint {
                problem: "more than 64 bits",
                ..
            })
        ));
        assert_eq!(
            Reader::new(&[0x80], "key").uvarint("chunk"),
            Err(DecodeError::Truncated {
                what: "key",
                field: "chunk",
                position: 0
            })
        );
        let mut big = Vec::new();
        put_uvarint(&mut big, i64::MAX as u64 + 1);
        assert!(matches!(
            Reader::new(&big, "value").offset("x"),
            Err(DecodeError::BadVarint {
                problem: "larger than i64::MAX",
                ..
            })
        ));
    }

    #[test]
    fn fixed_width_reads_report_truncation_position() {
        let mut reader = Reader::new(&[0, 1, 2], "key");
        assert_eq!(reader.be_u16("topic length").unwrap(), 1);
        assert_eq!(
            reader.be_i32("partition"),
            Err(DecodeError::Truncated {
                what: "key",
                field: "partition",
                position: 2
            })
        );
        assert_eq!(
            reader.finish(),
            Err(DecodeError::TrailingBytes {
                what: "key",
                count: 1,
                position: 2
            })
        );
    }
}
