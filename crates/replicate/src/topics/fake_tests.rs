//! Topic metadata sync against scripted fake brokers, for what Tansu cannot do: ACLs
//! (DescribeAcls/CreateAcls), CreatePartitions, Kafka's way of reporting config sources, and
//! old brokers without CreateTopics v4. Each fake cluster keeps its topics, ACLs and configs in
//! memory and applies the requests it gets, so repeated syncs see their own effects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::{
    parse_create_replicator_request, ReplicatorConfig, TopicNaming, TopicSelection,
};
use crate::metrics::{topic_labels, ReplicatorMetrics};
use crate::topics::{
    ConfigChange, PartitionGrowth, ReplicatedTopic, ReplicationFactor, TopicSync, TopicSyncOptions,
    TopicToCreate,
};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateAclsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DescribeAclsResponse, DescribeClusterResponse,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    MetadataRequest, MetadataResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{default_api_versions, FakeBroker, FakeReply};
use kreplicate_wire::admin::{AclBinding, Operation, PatternType, Permission, ResourceType};
use kreplicate_wire::client::{Client, ClientConfig};

const NODE: i32 = 1;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const SECURITY_DISABLED: i16 = 54;
const POLICY_VIOLATION: i16 = 44;

/// DescribeConfigs sources.
const DYNAMIC_TOPIC: i8 = 1;
const STATIC_BROKER: i8 = 4;
const DEFAULT: i8 = 5;

/// One config as the fake's DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    value: String,
    source: i8,
}

/// What a fake cluster holds.
#[derive(Debug, Default)]
struct State {
    topics: BTreeMap<String, i32>,
    acls: Vec<AclBinding>,
    /// Error code DescribeAcls answers with (0: the ACLs).
    describe_acls_error: i16,
    /// Error code (and message) CreatePartitions answers with (0: grows the topic).
    create_partitions_error: Option<(i16, String)>,
    /// Topic → its configs, as a complete Kafka listing (set ones DYNAMIC_TOPIC_CONFIG).
    configs: BTreeMap<String, BTreeMap<String, Config>>,
    /// Config names IncrementalAlterConfigs refuses with POLICY_VIOLATION, the whole resource
    /// then left unchanged (as a managed service's alter policy does).
    refused_configs: BTreeSet<String>,
    /// Config names IncrementalAlterConfigs refuses with POLICY_VIOLATION when a resource
    /// changes all of them at once (each alone is accepted).
    refused_together: BTreeSet<String>,
    /// What DescribeCluster reports as this principal's authorized operations on the cluster
    /// (KIP-430 bit field); `None`: the fake's default answer, which reports none.
    cluster_operations: Option<i32>,
}

/// A fake cluster that applies CreateTopics, CreatePartitions, CreateAcls and
/// IncrementalAlterConfigs to its [`State`] and answers Metadata, DescribeAcls and
/// DescribeConfigs from it.
struct FakeCluster {
    broker: FakeBroker,
    state: Arc<Mutex<State>>,
    id: String,
}

impl FakeCluster {
    fn start(id: &str, state: State) -> Self {
        Self::start_with_versions(id, state, default_api_versions())
    }

    fn start_with_versions(id: &str, state: State, versions: Vec<ApiVersion>) -> Self {
        let state = Arc::new(Mutex::new(state));
        let port = Arc::new(OnceLock::new());
        let options = kreplicate_testkit::fake_broker::FakeBrokerOptions {
            node_id: NODE,
            cluster_id: id.to_string(),
            topics: Vec::new(),
            api_versions: versions,
        };
        let handler_state = state.clone();
        let handler_port = port.clone();
        let broker = FakeBroker::start_with(options, move |_, request| {
            let mut state = handler_state.lock().unwrap();
            let port = *handler_port.get().unwrap_or(&0);
            match answer(&mut state, port, request) {
                Some(response) => FakeReply::Respond(response),
                None => FakeReply::Default,
            }
        })
        .unwrap();
        port.set(broker.port()).unwrap();
        FakeCluster {
            broker,
            state,
            id: id.to_string(),
        }
    }

    async fn client(&self) -> Client {
        Client::connect(ClientConfig::from_bootstrap_string(&self.broker.addr()).unwrap())
            .await
            .unwrap()
    }

