//! zstd: one frame written at level 3, several frames accepted when reading.

use std::io::Write;

use super::{read_bounded, DecompressFailure};

pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
    let decoder = ::zstd::stream::read::Decoder::with_buffer(input)
        .map_err(|e| DecompressFailure::Invalid(e.to_string()))?;
    read_bounded(decoder, input, limit)
}

pub(super) fn compress_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    // Level 3 is zstd's and the Java client's default.
    let mut enc = ::zstd::stream::write::Encoder::new(out, 3).map_err(|e| e.to_string())?;
    enc.write_all(input).map_err(|e| e.to_string())?;
    enc.finish().map(|_| ()).map_err(|e| e.to_string())
}
