//! Checks a parsed request for meaning and builds the [`ReplicatorConfig`].
//! The first problem found is returned, naming its path in PascalCase.

use super::arn::Arn;
use super::cluster::{ClientAuthentication, KafkaCluster};
use super::error::ConfigError;
use super::listener_prefix::split_listener_prefix;
use super::naming::TopicNaming;
use super::replication_info::{OffsetSyncMode, ReplicationInfo};
use super::replicator_config::{
    ClusterAuth, ClusterConfig, ReplicationFlags, ReplicatorConfig, TlsSettings,
};
use super::request::CreateReplicatorRequest;
use super::secret::SecretRef;
use super::selection::{GroupSelection, TopicSelection};

const MAX_NAME_LEN: usize = 128;
const MAX_DESCRIPTION_LEN: usize = 1024;
/// Validity of an MSK IAM token: the signer libraries' DEFAULT_TOKEN_EXPIRY_SECONDS.
const MSK_IAM_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);

impl CreateReplicatorRequest {
    /// Checks the request against MSK's rules (and kreplicate's: clusters
    /// must be reachable by bootstrap address) and resolves it for the
    /// engine. Secrets are parsed as references but not read.
    pub fn validate(&self) -> Result<ReplicatorConfig, ConfigError> {
        check_name(&self.replicator_name)?;
        if let Some(description) = &self.description {
            let len = description.chars().count();
            if len > MAX_DESCRIPTION_LEN {
                return Err(ConfigError::new(
                    "Description",
                    format!("is {len} characters long; at most {MAX_DESCRIPTION_LEN} are allowed"),
                ));
            }
        }

        if self.kafka_clusters.len() != 2 {
            return Err(ConfigError::new(
                "KafkaClusters",
                format!(
                    "expected exactly 2 clusters (the source and the target), found {}",
                    self.kafka_clusters.len()
                ),
            ));
        }
        let clusters = self
            .kafka_clusters
            .iter()
            .enumerate()
            .map(|(i, c)| cluster_config(&format!("KafkaClusters[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;
        if clusters[0].id == clusters[1].id {
            return Err(ConfigError::new(
                "KafkaClusters[1].ApacheKafkaCluster.ApacheKafkaClusterId",
                format!(
                    "{:?} is also the id of KafkaClusters[0]; the two clusters must have different ids",
                    clusters[1].id
                ),
            ));
        }

        let [info] = self.replication_info_list.as_slice() else {
            return Err(ConfigError::new(
                "ReplicationInfoList",
                format!(
                    "expected exactly 1 element, found {}",
                    self.replication_info_list.len()
                ),
            ));
        };
        replicator_config(self, info, "ReplicationInfoList[0]", clusters)
    }
}

fn replicator_config(
    request: &CreateReplicatorRequest,
    info: &ReplicationInfo,
    path: &str,
    clusters: Vec<ClusterConfig>,
) -> Result<ReplicatorConfig, ConfigError> {
    let source = cluster_reference(
        path,
        "Source",
        info.source_kafka_cluster_arn.as_deref(),
        info.source_kafka_cluster_id.as_deref(),
        &clusters,
    )?;
    let target = cluster_reference(
        path,
        "Target",
        info.target_kafka_cluster_arn.as_deref(),
        info.target_kafka_cluster_id.as_deref(),
        &clusters,
    )?;
    if source == target {
        let field = if info.target_kafka_cluster_id.is_some() {
            "TargetKafkaClusterId"
        } else {
            "TargetKafkaClusterArn"
        };
        return Err(ConfigError::new(
            format!("{path}.{field}"),
            format!(
                "the target is the source cluster ({:?}); replicate between two different clusters",
                clusters[source].id
            ),
        ));
    }

    let topic_path = format!("{path}.TopicReplication");
    let topic_replication = &info.topic_replication;
    if topic_replication.topics_to_replicate.is_empty() {
        return Err(ConfigError::new(
            format!("{topic_path}.TopicsToReplicate"),
            "is empty; list at least one pattern (\".*\" selects every topic)",
        ));
    }
    let topics = TopicSelection::at(
        &format!("{topic_path}.TopicsToReplicate"),
        &format!("{topic_path}.TopicsToExclude"),
        &topic_replication.topics_to_replicate,
        &topic_replication.topics_to_exclude,
    )?;
    let group_path = format!("{path}.ConsumerGroupReplication");
    let group_replication = &info.consumer_group_replication;
    let groups = GroupSelection::at(
        &format!("{group_path}.ConsumerGroupsToReplicate"),
        &format!("{group_path}.ConsumerGroupsToExclude"),
        &group_replication.consumer_groups_to_replicate,
        &group_replication.consumer_groups_to_exclude,
    )?;

    let naming = topic_replication.topic_name_configuration.r#type;
    let offset_sync_mode = group_replication.consumer_group_offset_sync_mode;
    if offset_sync_mode == OffsetSyncMode::Enhanced && naming != TopicNaming::Identical {
        return Err(ConfigError::new(
            format!("{group_path}.ConsumerGroupOffsetSyncMode"),
            format!(
                "ENHANCED requires {topic_path}.TopicNameConfiguration.Type IDENTICAL (as MSK does), but topic naming is {} (the default when TopicNameConfiguration is absent); set IDENTICAL or use LEGACY",
                naming.as_str()
            ),
        ));
    }

    // Cluster order in the request is arbitrary; take them out by role.
    let Ok([first, second]) = <[ClusterConfig; 2]>::try_from(clusters) else {
        return Err(ConfigError::new(
            "KafkaClusters",
            "expected exactly 2 clusters",
        ));
    };
    let (source, target) = if source == 0 {
        (first, second)
    } else {
        (second, first)
    };
    if naming == TopicNaming::PrefixedWithSourceClusterAlias {
        check_alias_usable_in_topic_names(&source)?;
    }

    Ok(ReplicatorConfig {
        name: request.replicator_name.clone(),
        description: request.description.clone(),
        source,
        target,
        topics,
        groups,
        compression: info.target_compression_type,
        starting_position: topic_replication.starting_position.r#type,
        naming,
        flags: ReplicationFlags {
            copy_topic_configurations: topic_replication.copy_topic_configurations,
            copy_topic_acls: topic_replication.copy_access_control_lists_for_topics,
            detect_new_topics: topic_replication.detect_and_copy_new_topics,
            sync_group_offsets: group_replication.synchronise_consumer_group_offsets,
            detect_new_groups: group_replication.detect_and_copy_new_consumer_groups,
        },
        offset_sync_mode,
    })
}

/// `^[0-9A-Za-z][0-9A-Za-z-]{0,}$`, 1..=128 characters.
fn check_name(name: &str) -> Result<(), ConfigError> {
    let len = name.chars().count();
    if !(1..=MAX_NAME_LEN).contains(&len) {
        return Err(ConfigError::new(
            "ReplicatorName",
            format!("{name:?} is {len} characters long; 1 to {MAX_NAME_LEN} are allowed"),
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ConfigError::new(
            "ReplicatorName",
            format!(
                "{name:?} does not match ^[0-9A-Za-z][0-9A-Za-z-]{{0,}}$ (ASCII letters, digits and '-', not starting with '-')"
            ),
        ));
    }
    Ok(())
}

/// One `KafkaClusters` element to a [`ClusterConfig`].
fn cluster_config(path: &str, cluster: &KafkaCluster) -> Result<ClusterConfig, ConfigError> {
    let apache = match (&cluster.amazon_msk_cluster, &cluster.apache_kafka_cluster) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                path,
                "give exactly one of AmazonMskCluster and ApacheKafkaCluster, not both",
            ))
        }
        (None, None) => {
            return Err(ConfigError::new(
                path,
                "give exactly one of AmazonMskCluster and ApacheKafkaCluster; neither is set",
            ))
        }
        (Some(msk), None) => return msk_cluster_config(path, &msk.msk_cluster_arn, cluster),
        (None, Some(apache)) => apache,
    };