    fn requests(&self, api: ApiKey) -> Vec<RequestKind> {
        self.broker
            .requests_for(api)
            .into_iter()
            .map(|r| r.request.expect("a decodable request"))
            .collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn answer(state: &mut State, port: u16, request: RequestKind) -> Option<ResponseKind> {
    Some(match request {
        RequestKind::Metadata(req) => ResponseKind::Metadata(metadata(state, port, &req)),
        RequestKind::CreateTopics(req) => ResponseKind::CreateTopics(create_topics(state, &req)),
        RequestKind::CreatePartitions(req) => {
            ResponseKind::CreatePartitions(create_partitions(state, &req))
        }
        RequestKind::DescribeAcls(_) => {
            let mut response =
                DescribeAclsResponse::default().with_error_code(state.describe_acls_error);
            if state.describe_acls_error == 0 {
                // Deliberately unfiltered: the client must apply the copy rules itself.
                response.resources = state
                    .acls
                    .iter()
                    .map(|a| {
                        DescribeAclsResource::default()
                            .with_resource_type(a.resource_type.code())
                            .with_resource_name(s(&a.resource_name))
                            .with_pattern_type(a.pattern_type.code())
                            .with_acls(vec![AclDescription::default()
                                .with_principal(s(&a.principal))
                                .with_host(s(&a.host))
                                .with_operation(a.operation.code())
                                .with_permission_type(a.permission.code())])
                    })
                    .collect();
            }
            ResponseKind::DescribeAcls(response)
        }
        RequestKind::CreateAcls(req) => {
            let mut results = Vec::new();
            for c in req.creations {
                state.acls.push(AclBinding {
                    resource_type: ResourceType::from_code(c.resource_type).unwrap(),
                    resource_name: c.resource_name.to_string(),
                    pattern_type: PatternType::from_code(c.resource_pattern_type).unwrap(),
                    principal: c.principal.to_string(),
                    host: c.host.to_string(),
                    operation: Operation::from_code(c.operation).unwrap(),
                    permission: Permission::from_code(c.permission_type).unwrap(),
                });
                results.push(AclCreationResult::default());
            }
            ResponseKind::CreateAcls(CreateAclsResponse::default().with_results(results))
        }
        RequestKind::DescribeConfigs(req) => {
            let results = req
                .resources
                .iter()
                .map(|r| {
                    let result = DescribeConfigsResult::default()
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone());
                    match state.configs.get(r.resource_name.as_str()) {
                        None => result.with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                        Some(configs) => result.with_configs(
                            configs
                                .iter()
                                .map(|(name, c)| {
                                    DescribeConfigsResourceResult::default()
                                        .with_name(s(name))
                                        .with_value(Some(s(&c.value)))
                                        .with_config_source(c.source)
                                })
                                .collect(),
                        ),
                    }
                })
                .collect();
            ResponseKind::DescribeConfigs(DescribeConfigsResponse::default().with_results(results))
        }
        RequestKind::IncrementalAlterConfigs(req) => {
            ResponseKind::IncrementalAlterConfigs(alter_configs(state, &req))
        }
        RequestKind::DescribeCluster(req) if state.cluster_operations.is_some() => {
            assert!(req.include_cluster_authorized_operations);
            ResponseKind::DescribeCluster(
                DescribeClusterResponse::default()
                    .with_cluster_authorized_operations(state.cluster_operations.unwrap()),
            )
        }
        _ => return None,
    })
}

fn metadata(state: &State, port: u16, req: &MetadataRequest) -> MetadataResponse {
    let node = BrokerId(NODE);
    let topic = |name: &str| match state.topics.get(name) {
        Some(&partitions) => MetadataResponseTopic::default()
            .with_name(Some(TopicName(s(name))))
            .with_partitions(
                (0..partitions)
                    .map(|p| {
                        MetadataResponsePartition::default()
                            .with_partition_index(p)
                            .with_leader_id(node)
                            .with_replica_nodes(vec![node])
                            .with_isr_nodes(vec![node])
                    })
                    .collect(),
            ),
        None => MetadataResponseTopic::default()
            .with_name(Some(TopicName(s(name))))
            .with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
    };
    let topics = match &req.topics {
        None => state.topics.keys().map(|n| topic(n)).collect(),
        Some(wanted) => wanted
            .iter()
            .filter_map(|w| w.name.as_ref())
            .map(|n| topic(n.0.as_str()))
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(s("127.0.0.1"))
            .with_port(i32::from(port))])
        .with_controller_id(node)
        .with_topics(topics)
}

fn create_topics(state: &mut State, req: &CreateTopicsRequest) -> CreateTopicsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let result = CreatableTopicResult::default().with_name(t.name.clone());
            if state.topics.contains_key(&name) {
                return result.with_error_code(TOPIC_ALREADY_EXISTS);
            }
            // Kafka checks a new topic's configs against its policy before creating it.
            if let Some(c) = t
                .configs
                .iter()
                .find(|c| state.refused_configs.contains(c.name.as_str()))
            {
                return result
                    .with_error_code(POLICY_VIOLATION)
                    .with_error_message(Some(s(&format!("{} is not allowed", c.name.as_str()))));
            }
            // Kafka's validate_only (CreateTopics v1+): checked, not created.
            if req.validate_only {
                return result;
            }
            state.topics.insert(name.clone(), t.num_partitions);
            let configs = t
                .configs
                .iter()
                .filter_map(|c| {
                    let value = c.value.as_ref()?.to_string();
                    Some((
                        c.name.to_string(),
                        Config {
                            value,
                            source: DYNAMIC_TOPIC,
                        },
                    ))
                })
                .collect();
            state.configs.insert(name, kafka_listing(configs));
            result
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

fn create_partitions(state: &mut State, req: &CreatePartitionsRequest) -> CreatePartitionsResponse {
    let results = req
        .topics
        .iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match &state.create_partitions_error {
                Some((code, message)) => result
                    .with_error_code(*code)
                    .with_error_message(Some(s(message))),
                None => {
                    state.topics.insert(t.name.0.to_string(), t.count);
                    result
                }
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

fn alter_configs(
    state: &mut State,
    req: &IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            if let Some(c) = r
                .configs
                .iter()
                .find(|c| state.refused_configs.contains(c.name.as_str()))
            {
                return AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
                    .with_error_code(POLICY_VIOLATION)
                    .with_error_message(Some(s(&format!(
                        "altering {} is not allowed",
                        c.name.as_str()
                    ))));
            }
            let together = !state.refused_together.is_empty()
                && state
                    .refused_together
                    .iter()
                    .all(|name| r.configs.iter().any(|c| c.name.as_str() == name));
            if together {
                return AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
                    .with_error_code(POLICY_VIOLATION)
                    .with_error_message(Some(s("these changes are not allowed together")));
            }
            // Kafka's validate_only: checked, not applied.
            if req.validate_only {
                return AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone());
            }
            let configs = state
                .configs
                .entry(r.resource_name.to_string())
                .or_default();
            for c in &r.configs {
                let name = c.name.to_string();
                match (c.config_operation, &c.value) {
                    (0, Some(v)) => {
                        configs.insert(
                            name,
                            Config {
                                value: v.to_string(),
                                source: DYNAMIC_TOPIC,
                            },
                        );
                    }
                    (1, _) => {
                        configs.insert(
                            name,
                            Config {
                                value: "default".into(),
                                source: DEFAULT,
                            },
                        );
                    }
                    other => panic!("unexpected alter operation {other:?}"),
                }
            }
            AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// A complete Kafka-style listing: every usual topic config at its default, a static broker
/// override of `segment.bytes`, and `set` as DYNAMIC_TOPIC_CONFIG.
fn kafka_listing(set: BTreeMap<String, Config>) -> BTreeMap<String, Config> {
    let mut all: BTreeMap<String, Config> = [
        "cleanup.policy",
        "compression.type",
        "max.message.bytes",
        "min.insync.replicas",
        "retention.bytes",
        "retention.ms",
        "segment.ms",
    ]
    .iter()
    .map(|k| {
        (
            k.to_string(),
            Config {
                value: "default".into(),
                source: DEFAULT,
            },
        )
    })
    .collect();
    all.insert(
        "segment.bytes".into(),
        Config {
            value: "1073741824".into(),
            source: STATIC_BROKER,
        },
    );
    all.extend(set);
    all
}

fn dynamic(pairs: &[(&str, &str)]) -> BTreeMap<String, Config> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Config {
                    value: v.to_string(),
                    source: DYNAMIC_TOPIC,
                },
            )
        })
        .collect()
}

