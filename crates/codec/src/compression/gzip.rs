//! gzip: one gzip stream written, several members accepted when reading.

use std::io::Write;

use super::{compress_failed, read_bounded, Compression, DecompressFailure};
use crate::error::CodecError;

pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
    read_bounded(flate2::read::MultiGzDecoder::new(input), input, limit)
}

pub(super) fn compress_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    let failed = |e: std::io::Error| compress_failed(Compression::Gzip, e);
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    enc.write_all(input).map_err(failed)?;
    enc.finish().map(|_| ()).map_err(failed)
}
