//! Arbitrary bytes as one v2 batch (CRC and length fixed up so the records behind them are
//! reached): whatever decodes is spliced record by record into a batch of every codec, with a
//! header appended to each, and re-encoded to every codec without decoding. The spliced batch
//! must decode to exactly the source's records plus that header; the re-encoded one to exactly
//! the source's records. Must never panic.
#![no_main]

use bytes::Bytes;
use kreplicate_codec::{
    Compression, Header, HeaderRef, Record, RecordBatch, RecordBatchBuilder,
};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 8 << 20;
const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];
const EXTRA: HeaderRef<'static> = HeaderRef {
    key: b"__kreplicate",
    value: Some(b"provenance"),
};

fuzz_target!(|data: &[u8]| {
    if data.len() < 61 || data[16] != 2 {
        return;
    }
    let mut fixed = data.to_vec();
    let len = (fixed.len() - 12) as i32;
    fixed[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&fixed[21..]);
    fixed[17..21].copy_from_slice(&crc.to_be_bytes());
    let Ok(batch) = RecordBatch::new(Bytes::from(fixed)) else {
        return;
    };
    let Ok(records) = batch.records_with_limit(LIMIT) else {
        return;
    };
    let Ok(want) = records.clone().collect::<Result<Vec<Record>, _>>() else {
        // Views fail where records fail.
        assert!(records.views().any(|v| v.is_err()));
        return;
    };
    for to in CODECS {
        let mut b = RecordBatchBuilder::new(to);
        b.base_offset(batch.base_offset());
        let pushed = records
            .views()
            .map(|v| b.push_view(&v.expect("records decoded"), &[EXTRA]))
            .collect::<Result<Vec<_>, _>>();
        // Building refuses only what the format cannot hold (an empty batch, huge deltas).
        if let (Ok(_), Ok(out)) = (pushed, b.build()) {
            let out = RecordBatch::new(out).expect("a built batch is valid");
            let got: Vec<Record> = out
                .records_with_limit(LIMIT * 2)
                .expect("decompresses")
                .collect::<Result<_, _>>()
                .expect("decodes");
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!((&g.key, &g.value, g.timestamp), (&w.key, &w.value, w.timestamp));
                let (last, own) = g.headers.split_last().expect("the extra header");
                assert_eq!(own, &w.headers[..]);
                assert_eq!(
                    last,
                    &Header::new(
                        Bytes::from_static(EXTRA.key),
                        EXTRA.value.map(Bytes::from_static)
                    )
                );
            }
        }
        let out = batch.recompress_with_limit(to, LIMIT).expect("decompressed once already");
        let out = RecordBatch::new(out).expect("a re-encoded batch is valid");
        let got: Vec<Record> = out
            .records_with_limit(LIMIT)
            .expect("decompresses")
            .collect::<Result<_, _>>()
            .expect("decodes");
        assert_eq!(got, want);
    }
});