fn topics(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

fn config(
    source: &FakeCluster,
    target: &FakeCluster,
    include: &[&str],
    naming: TopicNaming,
) -> ReplicatorConfig {
    let json = format!(
        r#"{{
          "ReplicatorName": "fake",
          "KafkaClusters": [
            {{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{sid}", "BootstrapBrokerString": "{saddr}"}}}},
            {{"ApacheKafkaCluster": {{"ApacheKafkaClusterId": "{tid}", "BootstrapBrokerString": "{taddr}"}}}}
          ],
          "ReplicationInfoList": [{{
            "SourceKafkaClusterId": "{sid}", "TargetKafkaClusterId": "{tid}",
            "TargetCompressionType": "NONE",
            "TopicReplication": {{"TopicsToReplicate": [".*"]}},
            "ConsumerGroupReplication": {{"ConsumerGroupsToReplicate": []}}
          }}]
        }}"#,
        sid = source.id,
        saddr = source.broker.addr(),
        tid = target.id,
        taddr = target.broker.addr(),
    );
    let mut config = parse_create_replicator_request(&json)
        .unwrap()
        .value
        .validate()
        .unwrap();
    let include: Vec<String> = include.iter().map(|s| s.to_string()).collect();
    config.topics = TopicSelection::new(&include, &[]).unwrap();
    config.naming = naming;
    config.source.alias = "src".into();
    config.flags.copy_topic_configurations = false;
    config.flags.copy_topic_acls = false;
    config.flags.detect_new_topics = true;
    config
}

async fn topic_sync(
    source: &FakeCluster,
    target: &FakeCluster,
    config: ReplicatorConfig,
    options: TopicSyncOptions,
) -> (TopicSync, Arc<ReplicatorMetrics>) {
    let metrics = Arc::new(ReplicatorMetrics::new());
    let sync = TopicSync::with_options(
        source.client().await,
        target.client().await,
        Arc::new(config),
        metrics.clone(),
        options,
    );
    (sync, metrics)
}

fn replicated(list: &[(&str, &str, i32)]) -> Vec<ReplicatedTopic> {
    list.iter()
        .map(|(s, t, p)| ReplicatedTopic {
            source: s.to_string(),
            target: t.to_string(),
            partitions: *p,
        })
        .collect()
}

async fn sync_ok(sync: &mut TopicSync) -> Vec<ReplicatedTopic> {
    let topics = sync.sync_once().await.unwrap();
    assert_eq!(sync.last_errors(), &[], "unexpected problems");
    topics
}

type Acl = (
    ResourceType,
    &'static str,
    PatternType,
    &'static str,
    Operation,
    Permission,
);

fn acl((resource_type, name, pattern_type, principal, operation, permission): Acl) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: if principal == "User:carol" {
            "10.0.0.1".into()
        } else {
            "*".into()
        },
        operation,
        permission,
    }
}

fn acls(list: &[Acl]) -> Vec<AclBinding> {
    list.iter().copied().map(acl).collect()
}

use Operation as Op;
use PatternType::{Literal, Prefixed};
use Permission::{Allow, Deny};
use ResourceType::{Cluster, Group, Topic};

