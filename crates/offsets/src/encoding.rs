//! Persisted form of offset maps: one record per *chunk* in a compacted
//! internal topic on the target.
//!
//! A map is split into chunks of at most `max_runs_per_chunk` runs, each
//! stored under its own key, so every value stays bounded however many
//! compaction holes the source has. Only the last (open) chunk keeps
//! changing; a full chunk is sealed and never rewritten, except the first
//! chunk, which pruning trims. Pruned chunks are deleted with tombstones.
//! Compaction keeps the latest value per key, and that is all a rebuild needs.
//!
//! Key, version 1 (big-endian fixed width, 15 + topic bytes):
//!
//! ```text
//! u8   version = 1
//! u16  topic length (1..=249)
//! ..   topic, UTF-8
//! i32  partition (>= 0)
//! i64  chunk id (>= 0): source offset where the chunk was started
//! ```
//!
//! Value, version 1 (unsigned LEB128 varints, minimal encoding):
//!
//! ```text
//! u8      version = 1
//! varint  source_start              first source offset the chunk covers
//! varint  source_end - source_start
//! varint  target_start              first target offset the chunk covers
//! varint  target_end - target_start
//! varint  run count
//! per run, with cursors starting at (source_start, target_start) and
//! moving to each run's end:
//!   varint  run.source - source cursor
//!   varint  run.target - target cursor
//!   varint  run.len - 1
//! ```
//!
//! Value, version 2: a chunk with echo runs (see [`crate::echo`]) is
//! version 2: version 1's fields, then
//!
//! ```text
//! varint  echo count (>= 1)
//! per echo, with a source cursor starting at source_start and moving to
//! each echo's source end (echo targets may lie below target_start: the
//! original may predate the copies, so the first is written whole):
//!   varint  echo.source - source cursor
//!   varint  first echo: echo.target; later: echo.target - previous echo end
//!   varint  echo.len - 1
//! ```
//!
//! A chunk without echoes is always written as version 1, so maps of one-way
//! replication keep the version 1 bytes.
//!
//! Decoding is strict: unknown versions, truncation, non-minimal varints,
//! trailing bytes, runs outside the chunk, runs that touch on both sides
//! (not canonical), echoes that share a source offset with a copy or name a
//! copied target offset, and version 2 without echoes are errors. So every
//! value that decodes re-encodes to the same bytes.

use crate::error::DecodeError;
use crate::run::Run;
use crate::topic_partition::{TopicPartition, MAX_TOPIC_LEN};
use crate::wire_format::{put_offset, Reader};

/// Version byte of keys this build writes and reads.
pub(crate) const KEY_VERSION: u8 = 1;
/// Version byte of values without echo runs.
pub(crate) const VALUE_VERSION: u8 = 1;
/// Version byte of values with echo runs; the newest this build reads.
pub(crate) const VALUE_VERSION_ECHOES: u8 = 2;

/// Key of one persisted chunk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ChunkKey {
    /// Source topic and partition of the map.
    pub partition: TopicPartition,
    /// Chunk id: the source offset where the chunk was started.
    pub chunk: i64,
}

/// One persisted slice of a map: the source range
/// `source_start..source_end`, the target range `target_start..target_end`,
/// and the runs inside them. Only built by this crate (from a map, or by
/// decoding), so it always satisfies the format's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) source_start: i64,
    pub(crate) source_end: i64,
    pub(crate) target_start: i64,
    pub(crate) target_end: i64,
    pub(crate) runs: Vec<Run>,
    pub(crate) echoes: Vec<Run>,
}

/// Encodes a chunk key (the maps encode keys as they write chunks; this is for tests). Fails if the topic is empty or longer than 249
/// bytes, or the partition or chunk id is negative.
#[cfg(test)]
pub(crate) fn encode_key(key: &ChunkKey) -> Result<Vec<u8>, crate::error::OffsetMapError> {
    use crate::error::OffsetMapError;
    if let Some(reason) = key.partition.problem() {
        return Err(OffsetMapError::InvalidPartition {
            partition: key.partition.clone(),
            reason,
        });
    }
    if key.chunk < 0 {
        return Err(OffsetMapError::InvalidPartition {
            partition: key.partition.clone(),
            reason: "chunk id is negative",
        });
    }
    Ok(write_key(&key.partition, key.chunk))
}