    let id_path = format!("{path}.ApacheKafkaCluster.ApacheKafkaClusterId");
    if apache.apache_kafka_cluster_id.trim().is_empty() {
        return Err(ConfigError::new(
            id_path,
            "is empty; give the cluster's Kafka cluster id",
        ));
    }
    let bootstrap = bootstrap_brokers(
        &format!("{path}.ApacheKafkaCluster.BootstrapBrokerString"),
        &apache.bootstrap_broker_string,
    )?;

    let auth = match &cluster.client_authentication {
        None => None,
        Some(auth) => Some(client_auth(&format!("{path}.ClientAuthentication"), auth)?),
    };
    let tls = match &cluster.encryption_in_transit {
        Some(encryption) => Some(TlsSettings {
            root_ca: encryption
                .root_ca_certificate
                .as_deref()
                .map(|r| secret_ref(&format!("{path}.EncryptionInTransit.RootCaCertificate"), r))
                .transpose()?,
        }),
        // A client certificate is only ever presented over TLS.
        None if matches!(auth, Some(ClusterAuth::MutualTls { .. })) => Some(TlsSettings::default()),
        None => None,
    };

    Ok(ClusterConfig {
        id: apache.apache_kafka_cluster_id.clone(),
        alias: apache.apache_kafka_cluster_id.clone(),
        bootstrap,
        auth,
        tls,
        msk_cluster_arn: None,
    })
}