/// The source's ACLs: one of each kind the rules treat differently.
fn source_acls() -> Vec<AclBinding> {
    acls(&[
        // Copied, renamed.
        (Topic, "orders", Literal, "User:alice", Op::Read, Allow),
        (Topic, "orders", Literal, "User:alice", Op::Describe, Allow),
        (Topic, "orders", Literal, "User:mallory", Op::Write, Deny),
        (Topic, "orders", Literal, "User:mallory", Op::Read, Deny),
        (Topic, "payments", Literal, "User:carol", Op::Alter, Allow),
        (
            Topic,
            "payments",
            Literal,
            "User:carol",
            Op::AlterConfigs,
            Allow,
        ),
        (Topic, "payments", Literal, "User:carol", Op::Create, Allow),
        (Topic, "payments", Literal, "User:carol", Op::Delete, Allow),
        (
            Topic,
            "payments",
            Literal,
            "User:carol",
            Op::DescribeConfigs,
            Allow,
        ),
        // Not copied: allow-Write, All, a topic not replicated, the `*` literal, PREFIXED,
        // group and cluster ACLs.
        (Topic, "orders", Literal, "User:alice", Op::Write, Allow),
        (Topic, "orders", Literal, "User:bob", Op::All, Allow),
        (Topic, "other", Literal, "User:alice", Op::Read, Allow),
        (Topic, "*", Literal, "User:alice", Op::Read, Allow),
        (Topic, "orders", Prefixed, "User:alice", Op::Read, Allow),
        (Topic, "ord", Prefixed, "User:alice", Op::Read, Allow),
        (Group, "orders", Literal, "User:alice", Op::Read, Allow),
        (
            Cluster,
            "kafka-cluster",
            Literal,
            "User:alice",
            Op::Describe,
            Allow,
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_acls_are_copied_by_msk_rules_and_only_once() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1), ("payments", 1), ("other", 1)]),
            acls: source_acls(),
            ..State::default()
        },
    );
    // The target has the topics already, and one of the ACLs.
    let existing = acl((Topic, "src.orders", Literal, "User:alice", Op::Read, Allow));
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("src.orders", 1), ("src.payments", 1)]),
            acls: vec![existing.clone()],
            ..State::default()
        },
    );
    let mut config = config(
        &source,
        &target,
        &["orders", "payments"],
        TopicNaming::PrefixedWithSourceClusterAlias,
    );
    config.flags.copy_topic_acls = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;

    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "src.orders", 1), ("payments", "src.payments", 1)])
    );
    let created: Vec<RequestKind> = target.requests(ApiKey::CreateAcls);
    assert_eq!(created.len(), 1, "one CreateAcls request");
    let RequestKind::CreateAcls(request) = &created[0] else {
        unreachable!()
    };
    let sent: BTreeSet<AclBinding> = request
        .creations
        .iter()
        .map(|c| AclBinding {
            resource_type: ResourceType::from_code(c.resource_type).unwrap(),
            resource_name: c.resource_name.to_string(),
            pattern_type: PatternType::from_code(c.resource_pattern_type).unwrap(),
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: Operation::from_code(c.operation).unwrap(),
            permission: Permission::from_code(c.permission_type).unwrap(),
        })
        .collect();
    assert_eq!(request.creations.len(), sent.len(), "no duplicates");
    let expected: BTreeSet<AclBinding> = acls(&[
        (
            Topic,
            "src.orders",
            Literal,
            "User:alice",
            Op::Describe,
            Allow,
        ),
        (
            Topic,
            "src.orders",
            Literal,
            "User:mallory",
            Op::Write,
            Deny,
        ),
        (Topic, "src.orders", Literal, "User:mallory", Op::Read, Deny),
        (
            Topic,
            "src.payments",
            Literal,
            "User:carol",
            Op::Alter,
            Allow,
        ),
        (
            Topic,
            "src.payments",
            Literal,
            "User:carol",
            Op::AlterConfigs,
            Allow,
        ),
        (
            Topic,
            "src.payments",
            Literal,
            "User:carol",
            Op::Create,
            Allow,
        ),
        (
            Topic,
            "src.payments",
            Literal,
            "User:carol",
            Op::Delete,
            Allow,
        ),
        (
            Topic,
            "src.payments",
            Literal,
            "User:carol",
            Op::DescribeConfigs,
            Allow,
        ),
    ])
    .into_iter()
    .collect();
    assert_eq!(sent, expected);
    // The target was asked what it has before anything was created.
    let order: Vec<i16> = target
        .broker
        .requests()
        .iter()
        .map(|r| r.api_key)
        .filter(|k| [ApiKey::DescribeAcls as i16, ApiKey::CreateAcls as i16].contains(k))
        .collect();
    assert_eq!(
        order,
        [ApiKey::DescribeAcls as i16, ApiKey::CreateAcls as i16]
    );
    // Nothing is deleted on the target (there is no DeleteAcls request at all).
    assert!(target.requests(ApiKey::DeleteAcls).is_empty());
    let on_target: BTreeSet<AclBinding> = target.state().acls.iter().cloned().collect();
    let mut all = expected.clone();
    all.insert(existing);
    assert_eq!(on_target, all);

    // In step: the next round creates nothing.
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::CreateAcls).len(), 1);
    // ACLs are never sent to the source.
    assert!(source.requests(ApiKey::CreateAcls).is_empty());
}

