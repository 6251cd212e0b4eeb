//! LogValidator.validateMessagesAndAssignOffsetsCompressed: a compressed v2 batch whose inner
//! offsets are not 0..n-1 (what compaction leaves) turns in-place assignment off
//! ("Some older clients do not implement the V1 internal offsets correctly ... rewriting the
//! batches rather than rejecting"), and buildRecordsAndAssignOffsets writes a new batch:
//! same records, offset deltas 0..n-1, re-compressed. Each record is rewritten at the varint
//! level, so keys, values, timestamps and headers (duplicates included) stay byte for byte.

use bytes::{BufMut as _, BytesMut};

use super::batch::{BatchError, RawBatch};

/// True if a compressed batch's records do not carry offset deltas 0..n-1.
pub(crate) fn needs_reencoding(batch: &RawBatch, offsets: &[i64], base_offset: i64) -> bool {
    batch.compression() != kafka_protocol::records::Compression::None
        && offsets
            .iter()
            .enumerate()
            .any(|(i, o)| o - base_offset != i as i64)
}

/// The batch with contiguous offset deltas, re-compressed with its own codec.
pub(crate) fn reencode(batch: &RawBatch, max_timestamp: i64) -> Result<RawBatch, BatchError> {
    let plain = batch.plain_records()?;
    let mut out = BytesMut::with_capacity(plain.len());
    let mut pos = 0usize;
    let mut count = 0i32;
    while pos < plain.len() {
        let (length, n) = read_varint(&plain[pos..])?;
        pos += n;
        let length = usize::try_from(length).map_err(|_| malformed("negative record length"))?;
        let body = plain
            .get(pos..pos + length)
            .ok_or_else(|| malformed("record past the end of the batch"))?;
        pos += length;
        // attributes (1 byte), timestampDelta (varlong), offsetDelta (varint), the rest.
        let attributes = *body.first().ok_or_else(|| malformed("empty record"))?;
        let (_, ts_len) = read_varint(&body[1..])?;
        let (_, off_len) = read_varint(&body[1 + ts_len..])?;
        let mut record = Vec::with_capacity(body.len() + 5);
        record.push(attributes);
        record.extend_from_slice(&body[1..1 + ts_len]);
        put_varint(&mut record, i64::from(count));
        record.extend_from_slice(&body[1 + ts_len + off_len..]);
        let mut length = Vec::with_capacity(5);
        put_varint(&mut length, record.len() as i64);
        out.put_slice(&length);
        out.put_slice(&record);
        count += 1;
    }
    if count != batch.record_count() {
        return Err(malformed("record count does not match the header"));
    }
    batch.with_records(&out, count, max_timestamp)
}

fn malformed(what: &str) -> BatchError {
    BatchError::Records(anyhow::anyhow!("{what}"))
}

/// A zig-zag varint (up to 10 bytes) and its length.
fn read_varint(b: &[u8]) -> Result<(i64, usize), BatchError> {
    let mut raw: u64 = 0;
    for (i, byte) in b.iter().take(10).enumerate() {
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), i + 1));
        }
    }
    Err(malformed("truncated varint"))
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(read_varint(&b).unwrap(), (v, b.len()), "{v}");
        }
        assert!(read_varint(&[0x80, 0x80]).is_err());
    }
}