/// Key bytes for a partition already validated by
/// [`TopicPartition::problem`].
pub(crate) fn write_key(partition: &TopicPartition, chunk: i64) -> Vec<u8> {
    let topic = partition.topic.as_bytes();
    let mut out = Vec::with_capacity(15 + topic.len());
    out.push(KEY_VERSION);
    out.extend_from_slice(&u16::try_from(topic.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(topic);
    out.extend_from_slice(&partition.partition.to_be_bytes());
    out.extend_from_slice(&chunk.to_be_bytes());
    out
}

/// Decodes a chunk key.
pub(crate) fn decode_key(bytes: &[u8]) -> Result<ChunkKey, DecodeError> {
    let mut reader = Reader::new(bytes, "key");
    read_version(&mut reader, KEY_VERSION)?;
    let topic_len = usize::from(reader.be_u16("topic length")?);
    if topic_len == 0 || topic_len > MAX_TOPIC_LEN {
        return Err(DecodeError::Invalid {
            what: "key",
            field: "topic length",
            reason: format!("{topic_len} is outside 1..={MAX_TOPIC_LEN}"),
        });
    }
    let topic = std::str::from_utf8(reader.take(topic_len, "topic")?).map_err(|e| {
        DecodeError::Invalid {
            what: "key",
            field: "topic",
            reason: format!("not UTF-8 ({e})"),
        }
    })?;
    let partition = reader.be_i32("partition")?;
    if partition < 0 {
        return Err(DecodeError::Invalid {
            what: "key",
            field: "partition",
            reason: format!("{partition} is negative"),
        });
    }
    let chunk = reader.be_i64("chunk id")?;
    if chunk < 0 {
        return Err(DecodeError::Invalid {
            what: "key",
            field: "chunk id",
            reason: format!("{chunk} is negative"),
        });
    }
    reader.finish()?;
    Ok(ChunkKey {
        partition: TopicPartition::new(topic, partition),
        chunk,
    })
}

/// Encodes a chunk value.
pub(crate) fn encode_chunk(chunk: &Chunk) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 4 * (chunk.runs.len() + chunk.echoes.len()));
    out.push(if chunk.echoes.is_empty() {
        VALUE_VERSION
    } else {
        VALUE_VERSION_ECHOES
    });
    put_offset(&mut out, chunk.source_start);
    put_offset(&mut out, chunk.source_end - chunk.source_start);
    put_offset(&mut out, chunk.target_start);
    put_offset(&mut out, chunk.target_end - chunk.target_start);
    put_offset(&mut out, chunk.runs.len() as i64);
    let (mut source, mut target) = (chunk.source_start, chunk.target_start);
    for run in &chunk.runs {
        put_offset(&mut out, run.source - source);
        put_offset(&mut out, run.target - target);
        put_offset(&mut out, run.len - 1);
        source = run.source_end();
        target = run.target_end();
    }
    if !chunk.echoes.is_empty() {
        put_offset(&mut out, chunk.echoes.len() as i64);
        let mut source = chunk.source_start;
        let mut previous_target_end: Option<i64> = None;
        for echo in &chunk.echoes {
            put_offset(&mut out, echo.source - source);
            put_offset(&mut out, echo.target - previous_target_end.unwrap_or(0));
            put_offset(&mut out, echo.len - 1);
            source = echo.source_end();
            previous_target_end = Some(echo.target_end());
        }
    }
    out
}