/// Syncs `source` (whose ACLs must not be copied) twice and checks the target is never asked
/// about ACLs and nothing is counted as a failure.
async fn no_acl_traffic_to_target(source: &FakeCluster) {
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("orders", 1)]),
            ..State::default()
        },
    );
    let mut config = config(source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_acls = true;
    let (mut sync, metrics) =
        topic_sync(source, &target, config, TopicSyncOptions::default()).await;
    for _ in 0..2 {
        assert_eq!(
            sync_ok(&mut sync).await,
            replicated(&[("orders", "orders", 1)])
        );
    }
    assert!(target.requests(ApiKey::DescribeAcls).is_empty());
    assert!(target.requests(ApiKey::CreateAcls).is_empty());
    assert_eq!(metrics.failures.get_or_create(&topic_labels("")).get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_skipped_when_the_source_has_no_authorizer() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            acls: source_acls(),
            describe_acls_error: SECURITY_DISABLED,
            ..State::default()
        },
    );
    no_acl_traffic_to_target(&source).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_skipped_when_the_source_does_not_offer_describe_acls() {
    let versions = default_api_versions()
        .into_iter()
        .filter(|v| v.api_key != ApiKey::DescribeAcls as i16)
        .collect();
    let source = FakeCluster::start_with_versions(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            acls: source_acls(),
            ..State::default()
        },
        versions,
    );
    no_acl_traffic_to_target(&source).await;
    assert!(source.requests(ApiKey::DescribeAcls).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_source_acls_means_no_create_acls() {
    // Tansu's answer: DescribeAcls succeeds with nothing.
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            ..State::default()
        },
    );
    no_acl_traffic_to_target(&source).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_not_created_on_a_target_without_authorizer() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            acls: source_acls(),
            ..State::default()
        },
    );
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("orders", 1)]),
            describe_acls_error: SECURITY_DISABLED,
            ..State::default()
        },
    );
    let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_acls = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::DescribeAcls).len(), 1);
    assert!(target.requests(ApiKey::CreateAcls).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_partitions_grow_with_the_source() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 4)]),
            ..State::default()
        },
    );
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("orders", 2)]),
            ..State::default()
        },
    );
    let config = config(&source, &target, &["orders"], TopicNaming::Identical);
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;

    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "orders", 4)])
    );
    let expected = |count| {
        RequestKind::CreatePartitions(
            CreatePartitionsRequest::default()
                .with_timeout_ms(30_000)
                .with_validate_only(false)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(TopicName(s("orders")))
                    .with_count(count)
                    .with_assignments(None)]),
        )
    };
    assert_eq!(target.requests(ApiKey::CreatePartitions), [expected(4)]);
    assert_eq!(target.state().topics, topics(&[("orders", 4)]));

    // Nothing to do while in step; the next growth is followed.
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::CreatePartitions).len(), 1);
    source.state().topics.insert("orders".into(), 6);
    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "orders", 6)])
    );
    assert_eq!(
        target.requests(ApiKey::CreatePartitions),
        [expected(4), expected(6)]
    );
    assert!(source.requests(ApiKey::CreatePartitions).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_growth_is_reported_with_cluster_topic_and_operation() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 4)]),
            ..State::default()
        },
    );
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("src.orders", 2)]),
            create_partitions_error: Some((POLICY_VIOLATION, "no more partitions".into())),
            ..State::default()
        },
    );
    let config = config(
        &source,
        &target,
        &["orders"],
        TopicNaming::PrefixedWithSourceClusterAlias,
    );
    let (mut sync, metrics) =
        topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    // A refusal may go away (the policy changes): it is reported at every round.
    for round in 1..=2 {
        assert_eq!(
            sync.sync_once().await.unwrap(),
            replicated(&[("orders", "src.orders", 2)])
        );
        let errors: Vec<String> = sync.last_errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        for part in [
            "target cluster fake-target, topic 'src.orders'",
            "adding partitions 2 -> 4 (CreatePartitions) failed",
            "PolicyViolation (code 44): no more partitions",
        ] {
            assert!(errors[0].contains(part), "{part:?} not in {:?}", errors[0]);
        }
        assert_eq!(
            metrics
                .failures
                .get_or_create(&topic_labels("orders"))
                .get(),
            round
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_style_configs_created_and_resynced() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 3)]),
            configs: [(
                "orders".to_string(),
                kafka_listing(dynamic(&[
                    ("retention.ms", "1000"),
                    ("cleanup.policy", "compact"),
                    ("min.insync.replicas", "2"),
                ])),
            )]
            .into_iter()
            .collect(),
            ..State::default()
        },
    );
    let target = FakeCluster::start("fake-target", State::default());
    let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_configurations = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;

    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "orders", 3)])
    );
    let created = target.requests(ApiKey::CreateTopics);
    assert_eq!(created.len(), 1);
    let RequestKind::CreateTopics(request) = &created[0] else {
        unreachable!()
    };
    assert!(!request.validate_only);
    assert_eq!(request.topics.len(), 1);
    let topic = &request.topics[0];
    assert_eq!(topic.name.0.as_str(), "orders");
    assert_eq!(topic.num_partitions, 3);
    assert_eq!(topic.replication_factor, -1);
    assert!(topic.assignments.is_empty());
    // Only DYNAMIC_TOPIC_CONFIG ones, min.insync.replicas skipped, the static and default
    // ones left to the target.
    let sent: BTreeMap<String, Option<String>> = topic
        .configs
        .iter()
        .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
        .collect();
    assert_eq!(
        sent,
        [
            ("cleanup.policy".to_string(), Some("compact".to_string())),
            ("retention.ms".to_string(), Some("1000".to_string())),
        ]
        .into_iter()
        .collect()
    );

    // In step: no alteration.
    sync_ok(&mut sync).await;
    assert!(target.requests(ApiKey::IncrementalAlterConfigs).is_empty());

    // A change on the source, and a removal: one request with exactly those.
    {
        let mut state = source.state();
        let configs = state.configs.get_mut("orders").unwrap();
        configs.extend(dynamic(&[("retention.ms", "2000")]));
        configs.insert(
            "cleanup.policy".into(),
            Config {
                value: "delete".into(),
                source: DEFAULT,
            },
        );
    }
    sync_ok(&mut sync).await;
    let altered = target.requests(ApiKey::IncrementalAlterConfigs);
    assert_eq!(altered.len(), 1);
    let RequestKind::IncrementalAlterConfigs(request) = &altered[0] else {
        unreachable!()
    };
    assert_eq!(request.resources.len(), 1);
    assert_eq!(request.resources[0].resource_name.as_str(), "orders");
    assert_eq!(request.resources[0].resource_type, 2);
    let ops: Vec<(String, i8, Option<String>)> = request.resources[0]
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.config_operation,
                c.value.as_ref().map(|v| v.to_string()),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("cleanup.policy".to_string(), 1, None),
            ("retention.ms".to_string(), 0, Some("2000".to_string())),
        ]
    );
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::IncrementalAlterConfigs).len(), 1);
}

/// With CopyTopicConfigurations, each existing target topic is described once per refresh:
/// config sync's listing also gives the producer's batch limit (`max.message.bytes`); only a
/// topic whose limit the sync just changed is described again, so the new limit is used at
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_configs_are_described_once_per_refresh() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            configs: [(
                "orders".to_string(),
                kafka_listing(dynamic(&[("max.message.bytes", "20000")])),
            )]
            .into_iter()
            .collect(),
            ..State::default()
        },
    );
    let target = FakeCluster::start("fake-target", State::default());
    let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_configurations = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    let describes = || target.requests(ApiKey::DescribeConfigs).len();

    // Created this round: config sync does not read it; the batch limit does, once.
    sync_ok(&mut sync).await;
    assert_eq!(describes(), 1);
    assert_eq!(sync.target_max_message_bytes("orders"), 20000);
    // In step: one read serves both (two before).
    sync_ok(&mut sync).await;
    assert_eq!(describes(), 2);
    assert_eq!(sync.target_max_message_bytes("orders"), 20000);
    // The source raises the limit: the sync copies it, and the topic is read again after.
    source
        .state()
        .configs
        .get_mut("orders")
        .unwrap()
        .extend(dynamic(&[("max.message.bytes", "30000")]));
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::IncrementalAlterConfigs).len(), 1);
    assert_eq!(describes(), 4);
    assert_eq!(sync.target_max_message_bytes("orders"), 30000);
    sync_ok(&mut sync).await;
    assert_eq!(describes(), 5);
    assert_eq!(sync.target_max_message_bytes("orders"), 30000);
}

