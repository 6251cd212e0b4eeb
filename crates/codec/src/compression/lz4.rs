//! LZ4 frame format, 64 KiB independent blocks, no checksums (the Java client's
//! `KafkaLZ4BlockOutputStream`); a lenient reader for Kafka 0.8/0.9 magic 0 frames.

use super::{read_bounded, DecompressFailure, Lz4Header};

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    header: Lz4Header,
) -> Result<Vec<u8>, DecompressFailure> {
    match header {
        Lz4Header::Strict => read_bounded(lz4_flex::frame::FrameDecoder::new(input), input, limit),
        Lz4Header::Lenient => decompress_lenient(input, limit),
    }
}

const LZ4_MAGIC: u32 = 0x184D_2204;

/// Reads one LZ4 frame without verifying its header checksum (Kafka 0.8/0.9 magic 0 messages
/// computed it over the magic number too). Block and content checksums are skipped, as the
/// Java client's reader does for these messages.
pub(super) fn decompress_lenient(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
    let bad = |what: String| DecompressFailure::Invalid(format!("lz4: {what}"));
    if input.len() < 7 {
        return Err(bad(format!(
            "frame of {} bytes is shorter than a header",
            input.len()
        )));
    }
    let magic = u32::from_le_bytes([input[0], input[1], input[2], input[3]]);
    if magic != LZ4_MAGIC {
        return Err(bad(format!("bad frame magic {magic:#010x}")));
    }
    let flg = input[4];
    let bd = input[5];
    if flg >> 6 != 0b01 {
        return Err(bad(format!("unsupported frame version in FLG {flg:#04x}")));
    }
    let independent = flg & 0x20 != 0;
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let dict_id = flg & 0x01 != 0;
    let block_max = match (bd >> 4) & 0x07 {
        4 => 64 * 1024,
        5 => 256 * 1024,
        6 => 1024 * 1024,
        7 => 4 * 1024 * 1024,
        other => return Err(bad(format!("unsupported block size id {other}"))),
    };
    // FLG, BD, optional content size and dictionary id, then the (ignored) header checksum.
    let mut pos = 6 + if content_size { 8 } else { 0 } + if dict_id { 4 } else { 0 } + 1;
    let mut out: Vec<u8> = Vec::new();
    let mut block = Vec::new();
    loop {
        let Some(h) = input.get(pos..pos + 4) else {
            return Err(bad(format!("block header truncated at byte {pos}")));
        };
        let raw = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        pos += 4;
        if raw == 0 {
            break;
        }
        let uncompressed = raw & 0x8000_0000 != 0;
        let size = (raw & 0x7fff_ffff) as usize;
        if size > block_max {
            return Err(bad(format!(
                "block of {size} bytes exceeds the {block_max} byte maximum"
            )));
        }
        let Some(data) = input.get(pos..pos + size) else {
            return Err(bad(format!("block at byte {pos} truncated")));
        };
        pos += size + if block_checksum { 4 } else { 0 };
        if uncompressed {
            if size > limit.saturating_sub(out.len()) {
                return Err(DecompressFailure::TooLarge);
            }
            out.extend_from_slice(data);
            continue;
        }
        block.resize(block_max, 0);
        let n = if independent {
            lz4_flex::block::decompress_into(data, &mut block)
        } else {
            let dict_start = out.len().saturating_sub(64 * 1024);
            lz4_flex::block::decompress_into_with_dict(data, &mut block, &out[dict_start..])
        }
        .map_err(|e| bad(e.to_string()))?;
        if n > limit.saturating_sub(out.len()) {
            return Err(DecompressFailure::TooLarge);
        }
        out.extend_from_slice(&block[..n]);
    }
    if content_checksum && input.len() < pos + 4 {
        return Err(bad("content checksum truncated".to_string()));
    }
    Ok(out)
}

/// The LZ4 frame header Kafka clients write: magic, FLG = version 1 with independent blocks and
/// no checksums, BD = 64 KiB blocks, then the header checksum (xxh32 of FLG and BD, byte 1).
pub(super) const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
pub(super) const LZ4_BLOCK: usize = 64 * 1024;
/// A block stored as it is (incompressible) has this bit set in its size.
const LZ4_UNCOMPRESSED: u32 = 0x8000_0000;

thread_local! {
    static LZ4_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes `input` as one LZ4 frame of independent 64 KiB blocks, compressing each block straight
/// from `input` into `out` (lz4_flex's frame encoder would first copy every block into a
/// buffer of its own: measurable on the hot path, see docs/benchmarks.md).
pub(super) fn frame_into(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(
        LZ4_FRAME_HEADER.len()
            + input.len().div_ceil(LZ4_BLOCK) * 4
            + lz4_flex::block::get_maximum_output_size(input.len())
            + 4,
    );
    out.extend_from_slice(&LZ4_FRAME_HEADER);
    // Each block is compressed into a per-thread scratch buffer that stays allocated (and
    // zeroed) between calls, then appended: zero-filling room in `out` for every block cost
    // more than copying the compressed bytes.
    LZ4_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let room = lz4_flex::block::get_maximum_output_size(LZ4_BLOCK);
        if scratch.len() < room {
            scratch.resize(room, 0);
        }
        for chunk in input.chunks(LZ4_BLOCK) {
            // The scratch is sized by get_maximum_output_size, so this cannot run out of room.
            match lz4_flex::block::compress_into(chunk, &mut scratch[..]) {
                Ok(n) if n < chunk.len() => {
                    out.extend_from_slice(&(n as u32).to_le_bytes());
                    out.extend_from_slice(&scratch[..n]);
                }
                _ => {
                    out.extend_from_slice(&(chunk.len() as u32 | LZ4_UNCOMPRESSED).to_le_bytes());
                    out.extend_from_slice(chunk);
                }
            }
        }
    });
    out.extend_from_slice(&0u32.to_le_bytes()); // end mark
}
