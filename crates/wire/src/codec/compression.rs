//! Compression codecs of Kafka record data, with bounded decompression.
//!
//! Formats are the ones the Java client writes, so Java and librdkafka clients read what we
//! write and we read what they write:
//! - gzip: a gzip stream (several members are accepted when reading).
//! - snappy: xerial framing (`\x82SNAPPY\0`, version, compat version, then length-prefixed raw
//!   snappy blocks of at most 32 KiB input). Raw (unframed) snappy is accepted when reading.
//! - lz4: the standard LZ4 frame format, 64 KiB independent blocks, no checksums (what the Java
//!   client's `KafkaLZ4BlockOutputStream` writes). Magic 0 messages from Kafka 0.8/0.9 carry a
//!   wrong frame header checksum; [`Lz4Header::Lenient`] reads them anyway.
//! - zstd: zstd frames (several accepted when reading).

use std::io::{Read, Write};

/// Default cap on the decompressed size of one batch (256 MiB): a decompression bomb or
/// garbage gives an error instead of exhausting memory.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 256 * 1024 * 1024;

/// Compression codec of a batch (attribute bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (id 0).
    #[default]
    None,
    /// gzip (id 1).
    Gzip,
    /// snappy, xerial-framed (id 2).
    Snappy,
    /// LZ4 frame format (id 3).
    Lz4,
    /// zstd (id 4, v2 batches only).
    Zstd,
}

impl Compression {
    /// The codec for an attribute id (0..=4), or `None` for an unknown id.
    pub fn from_id(id: u8) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The codec's attribute id (0..=4).
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec's name as used in Kafka's `compression.type` config.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Parses a `compression.type` name (case-insensitive); `None` if unknown.
    pub fn from_name(name: &str) -> Option<Compression> {
        [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How strictly to read an LZ4 frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lz4Header {
    /// Standard frame: the header checksum is verified.
    Strict,
    /// Kafka 0.8/0.9 magic 0 frames: the header checksum was computed over the wrong bytes, so
    /// it is ignored.
    Lenient,
}

/// Why decompression failed, before the caller attaches the batch's identity.
#[derive(Debug)]
pub(crate) enum DecompressFailure {
    TooLarge,
    Invalid(String),
}

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Block size of the Java client's `SnappyOutputStream`.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Decompresses `input` with `codec`, refusing to produce more than `limit` bytes.
pub(crate) fn decompress(
    codec: Compression,
    input: &[u8],
    limit: usize,
    lz4: Lz4Header,
) -> Result<Vec<u8>, DecompressFailure> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(DecompressFailure::TooLarge);
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), input, limit),
        Compression::Snappy => decompress_snappy(input, limit),
        Compression::Lz4 => match lz4 {
            Lz4Header::Strict => {
                read_bounded(lz4_flex::frame::FrameDecoder::new(input), input, limit)
            }
            Lz4Header::Lenient => decompress_lz4_lenient(input, limit),
        },
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|e| DecompressFailure::Invalid(e.to_string()))?;
            read_bounded(decoder, input, limit)
        }
    }
}