/// A target that refuses one config (as MSK refuses configs it reserves) still gets the
/// source's other configs; the refused one is reported once, not every round, and tried again
/// when the source's value changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_the_target_refuses_is_left_out_and_reported_once() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            configs: [(
                "orders".to_string(),
                kafka_listing(dynamic(&[
                    ("retention.ms", "1000"),
                    ("cleanup.policy", "compact"),
                ])),
            )]
            .into_iter()
            .collect(),
            ..State::default()
        },
    );
    // The target topic exists already, without overrides.
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("orders", 1)]),
            configs: [("orders".to_string(), kafka_listing(BTreeMap::new()))]
                .into_iter()
                .collect(),
            refused_configs: ["retention.ms".to_string()].into_iter().collect(),
            ..State::default()
        },
    );
    let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_configurations = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    let set_on_target = |target: &FakeCluster| -> BTreeMap<String, String> {
        target.state().configs["orders"]
            .iter()
            .filter(|(_, c)| c.source == DYNAMIC_TOPIC)
            .map(|(k, c)| (k.clone(), c.value.clone()))
            .collect()
    };

    sync.sync_once().await.unwrap();
    let errors: Vec<String> = sync.last_errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("the target refuses retention.ms=1000")
            && errors[0].contains("altering retention.ms is not allowed")
            && errors[0].contains("topic 'orders'"),
        "{errors:?}"
    );
    assert_eq!(
        set_on_target(&target),
        [("cleanup.policy".to_string(), "compact".to_string())]
            .into_iter()
            .collect()
    );
    // Both at once (refused whole), then each alone.
    assert_eq!(target.requests(ApiKey::IncrementalAlterConfigs).len(), 3);

    // Nothing new to say or send.
    sync_ok(&mut sync).await;
    assert_eq!(target.requests(ApiKey::IncrementalAlterConfigs).len(), 3);

    // The source changes the refused config: tried again, refused again, reported again.
    source
        .state()
        .configs
        .get_mut("orders")
        .unwrap()
        .extend(dynamic(&[("retention.ms", "2000")]));
    sync.sync_once().await.unwrap();
    let errors: Vec<String> = sync.last_errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("retention.ms=2000"), "{errors:?}");
    assert_eq!(target.requests(ApiKey::IncrementalAlterConfigs).len(), 4);
    assert!(!set_on_target(&target).contains_key("retention.ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_factor_default_fallback_and_fixed() {
    let rf_sent = |target: &FakeCluster| -> Vec<i16> {
        target
            .requests(ApiKey::CreateTopics)
            .iter()
            .flat_map(|r| match r {
                RequestKind::CreateTopics(req) => req.topics.iter().map(|t| t.replication_factor),
                _ => unreachable!(),
            })
            .collect()
    };
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 2)]),
            ..State::default()
        },
    );

    // A target before Kafka 2.4 (CreateTopics v3 at most) cannot take -1: 1 is used.
    let old_versions: Vec<ApiVersion> = default_api_versions()
        .into_iter()
        .map(|v| {
            if v.api_key == ApiKey::CreateTopics as i16 {
                v.with_max_version(3)
            } else {
                v
            }
        })
        .collect();
    let old = FakeCluster::start_with_versions("fake-old", State::default(), old_versions);
    let old_config = config(&source, &old, &["orders"], TopicNaming::Identical);
    let (mut sync, _) = topic_sync(&source, &old, old_config, TopicSyncOptions::default()).await;
    assert_eq!(
        sync_ok(&mut sync).await,
        replicated(&[("orders", "orders", 2)])
    );
    assert_eq!(rf_sent(&old), [1]);
    assert_eq!(old.requests(ApiKey::CreateTopics).len(), 1);
    assert_eq!(
        old.broker.requests_for(ApiKey::CreateTopics)[0].api_version,
        3
    );

    // A fixed replication factor is sent as it is.
    let modern = FakeCluster::start("fake-modern", State::default());
    let config = config(&source, &modern, &["orders"], TopicNaming::Identical);
    let options = TopicSyncOptions {
        replication_factor: ReplicationFactor::Fixed(3),
    };
    let (mut sync, _) = topic_sync(&source, &modern, config, options).await;
    sync_ok(&mut sync).await;
    assert_eq!(rf_sent(&modern), [3]);
}

/// Log lines at WARN and above, written by the subscriber [`capture_warnings`] installs.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures WARN and above on this thread until the guard drops. The test body is polled on
/// this thread: a thread-local subscriber sees the sync's logs.
fn capture_warnings() -> (LogCapture, tracing::subscriber::DefaultGuard) {
    let buffer = LogCapture::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

/// A problem that stays (here: the source cannot describe a topic's configs, as librdkafka's
/// mock cluster cannot) is logged at WARN when it appears, not at every round; it is still
/// listed and counted each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_problem_is_warned_about_once() {
    let (buffer, _guard) = capture_warnings();

    // No configs on the source: DescribeConfigs answers UNKNOWN_TOPIC_OR_PARTITION.
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            ..State::default()
        },
    );
    let target = FakeCluster::start("fake-target", State::default());
    let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
    config.flags.copy_topic_configurations = true;
    let (mut sync, metrics) =
        topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    for _ in 0..3 {
        sync.sync_once().await.unwrap();
        assert_eq!(sync.last_errors().len(), 1, "{:?}", sync.last_errors());
    }
    let logs = buffer.text();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("reading topic configs (DescribeConfigs)"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(warnings[0].contains("WARN"), "{logs}");
    assert_eq!(
        metrics
            .failures
            .get_or_create(&topic_labels("orders"))
            .get(),
        3
    );
}

/// Changes a target's policy refuses together, though it accepts each alone, are reported as
/// refused together, naming them all (not an empty "refuses ").
#[tokio::test]
async fn plan_reports_changes_refused_only_together() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1)]),
            configs: [(
                "orders".to_string(),
                kafka_listing(dynamic(&[
                    ("cleanup.policy", "compact"),
                    ("retention.ms", "7000"),
                ])),
            )]
            .into(),
            ..State::default()
        },
    );
    let target = FakeCluster::start(
        "fake-target",
        State {
            topics: topics(&[("src.orders", 1)]),
            configs: [("src.orders".to_string(), kafka_listing(BTreeMap::new()))].into(),
            refused_together: ["cleanup.policy".to_string(), "retention.ms".to_string()].into(),
            ..State::default()
        },
    );
    let mut config = config(
        &source,
        &target,
        &["orders"],
        TopicNaming::PrefixedWithSourceClusterAlias,
    );
    config.flags.copy_topic_configurations = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    let plan = sync.plan().await.unwrap();

    assert_eq!(plan.alter.len(), 1, "{:?}", plan.alter);
    let Some(Err(why)) = &plan.alter[0].validated else {
        panic!("expected a refusal: {:?}", plan.alter[0]);
    };
    assert_eq!(
        why.to_string(),
        format!(
            "refuses cleanup.policy=compact, retention.ms=7000 (IncrementalAlterConfigs failed on \
             broker {} for topic src.orders: PolicyViolation (code 44): these changes are not \
             allowed together)",
            target.broker.addr()
        )
    );
    // Nothing was written: validate_only.
    assert!(target.state().configs["src.orders"]
        .values()
        .all(|c| c.source != DYNAMIC_TOPIC));
}

