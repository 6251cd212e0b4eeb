//! For `kreplicate plan`: the selected consumer groups' committed source offsets and what they
//! translate to on the target now, read without writing anything. Translation goes through the
//! offset maps a previous run saved on the target; before any run there are none, and a
//! position is unknown until its records are copied.

use kreplicate_offsets::OffsetMaps;
pub(crate) use kreplicate_offsets::Translation;
use kreplicate_wire::client::{Client, Error as ClientError};
use kreplicate_wire::group::GroupAdmin;

use super::commit_marker::is_marked;
use super::map_store::{read_offset_maps, OFFSET_MAP_TOPIC};
use crate::config::ReplicatorConfig;
use crate::provenance::ClusterFingerprint;

/// One committed source position of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedPosition {
    /// The topic on the source.
    pub(crate) source_topic: String,
    /// Its name on the target.
    pub(crate) target_topic: String,
    /// The partition.
    pub(crate) partition: i32,
    /// The group's committed offset on the source.
    pub(crate) source_offset: i64,
    /// The target position through the saved offset map; `None` without a map for the
    /// partition (nothing copied yet).
    pub(crate) translation: Option<Translation>,
}

/// A selected group and its positions on replicated topics (the replicator's own commits,
/// made by a reverse replicator, are left out as the sync leaves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedGroup {
    /// The group id.
    pub(crate) group: String,
    /// Its committed positions on replicated topics.
    pub(crate) positions: Vec<PlannedPosition>,
}

/// The groups offset sync would handle now (sorted), with their translations, and whether the
/// target holds saved offset maps at all (false before the first run).
pub(crate) async fn plan_groups(
    source: &Client,
    target: &Client,
    config: &ReplicatorConfig,
) -> Result<(Vec<PlannedGroup>, bool), ClientError> {
    let admin = GroupAdmin::new(source.clone());
    let mut groups: Vec<String> = admin
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .filter(|g| config.groups.selects(g))
        .collect();
    groups.sort();
    let maps = saved_maps(target, config).await?;
    let mut planned = Vec::new();
    for group in groups {
        let committed = admin.fetch_offsets(&group, None).await?;
        let positions = committed
            .into_iter()
            .filter(|((topic, _), offset)| {
                config.topics.selects(topic) && !is_marked(offset.metadata.as_deref())
            })
            .map(|((topic, partition), offset)| PlannedPosition {
                target_topic: config.target_topic(&topic),
                translation: maps
                    .as_ref()
                    .and_then(|m| m.source_to_target(&topic, partition, offset.offset)),
                source_topic: topic,
                partition,
                source_offset: offset.offset,
            })
            .collect();
        planned.push(PlannedGroup { group, positions });
    }
    Ok((planned, maps.is_some()))
}

/// The maps a previous run saved, if the target has the map topic; never creates it.
async fn saved_maps(
    target: &Client,
    config: &ReplicatorConfig,
) -> Result<Option<OffsetMaps>, ClientError> {
    let metadata = target
        .refresh_metadata(Some(&[OFFSET_MAP_TOPIC.to_string()]))
        .await?;
    if !metadata.topics.contains_key(OFFSET_MAP_TOPIC) {
        return Ok(None);
    }
    read_offset_maps(
        target,
        &config.name,
        ClusterFingerprint::of(&config.source.id),
    )
    .await
    .map(Some)
}
