//! Record-section compression for the layer: kafka-protocol's own codecs (gzip, xerial snappy,
//! zstd) and lz4_flex's frame format for LZ4 (kafka-protocol's lz4 feature needs the C liblz4).
//! Independent of crates/wire's codec on purpose: the layer checks it.

use std::io::{Read as _, Write as _};

use anyhow::Context as _;
use bytes::{Buf as _, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor, Gzip, Snappy, Zstd};
use kafka_protocol::records::Compression;

/// Decompressed size the layer accepts: test batches are far smaller.
const MAX_DECOMPRESSED: u64 = 256 * 1024 * 1024;

/// The records section of a batch, decompressed.
pub(crate) fn decompress(codec: Compression, data: &Bytes) -> anyhow::Result<Bytes> {
    let mut input = data.clone();
    let take = |b: &mut Bytes| Ok(b.copy_to_bytes(b.remaining()));
    match codec {
        Compression::None => Ok(input),
        Compression::Gzip => Gzip::decompress(&mut input, take),
        Compression::Snappy => Snappy::decompress(&mut input, take),
        Compression::Zstd => Zstd::decompress(&mut input, take),
        Compression::Lz4 => {
            let mut out = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&data[..])
                .take(MAX_DECOMPRESSED)
                .read_to_end(&mut out)
                .context("lz4 frame")?;
            Ok(Bytes::from(out))
        }
    }
}

/// `plain` compressed with `codec`, as a records section.
pub(crate) fn compress(codec: Compression, plain: &[u8]) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    let fill = |b: &mut BytesMut| {
        b.extend_from_slice(plain);
        Ok(())
    };
    match codec {
        Compression::None => out.extend_from_slice(plain),
        Compression::Gzip => Gzip::compress(&mut out, fill)?,
        Compression::Snappy => Snappy::compress(&mut out, fill)?,
        Compression::Zstd => Zstd::compress(&mut out, fill)?,
        Compression::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
            enc.write_all(plain).context("lz4 frame")?;
            out.extend_from_slice(&enc.finish().context("lz4 frame")?);
        }
    }
    Ok(out.freeze())
}
