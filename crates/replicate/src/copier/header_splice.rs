//! Header mode by splicing: a whole source batch whose records carry no provenance header yet
//! becomes one target batch holding the same records, each with its provenance header
//! appended, without decoding them into owned values (no `Bytes` reference counts, no header
//! `Vec`, no `ProducerRecord` per record; docs/benchmarks.md measures the difference). The
//! records read back exactly as the per-record path writes them (same timestamps, keys, values
//! and headers in the same order), and the batch keeps the source's offset deltas, so the
//! acknowledgement maps each source offset to its target offset as a pass-through batch does.
//!
//! Everything else takes the per-record path: records already carrying a provenance header
//! (loop prevention, echoes and the origin carried on need them decoded), careful mode and the
//! test panic hook (both per record), a batch that does not decode (the per-record path
//! halts with the reason) or that splices to more than the target topic accepts.

use kreplicate_codec::{CodecError, HeaderRef, RecordBatch, RecordBatchBuilder};

use super::{Copier, CopierExit};
use crate::provenance::{ClusterFingerprint, Provenance, HEADER_KEY};

impl Copier {
    /// Sends `batch` (a whole batch, see `handle_fetch`) spliced with provenance headers;
    /// `Ok(false)` when it must take the per-record path instead (see the module docs).
    pub(super) async fn send_spliced(
        &mut self,
        batch: &RecordBatch,
        limit: usize,
    ) -> Result<bool, CopierExit> {
        if self.s.panic_hook.is_some() || batch.base_offset() < self.s.careful_until {
            return Ok(false);
        }
        // TargetCompressionType, which the producer's own batches use too.
        let spliced = splice(batch, self.s.compression, self.s.source, self.s.partition);
        let Ok(Some(spliced)) = spliced else {
            return Ok(false);
        };
        if spliced.size() > limit {
            return Ok(false);
        }
        // A refused batch of several records is not isolated: careful mode then copies its
        // records one at a time, which finds the one refused (`send_raw`).
        self.send_raw(spliced).await?;
        Ok(true)
    }
}

/// `batch`'s records, each followed by the provenance header naming `source`, `partition` and
/// its offset, in one `compression` batch at the same base offset; `None` when a record
/// already carries a provenance header.
pub(crate) fn splice(
    batch: &RecordBatch,
    compression: kreplicate_codec::Compression,
    source: ClusterFingerprint,
    partition: i32,
) -> Result<Option<RecordBatch>, CodecError> {
    let records = batch.records()?;
    let mut builder = RecordBatchBuilder::new(compression);
    builder.base_offset(batch.base_offset());
    let mut value = Vec::with_capacity(32);
    for view in records.views() {
        let view = view?;
        if view.headers().any(|h| h.key == HEADER_KEY.as_bytes()) {
            return Ok(None);
        }
        value.clear();
        Provenance {
            origin: source,
            source,
            partition,
            offset: view.offset,
        }
        .encode_into(&mut value);
        let header = HeaderRef {
            key: HEADER_KEY.as_bytes(),
            value: Some(&value),
        };
        builder.push_view(&view, &[header])?;
    }
    RecordBatch::new(builder.build()?).map(Some)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kreplicate_codec::{Compression, Header, Record, RecordBatchBuilder};

    use super::*;

    const SOURCE: ClusterFingerprint = ClusterFingerprint(0x1234);

    fn batch(codec: Compression, headers: &[Header]) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(codec);
        b.base_offset(700).producer(3, 0, 10);
        for i in 0..20u8 {
            b.push(
                1_700_000_000_000 + i64::from(i),
                Some(&[i]),
                Some(&[i; 30]),
                headers,
            )
            .unwrap();
        }
        RecordBatch::new(b.build().unwrap()).unwrap()
    }

    #[test]
    fn every_record_gets_the_header_the_per_record_path_writes() {
        let own = [Header::new("app", Some(Bytes::from_static(b"1")))];
        for from in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let src = batch(from, &own);
            let out = splice(&src, Compression::Lz4, SOURCE, 4).unwrap().unwrap();
            assert_eq!(out.compression(), Compression::Lz4);
            assert_eq!((out.base_offset(), out.record_count()), (700, 20));
            let got: Vec<Record> = out.records().unwrap().map(Result::unwrap).collect();
            let want: Vec<Record> = src
                .records()
                .unwrap()
                .map(|r| {
                    let mut r = r.unwrap();
                    let p = Provenance {
                        origin: SOURCE,
                        source: SOURCE,
                        partition: 4,
                        offset: r.offset,
                    };
                    r.headers.push(p.header());
                    r
                })
                .collect();
            assert_eq!(got, want, "{from}");
        }
    }

    #[test]
    fn a_record_with_a_provenance_header_takes_the_per_record_path() {
        let p = Provenance {
            origin: ClusterFingerprint(9),
            source: ClusterFingerprint(9),
            partition: 0,
            offset: 5,
        };
        let src = batch(Compression::Lz4, &[p.header()]);
        assert_eq!(splice(&src, Compression::Lz4, SOURCE, 0).unwrap(), None);
    }
}
