//! The records the harness writes: deterministic, JSON-like 1 KB-ish values that compress about
//! as well as real event payloads (not all-zero, not random), a key and one header each.

use bytes::Bytes;
use kreplicate_codec::Header;
use kreplicate_wire::producer::ProducerRecord;

/// Distinct values; far enough apart in a partition that LZ4's 64 KiB window never sees a
/// repeat.
const VALUE_POOL: usize = 8192;
/// Distinct keys (each exactly [`KEY_LEN`] bytes).
const KEYS: u64 = 997;
const KEY_LEN: usize = 12;
/// Header key "trace" + an 8-byte value.
const HEADER_LEN: usize = 5 + 8;

const WORDS: [&str; 64] = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "amber",
    "blue",
    "crimson",
    "denim",
    "ebony",
    "fern",
    "gold",
    "hazel",
    "ivory",
    "jade",
    "khaki",
    "lemon",
    "mauve",
    "navy",
    "olive",
    "peach",
    "quartz",
    "rose",
    "sand",
    "teal",
    "umber",
    "violet",
    "wheat",
    "yellow",
    "zinc",
    "apple",
    "berry",
    "cherry",
    "date",
    "elder",
    "fig",
    "grape",
    "honeydew",
    "kiwi",
    "lychee",
    "mango",
    "nectarine",
    "orange",
];

/// Generates the harness's records.
#[derive(Debug, Clone)]
pub struct Workload {
    values: Vec<Bytes>,
}

impl Workload {
    /// Values of exactly `value_size` bytes.
    pub fn new(value_size: usize) -> Self {
        Workload {
            values: (0..VALUE_POOL as u64)
                .map(|i| Bytes::from(value(i, value_size)))
                .collect(),
        }
    }

    /// Record number `i`, with CreateTime `timestamp` (`None`: the producer's clock).
    pub fn record(&self, i: u64, timestamp: Option<i64>) -> ProducerRecord {
        ProducerRecord {
            key: Some(Bytes::from(format!("customer-{:03}", i % KEYS))),
            value: Some(self.values[(i % VALUE_POOL as u64) as usize].clone()),
            headers: vec![Header::new(
                "trace",
                Some(Bytes::copy_from_slice(&i.to_be_bytes())),
            )],
            timestamp,
        }
    }

    /// Key + value + header bytes of every record: the "payload" MB/s are counted in.
    pub fn payload_len(&self) -> u64 {
        (KEY_LEN + self.values[0].len() + HEADER_LEN) as u64
    }
}

/// `{"order":i,"items":["word",…]}` padded to exactly `size` bytes with words picked by a
/// xorshift generator seeded with `i`.
fn value(i: u64, size: usize) -> Vec<u8> {
    let mut out = format!("{{\"order\":{i},\"items\":[").into_bytes();
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = WORDS[(state % WORDS.len() as u64) as usize];
        out.extend_from_slice(format!("\"{word}-{}\",", state % 1000).as_bytes());
    }
    out.truncate(size.saturating_sub(2));
    out.extend_from_slice(b"]}");
    out.truncate(size);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_the_announced_sizes() {
        let w = Workload::new(1024);
        for i in [0, 1, 996, 997, 8191, 8192, 1_000_000] {
            let r = w.record(i, Some(5));
            let key = r.key.as_ref().map_or(0, Bytes::len);
            let value = r.value.as_ref().map_or(0, Bytes::len);
            let header = r.headers[0].key.len() + r.headers[0].value.as_ref().map_or(0, Bytes::len);
            assert_eq!(
                (key, value, header),
                (KEY_LEN, 1024, HEADER_LEN),
                "record {i}"
            );
            assert_eq!((key + value + header) as u64, w.payload_len());
            assert_eq!(r.timestamp, Some(5));
        }
        assert_eq!(value(3, 16).len(), 16);
    }

    #[test]
    fn values_are_json_like_and_distinct() {
        let v = value(7, 1024);
        assert!(
            v.starts_with(b"{\"order\":7,\"items\":[\""),
            "{}",
            String::from_utf8_lossy(&v)
        );
        assert!(v.ends_with(b"]}"));
        assert_ne!(value(7, 1024), value(8, 1024));
        assert_eq!(value(7, 1024), v);
    }

    #[test]
    fn values_compress_like_text_not_like_zeros() {
        let data: Vec<u8> = (0..64).flat_map(|i| value(i, 1024)).collect();
        let ratio = data.len() as f64 / lz4_flex::block::compress(&data).len() as f64;
        assert!((1.3..4.0).contains(&ratio), "lz4 ratio {ratio:.2}");
    }
}
