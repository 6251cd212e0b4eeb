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
//!
//! Each codec is a cargo feature of this crate (`gzip`, `snappy`, `lz4`, `zstd`, all on by
//! default); without it, reading or writing that codec is [`CodecError::CodecDisabled`] or
//! [`CodecError::CompressionDisabled`].

#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "lz4")]
mod lz4;
#[cfg(feature = "snappy")]
mod snappy;
#[cfg(feature = "zstd")]
mod zstd;

use crate::error::CodecError;

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

    /// Whether this build can read and write the codec: its cargo feature is on.
    pub fn is_enabled(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Snappy => cfg!(feature = "snappy"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd => cfg!(feature = "zstd"),
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
    // Only codecs construct it; a build without any has none.
    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd"
        )),
        allow(dead_code)
    )]
    Invalid(String),
    /// The codec's cargo feature is off in this build.
    Disabled,
}

impl DecompressFailure {
    /// The error for a batch (`base_offset`) whose `codec` payload failed to decompress within
    /// `limit` bytes.
    pub(crate) fn into_error(
        self,
        codec: Compression,
        base_offset: i64,
        limit: usize,
    ) -> CodecError {
        match self {
            DecompressFailure::TooLarge => CodecError::DecompressedTooLarge {
                codec,
                base_offset,
                limit,
            },
            DecompressFailure::Invalid(detail) => CodecError::Decompress {
                codec,
                base_offset,
                detail,
            },
            DecompressFailure::Disabled => CodecError::CodecDisabled { codec, base_offset },
        }
    }
}

/// Decompresses `input` with `codec`, refusing to produce more than `limit` bytes.
pub(crate) fn decompress(
    codec: Compression,
    input: &[u8],
    limit: usize,
    lz4: Lz4Header,
) -> Result<Vec<u8>, DecompressFailure> {
    // Without a codec's feature its arm is compiled out and `lz4` may go unused.
    let _ = lz4;
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(DecompressFailure::TooLarge);
            }
            Ok(input.to_vec())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => gzip::decompress(input, limit),
        #[cfg(feature = "snappy")]
        Compression::Snappy => snappy::decompress(input, limit),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => lz4::decompress(input, limit, lz4),
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd::decompress(input, limit),
        #[allow(unreachable_patterns)] // reachable only when a codec feature is off
        _ => Err(DecompressFailure::Disabled),
    }
}

/// Compresses `input` with `codec`, appending to `out`.
pub(crate) fn compress_into(
    codec: Compression,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => gzip::compress_into(input, out),
        #[cfg(feature = "snappy")]
        Compression::Snappy => snappy::compress_into(input, out),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => {
            lz4::frame_into(input, out);
            Ok(())
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd::compress_into(input, out),
        #[allow(unreachable_patterns)] // reachable only when a codec feature is off
        _ => Err(CodecError::CompressionDisabled { codec }),
    }
}

/// The error of `codec`'s compressor, which reported `detail`.
#[cfg(any(feature = "gzip", feature = "snappy", feature = "zstd"))]
fn compress_failed(codec: Compression, detail: impl std::fmt::Display) -> CodecError {
    CodecError::Compress {
        codec,
        detail: detail.to_string(),
    }
}

/// Reads a decoder to its end, failing once more than `limit` bytes come out.
#[cfg(any(feature = "gzip", feature = "lz4", feature = "zstd"))]
pub(crate) fn read_bounded<R: std::io::Read>(
    decoder: R,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressFailure> {
    use std::io::Read;

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

// The codec round trips need every codec; tests/codec_disabled.rs covers a build without one.
#[cfg(all(
    test,
    feature = "gzip",
    feature = "snappy",
    feature = "lz4",
    feature = "zstd"
))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{Read, Write};

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
        assert_eq!(out[..8], snappy::XERIAL_MAGIC);
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
        assert_eq!(reference[..7], lz4::LZ4_FRAME_HEADER);
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
        for input in [
            &b""[..],
            b"a",
            &text[..lz4::LZ4_BLOCK],
            &random[..],
            &text[..],
        ] {
            let mut framed = Vec::new();
            lz4::frame_into(input, &mut framed);
            let mut decoded = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&framed[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
            let lenient = lz4::decompress_lenient(&framed, usize::MAX).unwrap();
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
        let mut xerial = snappy::XERIAL_MAGIC.to_vec();
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
