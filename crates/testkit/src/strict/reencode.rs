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
    use bytes::Bytes;
    use kafka_protocol::records::Compression;

    /// One v2 record, written by hand: offset delta as given, duplicate header keys.
    fn record(offset_delta: i64, key: &[u8], headers: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut body = vec![0u8];
        put_varint(&mut body, 5); // timestamp delta
        put_varint(&mut body, offset_delta);
        put_varint(&mut body, key.len() as i64);
        body.extend_from_slice(key);
        put_varint(&mut body, -1); // null value
        put_varint(&mut body, headers.len() as i64);
        for (k, v) in headers {
            put_varint(&mut body, k.len() as i64);
            body.extend_from_slice(k);
            put_varint(&mut body, v.len() as i64);
            body.extend_from_slice(v);
        }
        let mut out = Vec::new();
        put_varint(&mut out, body.len() as i64);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn reencoding_keeps_duplicate_headers_and_null_values_byte_for_byte() {
        // A template header: any gzip batch; its records are replaced below.
        let mut template = bytes::BytesMut::new();
        let r = kafka_protocol::records::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: kafka_protocol::records::TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 1000,
            key: None,
            value: None,
            headers: Default::default(),
        };
        kafka_protocol::records::RecordBatchEncoder::encode_with_custom_compression(
            &mut template,
            [&r],
            &kafka_protocol::records::RecordEncodeOptions {
                version: 2,
                compression: Compression::Gzip,
            },
            Some(
                |plain: &mut bytes::BytesMut, out: &mut bytes::BytesMut, c| {
                    out.extend_from_slice(&crate::strict::compression::compress(c, plain)?);
                    Ok(())
                },
            ),
        )
        .unwrap();
        let template = RawBatch::single(&template.freeze()).unwrap();
        let headers: [(&[u8], &[u8]); 3] = [(b"h", b"1"), (b"h", b"2"), (b"x", b"")];
        let mut plain = record(0, b"a", &headers);
        plain.extend(record(4, b"b", &headers[..1]));
        let gapped = template.with_records(&plain, 2, 1005).unwrap();
        let out = reencode(&gapped, 1005).unwrap();
        out.verify_crc().unwrap();
        let mut expected = record(0, b"a", &headers);
        expected.extend(record(1, b"b", &headers[..1]));
        assert_eq!(out.plain_records().unwrap(), Bytes::from(expected));
        assert_eq!(out.compression(), Compression::Gzip);
        assert_eq!(out.record_count(), 2);
    }

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
