//! ENHANCED offset sync in batch mode: where the reverse replicator's copies came from.
//!
//! In header mode a record that came from the target names its original's offset in its
//! provenance header. In batch mode it carries nothing: its batch's producer id says only that
//! the reverse replicator (target → source) wrote it. That replicator saves its offset maps on
//! its own target — our source — in `__kreplicate-offset-maps` (see [`super::map_store`]), so
//! the original's offset is the translation of the copy's offset through the reverse
//! replicator's saved map, once that map covers the copy.

use std::collections::HashMap;

use kreplicate_offsets::{OffsetMaps, Translation};
use kreplicate_wire::client::{Client, Error as ClientError};
use tokio::sync::Mutex;

use super::internal_topic::is_missing_topic;
use super::map_store::rebuild_offset_maps;
use crate::provenance::ClusterFingerprint;

/// The reverse replicators' saved maps, read from our source cluster as needed.
pub(crate) struct ReverseMaps {
    source: Client,
    /// By reverse replicator name: its maps as last read.
    maps: Mutex<HashMap<String, OffsetMaps>>,
}

/// One batch the reverse replicator wrote to our source.
pub(crate) struct ReverseCopy<'a> {
    /// The reverse replicator's name (from the producer registry).
    pub replicator: &'a str,
    /// Its source cluster: our target.
    pub origin: ClusterFingerprint,
    /// Its source topic: our target topic.
    pub topic: &'a str,
    pub partition: i32,
    /// The offsets of the copies on our source.
    pub offsets: &'a [i64],
}

impl ReverseMaps {
    pub(crate) fn new(source: Client) -> Self {
        ReverseMaps {
            source,
            maps: Mutex::new(HashMap::new()),
        }
    }

    /// The original's offset on our target for each of `copy.offsets`, when the reverse
    /// replicator's saved map covers them all (`None` until it does: the map is saved a little
    /// after the copy was acknowledged). The maps are read again when they do not cover them.
    pub(crate) async fn originals(
        &self,
        copy: &ReverseCopy<'_>,
    ) -> Result<Option<Vec<i64>>, ClientError> {
        let mut maps = self.maps.lock().await;
        if let Some(found) = maps.get(copy.replicator).and_then(|m| translate(m, copy)) {
            return Ok(Some(found));
        }
        let fresh = match rebuild_offset_maps(&self.source, copy.replicator, copy.origin).await {
            Ok(m) => m,
            Err(e) if is_missing_topic(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let found = translate(&fresh, copy);
        maps.insert(copy.replicator.to_string(), fresh);
        Ok(found)
    }
}

/// The originals of `copy.offsets` through `maps`, if it covers them all exactly.
fn translate(maps: &OffsetMaps, copy: &ReverseCopy<'_>) -> Option<Vec<i64>> {
    let map = maps.get(copy.topic, copy.partition)?;
    copy.offsets
        .iter()
        .map(|&o| {
            // The copy must be known to the map (below its target end) and be a copy, not a
            // foreign record: its translation is then its original exactly, and the next
            // offset translates past it.
            if o >= map.target_end() {
                return None;
            }
            match (map.target_to_source(o), map.target_to_source(o + 1)) {
                (Translation::Exact(s), Translation::Exact(next)) if next > s => Some(s),
                _ => None,
            }
        })
        .collect()
}