/// Decodes and validates a chunk value.
pub(crate) fn decode_chunk(bytes: &[u8]) -> Result<Chunk, DecodeError> {
    let mut reader = Reader::new(bytes, "value");
    let version = read_version(&mut reader, VALUE_VERSION_ECHOES)?;
    let source_start = reader.offset("source start")?;
    let source_len = reader.offset("source length")?;
    let source_end = sum(source_start, source_len, "source end")?;
    let target_start = reader.offset("target start")?;
    let target_len = reader.offset("target length")?;
    let target_end = sum(target_start, target_len, "target end")?;
    let count = reader.offset("run count")?;
    // Each run takes at least 3 bytes: refuse counts the input cannot hold
    // before allocating for them.
    let count = usize::try_from(count)
        .ok()
        .filter(|count| count.saturating_mul(3) <= reader.remaining())
        .ok_or_else(|| DecodeError::Invalid {
            what: "value",
            field: "run count",
            reason: format!(
                "{count} runs cannot fit in the remaining {} bytes",
                reader.remaining()
            ),
        })?;
    let mut runs = Vec::with_capacity(count);
    let (mut source, mut target) = (source_start, target_start);
    for index in 0..count {
        let source_gap = reader.offset("run source gap")?;
        let target_gap = reader.offset("run target gap")?;
        let len = sum(reader.offset("run length")?, 1, "run length")?;
        if index > 0 && source_gap == 0 && target_gap == 0 {
            return Err(DecodeError::Invalid {
                what: "value",
                field: "run",
                reason: format!(
                    "run #{index} at source offset {source} continues the previous run on both sides (not canonical)"
                ),
            });
        }
        let run = Run {
            source: sum(source, source_gap, "run source offset")?,
            target: sum(target, target_gap, "run target offset")?,
            len,
        };
        let run_source_end = sum(run.source, len, "run source end")?;
        let run_target_end = sum(run.target, len, "run target end")?;
        if run_source_end > source_end || run_target_end > target_end {
            return Err(DecodeError::Invalid {
                what: "value",
                field: "run",
                reason: format!(
                    "run #{index} (source {}..{run_source_end}, target {}..{run_target_end}) ends past the chunk (source end {source_end}, target end {target_end})",
                    run.source, run.target
                ),
            });
        }
        source = run_source_end;
        target = run_target_end;
        runs.push(run);
    }
    let echoes = if version == VALUE_VERSION_ECHOES {
        decode_echoes(&mut reader, source_start, source_end, target_end, &runs)?
    } else {
        Vec::new()
    };
    reader.finish()?;
    Ok(Chunk {
        source_start,
        source_end,
        target_start,
        target_end,
        runs,
        echoes,
    })
}

/// The echo section of a version 2 value, checked against the chunk's
/// ranges and copy runs.
fn decode_echoes(
    reader: &mut Reader<'_>,
    source_start: i64,
    source_end: i64,
    target_end: i64,
    runs: &[Run],
) -> Result<Vec<Run>, DecodeError> {
    let invalid = |field: &'static str, reason: String| DecodeError::Invalid {
        what: "value",
        field,
        reason,
    };
    let count = reader.offset("echo count")?;
    let count = usize::try_from(count)
        .ok()
        .filter(|count| *count >= 1 && count.saturating_mul(3) <= reader.remaining())
        .ok_or_else(|| {
            invalid(
                "echo count",
                format!(
                    "{count} echo runs: a version 2 value holds at least one, and at most what the remaining {} bytes can",
                    reader.remaining()
                ),
            )
        })?;
    let mut echoes: Vec<Run> = Vec::with_capacity(count);
    let mut source = source_start;
    for index in 0..count {
        let source_gap = reader.offset("echo source gap")?;
        let target_field = reader.offset("echo target")?;
        let len = sum(reader.offset("echo length")?, 1, "echo length")?;
        let previous = echoes.last().map(Run::target_end);
        if index > 0 && source_gap == 0 && target_field == 0 {
            return Err(invalid(
                "echo",
                format!("echo #{index} at source offset {source} continues the previous echo on both sides (not canonical)"),
            ));
        }
        let echo = Run {
            source: sum(source, source_gap, "echo source offset")?,
            target: sum(previous.unwrap_or(0), target_field, "echo target offset")?,
            len,
        };
        let echo_source_end = sum(echo.source, len, "echo source end")?;
        let echo_target_end = sum(echo.target, len, "echo target end")?;
        if echo_source_end > source_end || echo_target_end > target_end {
            return Err(invalid(
                "echo",
                format!(
                    "echo #{index} (source {}..{echo_source_end}, target {}..{echo_target_end}) ends past the chunk (source end {source_end}, target end {target_end})",
                    echo.source, echo.target
                ),
            ));
        }
        let shares_source = runs
            .iter()
            .any(|run| run.source < echo_source_end && echo.source < run.source_end());
        let names_copy = runs
            .iter()
            .any(|run| run.target < echo_target_end && echo.target < run.target_end());
        if shares_source || names_copy {
            return Err(invalid(
                "echo",
                format!(
                    "echo #{index} (source {}..{echo_source_end}, target {}..{echo_target_end}) overlaps a copy run on the {}",
                    echo.source,
                    echo.target,
                    if shares_source { "source" } else { "target" }
                ),
            ));
        }
        source = echo_source_end;
        echoes.push(echo);
    }
    Ok(echoes)
}