/// An `AmazonMskCluster`: brokers found later (GetBootstrapBrokers or `--msk-bootstrap`),
/// always TLS, IAM authentication unless ClientAuthentication says SCRAM or mTLS (as MSK
/// Replicator does: the guide gives none for its MSK target).
fn msk_cluster_config(
    path: &str,
    arn: &str,
    cluster: &KafkaCluster,
) -> Result<ClusterConfig, ConfigError> {
    let parsed = Arn::msk_cluster(arn).map_err(|e| {
        ConfigError::new(
            format!("{path}.AmazonMskCluster.MskClusterArn"),
            e.to_string(),
        )
    })?;
    let auth = match &cluster.client_authentication {
        None => ClusterAuth::MskIam {
            region: parsed.region.clone(),
            token_lifetime: MSK_IAM_TOKEN_LIFETIME,
        },
        Some(auth) => client_auth(&format!("{path}.ClientAuthentication"), auth)?,
    };
    let root_ca = cluster
        .encryption_in_transit
        .as_ref()
        .and_then(|e| e.root_ca_certificate.as_deref())
        .map(|r| secret_ref(&format!("{path}.EncryptionInTransit.RootCaCertificate"), r))
        .transpose()?;
    Ok(ClusterConfig {
        id: arn.to_owned(),
        // MSK Replicator's alias is generated; the cluster name is the readable stand-in.
        alias: parsed.cluster_name().unwrap_or("msk").to_owned(),
        bootstrap: Vec::new(),
        auth: Some(auth),
        tls: Some(TlsSettings { root_ca }),
        msk_cluster_arn: Some(arn.to_owned()),
    })
}

fn client_auth(path: &str, auth: &ClientAuthentication) -> Result<ClusterAuth, ConfigError> {
    match (&auth.sasl_scram, &auth.mtls) {
        (Some(scram), None) => Ok(ClusterAuth::SaslScram {
            mechanism: scram.mechanism,
            secret: secret_ref(&format!("{path}.SaslScram.SecretArn"), &scram.secret_arn)?,
        }),
        (None, Some(mtls)) => Ok(ClusterAuth::MutualTls {
            secret: secret_ref(&format!("{path}.MTLS.SecretArn"), &mtls.secret_arn)?,
        }),
        (Some(_), Some(_)) => Err(ConfigError::new(
            path,
            "give exactly one of SaslScram and MTLS, not both",
        )),
        (None, None) => Err(ConfigError::new(
            path,
            "give exactly one of SaslScram and MTLS (or leave ClientAuthentication out to connect unauthenticated)",
        )),
    }
}

