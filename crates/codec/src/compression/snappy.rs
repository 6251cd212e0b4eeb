//! snappy with xerial framing (the Java client's `SnappyOutputStream`); raw snappy is accepted
//! when reading.

use super::{compress_failed, Compression, DecompressFailure};
use crate::error::CodecError;

pub(super) const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Block size of the Java client's `SnappyOutputStream`.
const XERIAL_BLOCK: usize = 32 * 1024;

pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
    if input.len() < XERIAL_HEADER_LEN || input[..8] != XERIAL_MAGIC {
        return snappy_raw_into(input, Vec::new(), limit);
    }
    let mut out = Vec::new();
    let mut pos = XERIAL_HEADER_LEN;
    while pos < input.len() {
        // The Java reader accepts concatenated xerial streams: a header where a chunk would be.
        if input.len() - pos >= XERIAL_HEADER_LEN && input[pos..pos + 8] == XERIAL_MAGIC {
            pos += XERIAL_HEADER_LEN;
            continue;
        }
        let Some(len_bytes) = input.get(pos..pos + 4) else {
            return Err(DecompressFailure::Invalid(format!(
                "xerial snappy chunk length truncated at byte {pos}"
            )));
        };
        let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let start = pos + 4;
        let end = start
            .checked_add(len as usize)
            .filter(|&e| e <= input.len());
        let Some(end) = end else {
            return Err(DecompressFailure::Invalid(format!(
                "xerial snappy chunk at byte {pos} declares {len} bytes, only {} remain",
                input.len() - start
            )));
        };
        out = snappy_raw_into(&input[start..end], out, limit)?;
        pos = end;
    }
    Ok(out)
}

/// Appends the raw snappy block `input` to `out`, keeping `out` within `limit`.
fn snappy_raw_into(
    input: &[u8],
    mut out: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, DecompressFailure> {
    let len = snap::raw::decompress_len(input)
        .map_err(|e| DecompressFailure::Invalid(format!("snappy: {e}")))?;
    let start = out.len();
    if len > limit.saturating_sub(start) {
        return Err(DecompressFailure::TooLarge);
    }
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(input, &mut out[start..])
        .map_err(|e| DecompressFailure::Invalid(format!("snappy: {e}")))?;
    out.truncate(start + written);
    Ok(out)
}

pub(super) fn compress_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes()); // version
    out.extend_from_slice(&1i32.to_be_bytes()); // minimum compatible version
    let mut encoder = snap::raw::Encoder::new();
    for chunk in input.chunks(XERIAL_BLOCK) {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(chunk.len()), 0);
        let n = encoder
            .compress(chunk, &mut out[start..])
            .map_err(|e| compress_failed(Compression::Snappy, e))?;
        out.truncate(start + n);
        let n = u32::try_from(n).map_err(|e| compress_failed(Compression::Snappy, e))?;
        out[len_at..start].copy_from_slice(&n.to_be_bytes());
    }
    Ok(())
}
