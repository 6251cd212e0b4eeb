//! The Kafka APIs this replicator's configuration uses on each cluster, and which of them the
//! cluster does not offer (librdkafka's mock cluster has no admin API, Tansu 0.6 no
//! CreatePartitions). What needs a missing API is logged once where it fails; the gap is also
//! exposed as `kreplicate_cluster_missing_api{cluster, api}` and in `Status::missing_apis`, so
//! `kreplicate status` names it.

use kreplicate_wire::admin::Admin;
use kreplicate_wire::client::Client;
use kreplicate_wire::Api;

use crate::cluster_client::Role;
use crate::config::ReplicatorConfig;
use crate::metrics::{Labels, ReplicatorMetrics};

/// The APIs the configuration uses on the cluster playing `role`, beyond the data path's.
pub(crate) fn needed(config: &ReplicatorConfig, role: Role) -> Vec<Api> {
    let flags = config.flags;
    let mut apis = Vec::new();
    match role {
        Role::Source => {
            if flags.copy_topic_configurations {
                apis.push(Api::DescribeConfigs);
            }
            if flags.copy_topic_acls {
                apis.push(Api::DescribeAcls);
            }
            if flags.sync_group_offsets {
                apis.extend([Api::ListGroups, Api::DescribeGroups, Api::OffsetFetch]);
            }
        }
        Role::Target => {
            apis.extend([Api::CreateTopics, Api::CreatePartitions]);
            if flags.copy_topic_configurations {
                apis.extend([Api::DescribeConfigs, Api::IncrementalAlterConfigs]);
            }
            if flags.copy_topic_acls {
                apis.extend([Api::DescribeAcls, Api::CreateAcls]);
            }
            if flags.sync_group_offsets {
                apis.extend([Api::DescribeGroups, Api::OffsetFetch, Api::OffsetCommit]);
            }
        }
    }
    apis
}

/// Sets `cluster_missing_api` for each of `apis` the cluster does not offer, and removes the
/// series of those it offers (again, after an upgrade). Nothing changes when the cluster
/// cannot be asked.
pub(crate) async fn expose_missing(
    client: &Client,
    cluster: &str,
    apis: &[Api],
    metrics: &ReplicatorMetrics,
) {
    let admin = Admin::new(client.clone());
    for api in apis {
        let labels = missing_api_labels(cluster, *api);
        let Ok(offered) = admin.supports(*api).await else {
            continue;
        };
        if offered {
            metrics.cluster_missing_api.remove(&labels);
        } else {
            metrics.cluster_missing_api.get_or_create(&labels).set(1);
        }
        metrics
            .board
            .set_missing_api(cluster, &format!("{api:?}"), !offered);
    }
}

/// `cluster` and `api` (its Kafka name, e.g. `ListGroups`) labels.
pub(crate) fn missing_api_labels(cluster: &str, api: Api) -> Labels {
    vec![
        ("cluster".into(), cluster.into()),
        ("api".into(), format!("{api:?}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_the_kafka_api_name() {
        assert_eq!(
            missing_api_labels("src", Api::ListGroups),
            vec![
                ("cluster".to_string(), "src".to_string()),
                ("api".to_string(), "ListGroups".to_string())
            ]
        );
    }
}