/// `plan` against a Kafka-like target (CreatePartitions, validate_only honoured, ACLs, a
/// config policy): every piece of what one sync would do, and nothing written.
#[tokio::test]
async fn plan_lists_what_a_sync_would_do_and_writes_nothing() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 4), ("payments", 3), ("refunds", 1), ("audit", 2)]),
            acls: source_acls(),
            configs: [
                (
                    "orders",
                    kafka_listing(dynamic(&[
                        ("cleanup.policy", "compact"),
                        ("retention.ms", "7000"),
                    ])),
                ),
                (
                    "payments",
                    kafka_listing(dynamic(&[("retention.ms", "1000")])),
                ),
                (
                    "refunds",
                    kafka_listing(dynamic(&[("retention.ms", "5000")])),
                ),
                ("audit", kafka_listing(BTreeMap::new())),
            ]
            .into_iter()
            .map(|(t, c)| (t.to_string(), c))
            .collect(),
            ..State::default()
        },
    );
    let target = FakeCluster::start(
        "fake-target",
        State {
            // orders lacks partitions and its config; audit is in step.
            topics: topics(&[("src.orders", 2), ("src.audit", 2)]),
            configs: [
                ("src.orders", kafka_listing(BTreeMap::new())),
                ("src.audit", kafka_listing(BTreeMap::new())),
            ]
            .into_iter()
            .map(|(t, c)| (t.to_string(), c))
            .collect(),
            refused_configs: ["retention.ms".to_string()].into(),
            ..State::default()
        },
    );
    let mut config = config(
        &source,
        &target,
        &["orders", "payments", "refunds", "audit"],
        TopicNaming::PrefixedWithSourceClusterAlias,
    );
    config.flags.copy_topic_configurations = true;
    config.flags.copy_topic_acls = true;
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    let plan = sync.plan().await.unwrap();

    assert_eq!(
        plan.selected,
        vec![
            ("audit".into(), "src.audit".into(), 2),
            ("orders".into(), "src.orders".into(), 4),
            ("payments".into(), "src.payments".into(), 3),
            ("refunds".into(), "src.refunds".into(), 1),
        ]
    );
    assert_eq!(plan.create.len(), 2, "{:?}", plan.create);
    for (created, (source_topic, partitions, retention)) in plan
        .create
        .iter()
        .zip([("payments", 3, "1000"), ("refunds", 1, "5000")])
    {
        let TopicToCreate {
            validated: Some(Err(why)),
            ..
        } = created
        else {
            panic!("expected a refusal: {created:?}");
        };
        assert!(
            why.to_string().contains("retention.ms is not allowed"),
            "{why}"
        );
        assert_eq!(
            created,
            &TopicToCreate {
                source: source_topic.into(),
                target: format!("src.{source_topic}"),
                partitions,
                replication_factor: -1,
                configs: [("retention.ms".to_string(), retention.to_string())].into(),
                validated: Some(Err(why.clone())),
            }
        );
    }
    assert_eq!(
        plan.grow,
        vec![PartitionGrowth {
            source: "orders".into(),
            target: "src.orders".into(),
            from: 2,
            to: 4,
            possible: true,
        }]
    );
    // Both changes asked together are refused; asked one by one, only retention.ms is.
    assert_eq!(plan.alter.len(), 1, "{:?}", plan.alter);
    let Some(Err(why)) = &plan.alter[0].validated else {
        panic!("expected a refusal: {:?}", plan.alter[0]);
    };
    assert!(
        why.to_string().starts_with("refuses retention.ms=7000 ("),
        "{why}"
    );
    assert!(
        why.to_string()
            .contains("altering retention.ms is not allowed"),
        "{why}"
    );
    assert!(!why.to_string().contains("cleanup.policy"), "{why}");
    assert_eq!(
        plan.alter,
        vec![ConfigChange {
            source: "orders".into(),
            target: "src.orders".into(),
            ops: vec![
                kreplicate_wire::admin::AlterOp::set("cleanup.policy", "compact"),
                kreplicate_wire::admin::AlterOp::set("retention.ms", "7000"),
            ],
            validated: Some(Err(why.clone())),
        }]
    );
    // The source's copyable ACLs on orders and payments, renamed; none exist on the target.
    let mut acl_targets: Vec<&str> = plan.acls.iter().map(|a| a.resource_name.as_str()).collect();
    acl_targets.dedup();
    assert_eq!(
        acl_targets,
        ["src.orders", "src.payments"],
        "{:?}",
        plan.acls
    );
    assert_eq!(plan.in_step, vec!["src.audit".to_string()]);
    assert_eq!(plan.problems, vec![]);
    assert!(
        !plan.feasible(),
        "a refused creation is something run cannot do"
    );

    // Nothing was written: the only CreateTopics was validate_only, nothing else changed.
    let creates = target.requests(ApiKey::CreateTopics);
    assert_eq!(creates.len(), 1);
    let RequestKind::CreateTopics(request) = &creates[0] else {
        unreachable!()
    };
    assert!(request.validate_only);
    for api in [ApiKey::CreatePartitions, ApiKey::CreateAcls] {
        assert_eq!(target.requests(api).len(), 0, "{api:?} sent");
    }
    let alters = target.requests(ApiKey::IncrementalAlterConfigs);
    assert_eq!(alters.len(), 3, "both changes, then each alone");
    assert!(alters
        .iter()
        .all(|r| matches!(r, RequestKind::IncrementalAlterConfigs(r) if r.validate_only)));
    assert_eq!(
        target.state().configs["src.orders"]["cleanup.policy"].value,
        "default"
    );
    assert_eq!(
        target.state().topics,
        topics(&[("src.orders", 2), ("src.audit", 2)])
    );
    assert!(target.state().acls.is_empty());

    // Without the refusing policy the same plan is feasible, and a sync then does exactly it.
    target.state().refused_configs.clear();
    let plan = sync.plan().await.unwrap();
    assert!(plan.feasible(), "{plan:?}");
    assert!(plan.create.iter().all(|c| c.validated == Some(Ok(()))));
    assert_eq!(plan.alter[0].validated, Some(Ok(())));
    sync_ok(&mut sync).await;
    assert_eq!(
        target.state().topics,
        topics(&[
            ("src.orders", 4),
            ("src.audit", 2),
            ("src.payments", 3),
            ("src.refunds", 1)
        ])
    );
    let after = sync.plan().await.unwrap();
    assert!(
        after.create.is_empty()
            && after.grow.is_empty()
            && after.alter.is_empty()
            && after.acls.is_empty(),
        "{after:?}"
    );
    assert_eq!(after.in_step.len(), 4);
}

