//! Control records: the transaction markers (COMMIT / ABORT) brokers write in control batches.
//!
//! Key: `version i16 (0) | type i16` (0 = ABORT, 1 = COMMIT; KRaft metadata logs use more
//! types). Value of a marker: `version i16 (0) | coordinator_epoch i32` (later versions may
//! append fields, which are ignored).

use crate::control_error::ControlRecordError;

/// What a control record marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlKind {
    /// Transaction aborted (type 0).
    Abort,
    /// Transaction committed (type 1).
    Commit,
    /// Another control type (e.g. KRaft's LEADER_CHANGE = 2); its value is not decoded.
    Unknown(i16),
}

impl ControlKind {
    /// The type id in the control record key.
    pub fn type_id(self) -> i16 {
        match self {
            ControlKind::Abort => 0,
            ControlKind::Commit => 1,
            ControlKind::Unknown(t) => t,
        }
    }
}

/// A decoded control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlRecord {
    /// Commit, abort or another control type.
    pub kind: ControlKind,
    /// Epoch of the transaction coordinator that wrote the marker (-1 for unknown kinds).
    pub coordinator_epoch: i32,
}

impl ControlRecord {
    /// Decodes a control record from its key and value; the error says what is wrong.
    pub fn parse(key: &[u8], value: Option<&[u8]>) -> Result<ControlRecord, ControlRecordError> {
        let [kv0, kv1, t0, t1, ..] = *key else {
            return Err(ControlRecordError::KeyTooShort { len: key.len() });
        };
        let key_version = i16::from_be_bytes([kv0, kv1]);
        if key_version < 0 {
            return Err(ControlRecordError::NegativeKeyVersion {
                version: key_version,
            });
        }
        let kind = match i16::from_be_bytes([t0, t1]) {
            0 => ControlKind::Abort,
            1 => ControlKind::Commit,
            t => ControlKind::Unknown(t),
        };
        if let ControlKind::Unknown(_) = kind {
            return Ok(ControlRecord {
                kind,
                coordinator_epoch: -1,
            });
        }
        let Some(value) = value else {
            return Err(ControlRecordError::NullMarkerValue);
        };
        let [vv0, vv1, e0, e1, e2, e3, ..] = *value else {
            return Err(ControlRecordError::MarkerValueTooShort { len: value.len() });
        };
        let value_version = i16::from_be_bytes([vv0, vv1]);
        if value_version < 0 {
            return Err(ControlRecordError::NegativeMarkerVersion {
                version: value_version,
            });
        }
        Ok(ControlRecord {
            kind,
            coordinator_epoch: i32::from_be_bytes([e0, e1, e2, e3]),
        })
    }

    /// The record key: version 0 and the type id.
    pub fn encode_key(&self) -> [u8; 4] {
        let t = self.kind.type_id().to_be_bytes();
        [0, 0, t[0], t[1]]
    }

    /// The record value of a transaction marker: version 0 and the coordinator epoch.
    pub fn encode_value(&self) -> [u8; 6] {
        let e = self.coordinator_epoch.to_be_bytes();
        [0, 0, e[0], e[1], e[2], e[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_abort_round_trip() {
        for kind in [ControlKind::Commit, ControlKind::Abort] {
            let rec = ControlRecord {
                kind,
                coordinator_epoch: 0x0102_0304,
            };
            let key = rec.encode_key();
            let value = rec.encode_value();
            assert_eq!(ControlRecord::parse(&key, Some(&value)), Ok(rec));
        }
        assert_eq!(
            ControlRecord {
                kind: ControlKind::Commit,
                coordinator_epoch: 7
            }
            .encode_key(),
            [0, 0, 0, 1]
        );
    }

    #[test]
    fn malformed_keys_and_values_are_errors() {
        assert!(ControlRecord::parse(&[0, 0, 0], Some(&[0; 6])).is_err());
        assert!(ControlRecord::parse(&[0xff, 0xff, 0, 1], Some(&[0; 6])).is_err());
        assert!(ControlRecord::parse(&[0, 0, 0, 1], None).is_err());
        assert!(ControlRecord::parse(&[0, 0, 0, 1], Some(&[0, 0, 1])).is_err());
    }

    #[test]
    fn each_malformation_is_its_own_error_with_its_text() {
        let check = |key: &[u8], value: Option<&[u8]>, error, text: &str| {
            assert_eq!(ControlRecord::parse(key, value), Err(error));
            assert_eq!(error.to_string(), text);
        };
        check(
            &[0, 0, 0],
            Some(&[0; 6]),
            ControlRecordError::KeyTooShort { len: 3 },
            "control key of 3 bytes, need 4",
        );
        check(
            &[0xff, 0xfe, 0, 1],
            Some(&[0; 6]),
            ControlRecordError::NegativeKeyVersion { version: -2 },
            "negative control key version -2",
        );
        check(
            &[0, 0, 0, 0],
            None,
            ControlRecordError::NullMarkerValue,
            "transaction marker has a null value",
        );
        check(
            &[0, 0, 0, 1],
            Some(&[0, 0, 1]),
            ControlRecordError::MarkerValueTooShort { len: 3 },
            "transaction marker value of 3 bytes, need 6",
        );
        check(
            &[0, 0, 0, 1],
            Some(&[0x80, 0, 0, 0, 0, 0]),
            ControlRecordError::NegativeMarkerVersion { version: i16::MIN },
            "negative transaction marker version -32768",
        );
    }

    #[test]
    fn unknown_types_are_kept() {
        let rec = ControlRecord::parse(&[0, 0, 0, 2], Some(b"leader change payload")).unwrap();
        assert_eq!(rec.kind, ControlKind::Unknown(2));
        assert_eq!(rec.coordinator_epoch, -1);
    }
}