fn secret_ref(path: &str, reference: &str) -> Result<SecretRef, ConfigError> {
    SecretRef::parse(reference).map_err(|e| ConfigError::new(path, e.to_string()))
}

/// Splits `host:port,host:port`, trimming each entry and skipping empty
/// ones (a trailing comma is harmless).
fn bootstrap_brokers(path: &str, value: &str) -> Result<Vec<String>, ConfigError> {
    let brokers: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        // A listener prefix is dropped; `notices` says so.
        .map(|s| split_listener_prefix(s).map_or(s, |(_, rest)| rest))
        .map(str::to_owned)
        .collect();
    if brokers.is_empty() {
        return Err(ConfigError::new(
            path,
            format!("{value:?} lists no brokers; give host:port[,host:port…]"),
        ));
    }
    for broker in &brokers {
        let bad = |why: &str| {
            ConfigError::new(
                path,
                format!("{broker:?} in {value:?} is not host:port ({why}), e.g. \"broker1:9092\""),
            )
        };
        let Some((host, port)) = broker.rsplit_once(':') else {
            return Err(bad("no port"));
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err(bad("write an IPv6 address in brackets, as [::1]:9092"));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        }
    }
    Ok(brokers)
}

/// Resolves `{Source,Target}KafkaCluster{Arn,Id}` to an index into
/// `clusters`: an ARN names an AmazonMskCluster, an Id an ApacheKafkaCluster.
fn cluster_reference(
    path: &str,
    role: &str,
    arn: Option<&str>,
    id: Option<&str>,
    clusters: &[ClusterConfig],
) -> Result<usize, ConfigError> {
    let known = clusters
        .iter()
        .map(|c| format!("{:?}", c.id))
        .collect::<Vec<_>>()
        .join(", ");
    match (arn, id) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            format!("{path}.{role}KafkaClusterArn"),
            format!("give either {role}KafkaClusterArn or {role}KafkaClusterId, not both"),
        )),
        (None, None) => Err(ConfigError::new(
            path,
            format!(
                "missing {role}KafkaClusterId: name the {} cluster by its ApacheKafkaClusterId (one of {known})",
                role.to_lowercase()
            ),
        )),
        (Some(arn), None) => clusters
            .iter()
            .position(|c| c.msk_cluster_arn.as_deref() == Some(arn))
            .ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.{role}KafkaClusterArn"),
                    format!(
                        "{arn:?} matches no AmazonMskCluster.MskClusterArn in KafkaClusters (they are {known})"
                    ),
                )
            }),
        (None, Some(id)) => clusters.iter().position(|c| c.id == id).ok_or_else(|| {
            ConfigError::new(
                format!("{path}.{role}KafkaClusterId"),
                format!(
                    "{id:?} matches no ApacheKafkaCluster.ApacheKafkaClusterId in KafkaClusters (they are {known})"
                ),
            )
        }),
    }
}

/// PREFIXED target names are `<alias>.<topic>`, so the alias must consist
/// of characters Kafka allows in topic names.
fn check_alias_usable_in_topic_names(source: &ClusterConfig) -> Result<(), ConfigError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if source.alias.chars().all(legal) {
        return Ok(());
    }
    Err(ConfigError::new(
        "ReplicationInfoList[0].TopicReplication.TopicNameConfiguration.Type",
        format!(
            "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS names target topics \"<source id>.<topic>\", but the source id {:?} has characters Kafka does not allow in topic names (only ASCII letters, digits, '.', '_' and '-'); use IDENTICAL or the cluster's real Kafka cluster id",
            source.alias
        ),
    ))
}
