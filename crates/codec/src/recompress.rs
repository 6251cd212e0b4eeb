//! [`RecordBatch::recompress`]: a batch re-encoded with another codec without decoding its
//! records. The records section is decompressed and compressed again as it is; every header
//! field but the codec bits, `batch_length` and the CRC stays, so record count, offsets,
//! timestamps and producer fields are unchanged.

use bytes::Bytes;

use crate::batch::{
    RecordBatch, ATTRIBUTES, BATCH_LENGTH, CRC, LOG_OVERHEAD, PARTITION_LEADER_EPOCH,
    RECORD_BATCH_HEADER_SIZE,
};
use crate::compression::{self, Compression, Lz4Header};
use crate::error::CodecError;

/// The codec bits of the attributes (as in `batch.rs`).
const COMPRESSION_MASK: i16 = 0x07;

impl RecordBatch {
    /// The batch with its records section compressed with `to` instead (decompressing at most
    /// [`DEFAULT_MAX_DECOMPRESSED_SIZE`](super::DEFAULT_MAX_DECOMPRESSED_SIZE) bytes). The
    /// records are not parsed: a batch whose records are malformed stays malformed.
    pub fn recompress(&self, to: Compression) -> Result<Bytes, CodecError> {
        self.recompress_with_limit(to, compression::DEFAULT_MAX_DECOMPRESSED_SIZE)
    }

    /// As [`RecordBatch::recompress`], failing with [`CodecError::DecompressedTooLarge`] past
    /// `max_decompressed` bytes.
    pub fn recompress_with_limit(
        &self,
        to: Compression,
        max_decompressed: usize,
    ) -> Result<Bytes, CodecError> {
        let from = self.compression();
        let raw = self.raw();
        let section = &raw[RECORD_BATCH_HEADER_SIZE..];
        let decompressed;
        let records: &[u8] = if from == Compression::None {
            section
        } else {
            decompressed =
                compression::decompress(from, section, max_decompressed, Lz4Header::Strict)
                    .map_err(|f| f.into_error(from, self.base_offset(), max_decompressed))?;
            &decompressed
        };
        let mut out = Vec::with_capacity(RECORD_BATCH_HEADER_SIZE + records.len() / 2 + 64);
        out.extend_from_slice(&raw[..RECORD_BATCH_HEADER_SIZE]);
        compression::compress_into(to, records, &mut out)?;
        let batch_length =
            i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| CodecError::Build {
                detail: format!("batch of {} bytes exceeds i32::MAX", out.len()),
            })?;
        out[BATCH_LENGTH..PARTITION_LEADER_EPOCH].copy_from_slice(&batch_length.to_be_bytes());
        let attributes = (self.attributes() & !COMPRESSION_MASK) | i16::from(to.id());
        out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
        let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
        out[CRC..ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
        Ok(Bytes::from(out))
    }
}

// Every codec is exercised: needs the default features.
#[cfg(all(
    test,
    feature = "gzip",
    feature = "snappy",
    feature = "lz4",
    feature = "zstd"
))]
mod tests {
    use super::*;
    use crate::{Header, Record, RecordBatchBuilder, TimestampType};

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn source(codec: Compression) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(codec);
        b.base_offset(4_000)
            .partition_leader_epoch(3)
            .producer(77, 2, 500)
            .transactional(true)
            .timestamp_type(TimestampType::CreateTime);
        for i in 0..300u32 {
            let value = format!("value {i} {}", "x".repeat((i % 50) as usize));
            let headers = [Header::new("h", Some(Bytes::from(i.to_string())))];
            // Offset deltas with a gap, as compaction leaves them.
            b.push_at(
                (i * 2) as i32,
                1_700_000_000_000 + i64::from(i),
                (i % 3 != 0).then_some(&b"key"[..]),
                Some(value.as_bytes()),
                &headers,
            )
            .unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    fn records(batch: &RecordBatch) -> Vec<Record> {
        batch.records().unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn every_codec_to_every_codec_keeps_records_and_header_fields() {
        for from in ALL {
            let src = source(from);
            let want = records(&src);
            assert_eq!(want.len(), 300);
            for to in ALL {
                let out = RecordBatch::new(src.recompress(to).unwrap()).unwrap();
                assert_eq!(out.compression(), to, "{from} -> {to}");
                assert_eq!(records(&out), want, "{from} -> {to}");
                // Every header field but codec, length and CRC is the source's.
                assert_eq!(
                    out.raw()[..BATCH_LENGTH],
                    src.raw()[..BATCH_LENGTH],
                    "{from} -> {to}"
                );
                assert_eq!(
                    out.raw()[PARTITION_LEADER_EPOCH..CRC],
                    src.raw()[PARTITION_LEADER_EPOCH..CRC]
                );
                assert_eq!(
                    out.attributes() & !COMPRESSION_MASK,
                    src.attributes() & !COMPRESSION_MASK
                );
                assert_eq!(
                    out.raw()[ATTRIBUTES + 2..RECORD_BATCH_HEADER_SIZE],
                    src.raw()[ATTRIBUTES + 2..RECORD_BATCH_HEADER_SIZE]
                );
                // The uncompressed records section is the source's, byte for byte.
                assert_eq!(out.records().unwrap().data(), src.records().unwrap().data());
            }
        }
    }

    #[test]
    fn same_codec_none_is_the_same_batch() {
        let src = source(Compression::None);
        assert_eq!(&src.recompress(Compression::None).unwrap(), src.raw());
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let src = source(Compression::Zstd);
        let size = src.records().unwrap().data().len();
        assert!(matches!(
            src.recompress_with_limit(Compression::Lz4, size - 1),
            Err(CodecError::DecompressedTooLarge { limit, .. }) if limit == size - 1
        ));
        assert!(src.recompress_with_limit(Compression::Lz4, size).is_ok());
    }
}
