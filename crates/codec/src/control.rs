//! Control records: the transaction markers (COMMIT / ABORT) brokers write in control batches.
//!
//! Key: `version i16 (0) | type i16` (0 = ABORT, 1 = COMMIT; KRaft metadata logs use more
//! types). Value of a marker: `version i16 (0) | coordinator_epoch i32` (later versions may
//! append fields, which are ignored).

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
    pub fn parse(key: &[u8], value: Option<&[u8]>) -> Result<ControlRecord, String> {
        let [kv0, kv1, t0, t1, ..] = *key else {
            return Err(format!("control key of {} bytes, need 4", key.len()));
        };
        let key_version = i16::from_be_bytes([kv0, kv1]);
        if key_version < 0 {
            return Err(format!("negative control key version {key_version}"));
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
            return Err("transaction marker has a null value".to_string());
        };
        let [vv0, vv1, e0, e1, e2, e3, ..] = *value else {
            return Err(format!(
                "transaction marker value of {} bytes, need 6",
                value.len()
            ));
        };
        let value_version = i16::from_be_bytes([vv0, vv1]);
        if value_version < 0 {
            return Err(format!(
                "negative transaction marker version {value_version}"
            ));
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
    fn unknown_types_are_kept() {
        let rec = ControlRecord::parse(&[0, 0, 0, 2], Some(b"leader change payload")).unwrap();
        assert_eq!(rec.kind, ControlKind::Unknown(2));
        assert_eq!(rec.coordinator_epoch, -1);
    }
}