/// Reads a decoder to its end, failing once more than `limit` bytes come out.
fn read_bounded<R: Read>(
    decoder: R,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressFailure> {
    // Typical Kafka payloads compress 2-10x; start there and let the Vec grow.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(limit).max(64));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecompressFailure::Invalid(e.to_string()))?;
    if out.len() > limit {
        return Err(DecompressFailure::TooLarge);
    }
    Ok(out)
}

fn decompress_snappy(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
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

const LZ4_MAGIC: u32 = 0x184D_2204;

/// Reads one LZ4 frame without verifying its header checksum (Kafka 0.8/0.9 magic 0 messages
/// computed it over the magic number too). Block and content checksums are skipped, as the
/// Java client's reader does for these messages.
fn decompress_lz4_lenient(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressFailure> {
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
const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
const LZ4_BLOCK: usize = 64 * 1024;
/// A block stored as it is (incompressible) has this bit set in its size.
const LZ4_UNCOMPRESSED: u32 = 0x8000_0000;

thread_local! {
    static LZ4_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes `input` as one LZ4 frame of independent 64 KiB blocks, compressing each block straight
/// from `input` into `out` (lz4_flex's frame encoder would first copy every block into a
/// buffer of its own: measurable on the hot path, see docs/benchmarks.md).
fn lz4_frame_into(input: &[u8], out: &mut Vec<u8>) {
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

/// Compresses `input` with `codec`, appending to `out`.
pub(crate) fn compress_into(
    codec: Compression,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            enc.write_all(input).map_err(|e| e.to_string())?;
            enc.finish().map(|_| ()).map_err(|e| e.to_string())
        }
        Compression::Snappy => {
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
                    .map_err(|e| e.to_string())?;
                out.truncate(start + n);
                let n = u32::try_from(n).map_err(|e| e.to_string())?;
                out[len_at..start].copy_from_slice(&n.to_be_bytes());
            }
            Ok(())
        }
        Compression::Lz4 => {
            lz4_frame_into(input, out);
            Ok(())
        }
        Compression::Zstd => {
            // Level 3 is zstd's and the Java client's default.
            let mut enc = zstd::stream::write::Encoder::new(out, 3).map_err(|e| e.to_string())?;
            enc.write_all(input).map_err(|e| e.to_string())?;
            enc.finish().map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn roundtrip(codec: Compression, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compress_into(codec, data, &mut out).expect("compress");
        match decompress(
            codec,
            &out,
            DEFAULT_MAX_DECOMPRESSED_SIZE,
            Lz4Header::Strict,
        ) {
            Ok(v) => v,
            Err(e) => panic!("{codec}: {e:?}"),
        }
    }

    #[test]
    fn ids_and_names_round_trip() {
        for c in ALL {
            assert_eq!(Compression::from_id(c.id()), Some(c));
            assert_eq!(Compression::from_name(c.name()), Some(c));
        }
        assert_eq!(Compression::from_id(5), None);
        assert_eq!(Compression::from_name("ZSTD"), Some(Compression::Zstd));
        assert_eq!(Compression::from_name("brotli"), None);
    }

    #[test]
    fn every_codec_round_trips_large_input() {
        // Larger than one xerial (32 KiB) and one LZ4 (64 KiB) block.
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        for c in ALL {
            assert_eq!(roundtrip(c, &data), data, "{c}");
            assert_eq!(roundtrip(c, b""), b"", "{c} empty");
        }
    }

    #[test]
    fn snappy_writes_xerial_framing() {
        let data = vec![7u8; 70_000];
        let mut out = Vec::new();
        compress_into(Compression::Snappy, &data, &mut out).unwrap();
        assert_eq!(out[..8], XERIAL_MAGIC);
        assert_eq!(out[8..16], [0, 0, 0, 1, 0, 0, 0, 1]);
        // 70 000 bytes = 32 KiB + 32 KiB + 4 464 bytes: three chunks.
        let mut pos = 16;
        let mut chunks = 0;
        while pos < out.len() {
            let len = u32::from_be_bytes(out[pos..pos + 4].try_into().unwrap()) as usize;
            pos += 4 + len;
            chunks += 1;
        }
        assert_eq!(pos, out.len());
        assert_eq!(chunks, 3);
    }

    #[test]
    fn raw_snappy_is_accepted() {
        let data = b"hello hello hello hello raw snappy".repeat(10);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        let got = decompress(Compression::Snappy, &raw, 1 << 20, Lz4Header::Strict).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn limit_is_enforced_for_every_codec() {
        let data = vec![0u8; 100_000];
        for c in ALL {
            let mut out = Vec::new();
            compress_into(c, &data, &mut out).unwrap();
            match decompress(c, &out, 99_999, Lz4Header::Strict) {
                Err(DecompressFailure::TooLarge) => {}
                other => panic!("{c}: expected TooLarge, got {other:?}"),
            }
            assert_eq!(
                decompress(c, &out, 100_000, Lz4Header::Strict)
                    .unwrap()
                    .len(),
                100_000
            );
        }
        let mut out = Vec::new();
        compress_into(Compression::Lz4, &data, &mut out).unwrap();
        assert!(matches!(
            decompress(Compression::Lz4, &out, 99_999, Lz4Header::Lenient),
            Err(DecompressFailure::TooLarge)
        ));
    }

    #[test]
    fn gzip_bomb_is_stopped_at_the_limit() {
        // 64 MiB of zeros gzip to ~64 KiB; a 1 MiB limit must stop it early.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 200_000);
        assert!(matches!(
            decompress(Compression::Gzip, &bomb, 1 << 20, Lz4Header::Strict),
            Err(DecompressFailure::TooLarge)
        ));
    }

    #[test]
    fn our_lz4_frames_have_the_header_lz4_flex_writes_and_decode_everywhere() {
        let mut reference = Vec::new();
        let info = lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max64KB)
            .block_mode(lz4_flex::frame::BlockMode::Independent);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, &mut reference);
        enc.write_all(b"x").unwrap();
        enc.finish().unwrap();
        assert_eq!(reference[..7], LZ4_FRAME_HEADER);
        // Empty, one byte, exactly one block, incompressible blocks, several blocks.
        let mut noise = 0x9e37_79b9u32;
        let random: Vec<u8> = (0..200_000)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                noise as u8
            })
            .collect();
        let text = b"kafka record batch ".repeat(10_000);
        for input in [&b""[..], b"a", &text[..LZ4_BLOCK], &random[..], &text[..]] {
            let mut framed = Vec::new();
            lz4_frame_into(input, &mut framed);
            let mut decoded = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&framed[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
            let lenient = decompress_lz4_lenient(&framed, usize::MAX).unwrap();
            assert_eq!(lenient, input);
        }
    }

    #[test]
    fn lenient_lz4_ignores_a_wrong_header_checksum() {
        let data = b"kafka 0.8 lz4 magic 0 ".repeat(5000);
        let mut frame = Vec::new();
        compress_into(Compression::Lz4, &data, &mut frame).unwrap();
        // The header checksum is byte 6 (no content size, no dictionary id).
        frame[6] ^= 0x5a;
        assert!(matches!(
            decompress(Compression::Lz4, &frame, 1 << 20, Lz4Header::Strict),
            Err(DecompressFailure::Invalid(_))
        ));
        let got = decompress(Compression::Lz4, &frame, 1 << 20, Lz4Header::Lenient).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn lenient_lz4_reads_linked_blocks() {
        let data: Vec<u8> = b"linked blocks reuse the previous block as dictionary ".repeat(4000);
        let info = lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max64KB)
            .block_mode(lz4_flex::frame::BlockMode::Linked)
            .block_checksums(true)
            .content_checksum(true);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(&data).unwrap();
        let frame = enc.finish().unwrap();
        let got = decompress(Compression::Lz4, &frame, 1 << 22, Lz4Header::Lenient).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let garbage: Vec<u8> = (0..500u32).map(|i| (i * 7919 % 256) as u8).collect();
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(
                decompress(c, &garbage, 1 << 20, Lz4Header::Strict).is_err(),
                "{c}"
            );
            assert!(
                decompress(c, &garbage, 1 << 20, Lz4Header::Lenient).is_err(),
                "{c}"
            );
        }
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 9, 9]);
        assert!(decompress(Compression::Snappy, &xerial, 1 << 20, Lz4Header::Strict).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_data_round_trips(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            for c in ALL {
                prop_assert_eq!(roundtrip(c, &data), data.clone());
            }
        }

        #[test]
        fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            for c in ALL {
                let _ = decompress(c, &data, 1 << 16, Lz4Header::Strict);
                let _ = decompress(c, &data, 1 << 16, Lz4Header::Lenient);
            }
        }
    }
}
