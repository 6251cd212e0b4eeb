//! zstd: one frame written at level 3, several frames accepted when reading.

use std::io::Write;

use super::{compress_failed, read_bounded, Compression, DecompressFailure};
use crate::error::CodecError;

pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
    let decoder = ::zstd::stream::read::Decoder::with_buffer(input)
        .map_err(|e| DecompressFailure::Invalid(e.to_string()))?;
    read_bounded(decoder, input, limit)
}

pub(super) fn compress_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    let failed = |e: std::io::Error| compress_failed(Compression::Zstd, e);
    // Level 3 is zstd's and the Java client's default.
    let mut enc = ::zstd::stream::write::Encoder::new(out, 3).map_err(failed)?;
    enc.write_all(input).map_err(failed)?;
    enc.finish().map(|_| ()).map_err(failed)
}
