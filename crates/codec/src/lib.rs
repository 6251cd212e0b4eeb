//! `kreplicate-codec`: Kafka's record data format, sans-io — pure functions over
//! [`bytes::Bytes`], no async runtime, no network. It is the codec of the
//! [kreplicate](https://crates.io/crates/kreplicate) replicator (its wire client fetches and
//! produces batches with it) and stands alone for anything that reads or writes Kafka record
//! batches: tools over log segments, proxies, fuzzers, tests.
//!
//! - [`RecordSet`] splits the `records` bytes of a Fetch partition into [`Batch`]es: v2
//!   [`RecordBatch`]es, or [`LegacyBatch`]es for magic 0/1 messages. A truncated last batch ends
//!   iteration cleanly; every v2 batch's CRC32C (and every legacy message's CRC32) is verified.
//! - [`RecordBatch`] is a zero-copy view: header fields are read from the bytes, records decode
//!   lazily ([`RecordBatch::records`]) into [`Record`]s whose key, value and headers are slices
//!   of the (decompressed) buffer. Duplicate header keys, their order and null-vs-empty are kept.
//! - [`RecordBatch::rewrite`] patches offsets, leader epoch and producer fields of a batch
//!   without decompressing it, recomputing the CRC32C.
//! - [`Records::views`] reads records as borrowed [`RecordView`]s (nothing allocated per
//!   record); [`RecordBatchBuilder::push_view`] splices one into a new batch, copying its
//!   encoded key, value and headers and appending headers of its own.
//! - [`RecordBatch::recompress`] re-encodes a batch with another codec without decoding its
//!   records (count, offsets, timestamps and producer fields unchanged).
//! - [`RecordBatchBuilder`] encodes records into a v2 batch with any [`Compression`]
//!   (gzip, xerial snappy, LZ4 frame, zstd — the formats the Java client writes).
//!
//! Decompression is bounded ([`DEFAULT_MAX_DECOMPRESSED_SIZE`], or the `*_with_limit`
//! methods): a decompression bomb is an error, not an out-of-memory.
//!
//! # Features
//!
//! Each compression codec is a cargo feature: `gzip`, `snappy`, `lz4`, `zstd`, all on by
//! default. Without one, a batch compressed with it is refused with
//! [`CodecError::CodecDisabled`] (reading) or [`CodecError::CompressionDisabled`] (writing),
//! naming the feature to enable; [`Compression::is_enabled`] says which are built in.
//!
//! # Example: encode a batch, decode it
//!
//! ```
//! use bytes::Bytes;
//! use kreplicate_codec::{
//!     Batch, Compression, Header, RecordBatchBuilder, RecordSet, RewriteFields, TimestampType,
//! };
//!
//! // Build a zstd batch of two records.
//! let mut builder = RecordBatchBuilder::new(Compression::Zstd);
//! builder.producer(7, 0, 100);
//! let headers = [
//!     Header::new("trace", Some(Bytes::from_static(b"a"))),
//!     Header::new("trace", None), // duplicate key, null value
//! ];
//! builder.push(1_700_000_000_000, Some(b"k1"), Some(b"v1"), &headers)?;
//! builder.push(1_700_000_000_005, None, Some(b""), &[])?;
//! let bytes = builder.build()?;
//!
//! // Parse it as a fetcher would, and read the records.
//! let set = RecordSet::new(bytes);
//! let mut batches = set.batches();
//! let Some(Ok(Batch::V2(batch))) = batches.next() else { panic!("one v2 batch") };
//! assert_eq!(batch.compression(), Compression::Zstd);
//! assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
//! assert_eq!((batch.base_offset(), batch.last_offset()), (0, 1));
//! let records = batch.records()?.collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(records[0].key.as_deref(), Some(&b"k1"[..]));
//! assert_eq!(records[0].headers, headers);
//! assert_eq!(records[1].key, None);
//! assert_eq!(records[1].value.as_deref(), Some(&b""[..]));
//! assert_eq!((records[1].offset, records[1].timestamp), (1, 1_700_000_000_005));
//!
//! // Move it to offset 500 without decompressing; the CRC stays valid.
//! let moved = batch.rewrite(RewriteFields { base_offset: Some(500), producer_id: Some(9), ..Default::default() });
//! let moved = kreplicate_codec::RecordBatch::new(moved)?;
//! assert_eq!((moved.base_offset(), moved.producer_id()), (500, 9));
//! assert_eq!(moved.records()?.next().transpose()?.map(|r| r.offset), Some(500));
//! # Ok::<(), kreplicate_codec::CodecError>(())
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rustdoc::broken_intra_doc_links
)]

mod batch;
mod builder;
mod compression;
mod control;
mod control_error;
mod error;
mod legacy;
mod legacy_length_error;
mod recompress;
mod record;
mod record_set;
mod record_view;
pub mod varint;

pub use batch::{RecordBatch, RewriteFields, TimestampType, RECORD_BATCH_HEADER_SIZE};
pub use builder::RecordBatchBuilder;
pub use compression::{Compression, DEFAULT_MAX_DECOMPRESSED_SIZE};
pub use control::{ControlKind, ControlRecord};
pub use control_error::ControlRecordError;
pub use error::CodecError;
pub use legacy::LegacyBatch;
pub use record::{Header, Record, Records};
pub use record_set::{Batch, Batches, RecordSet, TruncatedTail};
pub use record_view::{HeaderRef, HeaderRefs, RecordView, RecordViews};

// The README's example is compiled and run as a doc test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