/// Reads the version byte: 1 up to `supported`.
fn read_version(reader: &mut Reader<'_>, supported: u8) -> Result<u8, DecodeError> {
    if reader.remaining() == 0 {
        return Err(DecodeError::Empty {
            what: reader.what(),
        });
    }
    let found = reader.u8("version")?;
    if (1..=supported).contains(&found) {
        Ok(found)
    } else {
        Err(DecodeError::UnsupportedVersion {
            what: reader.what(),
            found,
            supported,
        })
    }
}

/// `a + b` for decoded non-negative values, as an offset or end position.
fn sum(a: i64, b: i64, field: &'static str) -> Result<i64, DecodeError> {
    a.checked_add(b).ok_or_else(|| DecodeError::Invalid {
        what: "value",
        field,
        reason: format!("{a} + {b} overflows i64"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Chunk {
        Chunk {
            source_start: 0,
            source_end: 10,
            target_start: 100,
            target_end: 106,
            runs: vec![
                Run {
                    source: 0,
                    target: 100,
                    len: 3,
                },
                Run {
                    source: 5,
                    target: 103,
                    len: 2,
                },
                Run {
                    source: 9,
                    target: 105,
                    len: 1,
                },
            ],
            echoes: Vec::new(),
        }
    }

    #[test]
    fn value_bytes_are_exact() {
        let bytes = encode_chunk(&sample());
        assert_eq!(
            bytes,
            vec![
                1, // version
                0, 10, 100, 6, // source 0 + 10, target 100 + 6
                3, // runs
                0, 0, 2, // (0, 100, 3)
                2, 0, 1, // (5, 103, 2): source gap 3..5, no target gap
                2, 0, 0, // (9, 105, 1): skipped 7, 8
            ]
        );
        assert_eq!(decode_chunk(&bytes).unwrap(), sample());
    }

    #[test]
    fn value_with_echoes_is_version_2_and_exact() {
        // Source 0..6: copies 0→10, 1→11; echoes 2,3 → target 5,6 (before
        // the copies: B produced them first) and 5 → 12.
        let chunk = Chunk {
            source_start: 0,
            source_end: 6,
            target_start: 10,
            target_end: 13,
            runs: vec![Run {
                source: 0,
                target: 10,
                len: 2,
            }],
            echoes: vec![
                Run {
                    source: 2,
                    target: 5,
                    len: 2,
                },
                Run {
                    source: 5,
                    target: 12,
                    len: 1,
                },
            ],
        };
        let bytes = encode_chunk(&chunk);
        assert_eq!(
            bytes,
            vec![
                2, // version
                0, 6, 10, 3, // source 0 + 6, target 10 + 3
                1, 0, 0, 1, // one run (0, 10, 2)
                2, // echoes
                2, 5, 1, // (2, 5, 2): source gap 0..2, target 5 whole
                1, 5, 0, // (5, 12, 1): source gap 4, target gap 7..12
            ]
        );
        assert_eq!(decode_chunk(&bytes).unwrap(), chunk);
        // An echo naming a copied target offset, or sharing a source offset
        // with a copy, does not decode.
        let mut names_copy = bytes.clone();
        names_copy[11] = 11; // first echo at target 11..13
        assert_eq!(
            decode_chunk(&names_copy).unwrap_err().to_string(),
            "offset-map value: echo is invalid: echo #0 (source 2..4, target 11..13) overlaps a copy run on the target"
        );
        let mut shares_source = bytes.clone();
        shares_source[10] = 1; // first echo at source 1..3
        assert_eq!(
            decode_chunk(&shares_source).unwrap_err().to_string(),
            "offset-map value: echo is invalid: echo #0 (source 1..3, target 5..7) overlaps a copy run on the source"
        );
    }

    #[test]
    fn key_bytes_are_exact() {
        let key = ChunkKey {
            partition: TopicPartition::new("ab", 7),
            chunk: 258,
        };
        let bytes = encode_key(&key).unwrap();
        assert_eq!(
            bytes,
            vec![1, 0, 2, b'a', b'b', 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(decode_key(&bytes).unwrap(), key);
    }

    #[test]
    fn encode_key_rejects_unstorable_identities() {
        let long = ChunkKey {
            partition: TopicPartition::new("t".repeat(250), 0),
            chunk: 0,
        };
        assert_eq!(
            encode_key(&long).unwrap_err().to_string(),
            format!(
                "offset map {}/0: topic name is longer than 249 bytes",
                "t".repeat(250)
            )
        );
        let negative = ChunkKey {
            partition: TopicPartition::new("t", 0),
            chunk: -1,
        };
        assert!(encode_key(&negative).is_err());
    }

    #[test]
    fn decode_errors_name_the_problem() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "offset-map value: input is empty"),
            (vec![3], "offset-map value: format version 3 is not supported (this build reads versions up to 2)"),
            (vec![2, 0, 0, 0, 0, 0, 0], "offset-map value: echo count is invalid: 0 echo runs: a version 2 value holds at least one, and at most what the remaining 0 bytes can"),
            (vec![1, 0, 10], "offset-map value: input ends inside target start (byte 3)"),
            (
                vec![1, 0, 10, 100, 6, 3, 0, 0, 2],
                "offset-map value: run count is invalid: 3 runs cannot fit in the remaining 3 bytes",
            ),
            (
                vec![1, 0, 10, 100, 6, 2, 0, 0, 2, 0, 0, 0],
                "offset-map value: run is invalid: run #1 at source offset 3 continues the previous run on both sides (not canonical)",
            ),
            (
                vec![1, 0, 10, 100, 6, 1, 0, 0, 6],
                "offset-map value: run is invalid: run #0 (source 0..7, target 100..107) ends past the chunk (source end 10, target end 106)",
            ),
            (vec![1, 0, 0, 0, 0, 0, 9], "offset-map value: 1 unexpected bytes after the last field (byte 6)"),
        ];
        for (bytes, message) in cases {
            assert_eq!(
                decode_chunk(&bytes).unwrap_err().to_string(),
                message,
                "{bytes:?}"
            );
        }
        let key_cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 0, 0], "offset-map key: topic length is invalid: 0 is outside 1..=249"),
            (vec![1, 0, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "offset-map key: topic is invalid: not UTF-8 (invalid utf-8 sequence of 1 bytes from index 0)"),
            (vec![1, 0, 1, b'a', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0], "offset-map key: partition is invalid: -1 is negative"),
            (vec![1, 0, 1, b'a', 0, 0, 0, 1, 0, 0], "offset-map key: input ends inside chunk id (byte 8)"),
        ];
        for (bytes, message) in key_cases {
            assert_eq!(
                decode_key(&bytes).unwrap_err().to_string(),
                message,
                "{bytes:?}"
            );
        }
    }
}