/// A target without CreatePartitions (Tansu-like) is never sent CreateTopics, even with
/// validate_only: it might create the topic. The plan says what it cannot know.
#[tokio::test]
async fn plan_does_not_ask_a_target_that_may_ignore_validate_only() {
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 3), ("payments", 2)]),
            ..State::default()
        },
    );
    let versions: Vec<ApiVersion> = default_api_versions()
        .into_iter()
        .filter(|v| v.api_key != ApiKey::CreatePartitions as i16)
        .collect();
    let target = FakeCluster::start_with_versions(
        "fake-target",
        State {
            topics: topics(&[("payments", 1)]),
            ..State::default()
        },
        versions,
    );
    let config = config(&source, &target, &[".*"], TopicNaming::Identical);
    let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    let plan = sync.plan().await.unwrap();
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.create[0].target, "orders");
    assert_eq!(plan.create[0].validated, None);
    assert_eq!(
        plan.grow,
        vec![PartitionGrowth {
            source: "payments".into(),
            target: "payments".into(),
            from: 1,
            to: 2,
            possible: false,
        }]
    );
    assert_eq!(plan.unknown.len(), 1, "{:?}", plan.unknown);
    assert!(
        plan.unknown[0].contains(
            "it does not offer CreatePartitions, so it may ignore CreateTopics validate_only"
        ),
        "{}",
        plan.unknown[0]
    );
    assert!(!plan.feasible(), "growth the target cannot do");
    assert_eq!(target.requests(ApiKey::CreateTopics).len(), 0);
    assert_eq!(target.state().topics, topics(&[("payments", 1)]));
}

/// CreateAcls needs Alter on the cluster: a target that reports this principal's authorized
/// operations without Alter makes the planned ACLs a known refusal; with Alter, none.
#[tokio::test]
async fn plan_names_a_missing_alter_permission_for_acls() {
    let bit = |op: Operation| 1i32 << op.code();
    for (operations, refused) in [
        (bit(Op::Describe) | bit(Op::Create), true),
        (bit(Op::Describe) | bit(Op::Alter), false),
    ] {
        let source = FakeCluster::start(
            "fake-source",
            State {
                topics: topics(&[("orders", 1)]),
                acls: source_acls(),
                ..State::default()
            },
        );
        let target = FakeCluster::start(
            "fake-target",
            State {
                topics: topics(&[("orders", 1)]),
                cluster_operations: Some(operations),
                ..State::default()
            },
        );
        let mut config = config(&source, &target, &["orders"], TopicNaming::Identical);
        config.flags.copy_topic_acls = true;
        let (mut sync, _) = topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
        let plan = sync.plan().await.unwrap();
        assert!(!plan.acls.is_empty());
        assert!(plan.unknown.is_empty(), "{:?}", plan.unknown);
        if refused {
            assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
            let text = plan.problems[0].to_string();
            assert!(
                text.contains("lacks Alter on the cluster, which CreateAcls needs"),
                "{text}"
            );
            assert!(!plan.feasible());
        } else {
            assert_eq!(plan.problems, vec![]);
            assert!(plan.feasible(), "{plan:?}");
        }
        assert_eq!(target.requests(ApiKey::CreateAcls).len(), 0);
    }
}

/// A selection that matches no source topic is warned about once (naming the topics the source
/// has), not at every round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_selection_is_warned_about_once_naming_the_source_topics() {
    let (buffer, _guard) = capture_warnings();
    let source = FakeCluster::start(
        "fake-source",
        State {
            topics: topics(&[("orders", 1), ("payments", 1)]),
            ..State::default()
        },
    );
    let target = FakeCluster::start("fake-target", State::default());
    let config = config(&source, &target, &["order"], TopicNaming::Identical);
    let (mut sync, metrics) =
        topic_sync(&source, &target, config, TopicSyncOptions::default()).await;
    for _ in 0..3 {
        assert_eq!(sync_ok(&mut sync).await, vec![]);
    }
    // The metrics name them too, for `kreplicate status`.
    let text = metrics.encode();
    for line in [
        "kreplicate_source_topic_count 2",
        r#"kreplicate_unselected_source_topic{topic="orders"} 1"#,
        r#"kreplicate_unselected_source_topic{topic="payments"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    // Once a topic matches, the names go away and the count stays.
    source.state().topics.insert("order".into(), 1);
    assert_eq!(sync_ok(&mut sync).await.len(), 1);
    let text = metrics.encode();
    assert!(
        !text.contains("kreplicate_unselected_source_topic{"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "kreplicate_source_topic_count 3"),
        "{text}"
    );
    let logs = buffer.text();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("select no topic on the source cluster"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("it has 2 topics: orders, payments"),
        "{logs}"
    );
}
