//! Admin requests through the layer: denied topics answer TOPIC_AUTHORIZATION_FAILED (as
//! Kafka's authorizer makes KafkaApis / ControllerApis answer them), refused configs answer the
//! configured error (as MSK's or Confluent Cloud's create/alter policies do), and whatever
//! changes a topic's configs drops it from the config cache once the upstream has answered.

use std::collections::HashMap;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::refusals::Rule;
use super::StrictState;

/// `ConfigResource.Type.TOPIC`.
const TOPIC_RESOURCE: i8 = 2;

fn text(s: String) -> Option<StrBytes> {
    Some(StrBytes::from_string(s))
}

/// CreateTopics: the topics the layer answers itself, and the request order.
#[derive(Debug, Default)]
pub(crate) struct CreateTopicsPlan {
    local: HashMap<String, CreatableTopicResult>,
    order: Vec<TopicName>,
}

pub(crate) fn plan_create_topics(
    state: &StrictState,
    mut request: CreateTopicsRequest,
) -> (Option<CreateTopicsRequest>, CreateTopicsPlan) {
    let mut plan = CreateTopicsPlan::default();
    let mut passing = Vec::new();
    for topic in std::mem::take(&mut request.topics) {
        let name = topic.name.to_string();
        plan.order.push(topic.name.clone());
        let refusal = if state.rules.is_denied(&name) {
            // ControllerApis.createTopics: no CREATE on the topic (nor the cluster).
            state.refusals.add(Rule::TopicAuthorization);
            Some((
                ResponseError::TopicAuthorizationFailed,
                "Authorization failed.".to_string(),
            ))
        } else {
            topic.configs.iter().find_map(|c| {
                state.rules.config_refusal(c.name.as_str()).map(|e| {
                    state.refusals.add(Rule::ConfigRefused);
                    (
                        e,
                        format!(
                            "Topic config {} is not allowed on this cluster",
                            c.name.as_str()
                        ),
                    )
                })
            })
        };
        match refusal {
            Some((error, message)) => {
                plan.local.insert(
                    name,
                    CreatableTopicResult::default()
                        .with_name(topic.name.clone())
                        .with_error_code(error.code())
                        .with_error_message(text(message))
                        .with_num_partitions(-1)
                        .with_replication_factor(-1),
                );
            }
            None => passing.push(topic),
        }
    }
    let forward = (!passing.is_empty()).then(|| request.with_topics(passing));
    (forward, plan)
}

pub(crate) fn finish_create_topics(
    state: &StrictState,
    plan: CreateTopicsPlan,
    upstream: Option<CreateTopicsResponse>,
) -> CreateTopicsResponse {
    let mut throttle = 0;
    let mut answered = HashMap::new();
    if let Some(up) = upstream {
        throttle = up.throttle_time_ms;
        for t in up.topics {
            answered.insert(t.name.to_string(), t);
        }
    }
    // By the request's names: the upstream answered, whatever names its answer carries.
    for name in &plan.order {
        state.configs.invalidate(name.as_str());
    }
    let mut local = plan.local;
    let topics = plan
        .order
        .into_iter()
        .map(|name| {
            let key = name.to_string();
            local
                .remove(&key)
                .or_else(|| answered.remove(&key))
                .unwrap_or_else(|| {
                    CreatableTopicResult::default()
                        .with_name(name)
                        .with_error_code(ResponseError::UnknownServerError.code())
                })
        })
        .collect();
    CreateTopicsResponse::default()
        .with_throttle_time_ms(throttle)
        .with_topics(topics)
}

/// IncrementalAlterConfigs: the resources the layer answers itself, and the request order.
#[derive(Debug, Default)]
pub(crate) struct AlterConfigsPlan {
    local: HashMap<(i8, String), AlterConfigsResourceResponse>,
    order: Vec<(i8, StrBytes)>,
}

pub(crate) fn plan_alter_configs(
    state: &StrictState,
    mut request: IncrementalAlterConfigsRequest,
) -> (Option<IncrementalAlterConfigsRequest>, AlterConfigsPlan) {
    let mut plan = AlterConfigsPlan::default();
    let mut passing = Vec::new();
    for resource in std::mem::take(&mut request.resources) {
        let name = resource.resource_name.to_string();
        plan.order
            .push((resource.resource_type, resource.resource_name.clone()));
        let is_topic = resource.resource_type == TOPIC_RESOURCE;
        let refusal = if is_topic && state.rules.is_denied(&name) {
            // KafkaApis / ControllerApis: ALTER_CONFIGS on the topic not authorized.
            state.refusals.add(Rule::TopicAuthorization);
            Some((
                ResponseError::TopicAuthorizationFailed,
                "Authorization failed.".to_string(),
            ))
        } else if is_topic {
            resource.configs.iter().find_map(|c| {
                state.rules.config_refusal(c.name.as_str()).map(|e| {
                    state.refusals.add(Rule::ConfigRefused);
                    (
                        e,
                        format!(
                            "Topic config {} is not allowed on this cluster",
                            c.name.as_str()
                        ),
                    )
                })
            })
        } else {
            None
        };
        match refusal {
            Some((error, message)) => {
                plan.local.insert(
                    (resource.resource_type, name),
                    AlterConfigsResourceResponse::default()
                        .with_resource_type(resource.resource_type)
                        .with_resource_name(resource.resource_name.clone())
                        .with_error_code(error.code())
                        .with_error_message(text(message)),
                );
            }
            None => passing.push(resource),
        }
    }
    let forward = (!passing.is_empty()).then(|| request.with_resources(passing));
    (forward, plan)
}

pub(crate) fn finish_alter_configs(
    state: &StrictState,
    plan: AlterConfigsPlan,
    upstream: Option<IncrementalAlterConfigsResponse>,
) -> IncrementalAlterConfigsResponse {
    let mut throttle = 0;
    let mut answered = HashMap::new();
    if let Some(up) = upstream {
        throttle = up.throttle_time_ms;
        for r in up.responses {
            answered.insert((r.resource_type, r.resource_name.to_string()), r);
        }
    }
    for (kind, name) in &plan.order {
        if *kind == TOPIC_RESOURCE {
            state.configs.invalidate(name.as_str());
        }
    }
    let mut local = plan.local;
    let responses = plan
        .order
        .into_iter()
        .map(|(kind, name)| {
            let key = (kind, name.to_string());
            local
                .remove(&key)
                .or_else(|| answered.remove(&key))
                .unwrap_or_else(|| {
                    AlterConfigsResourceResponse::default()
                        .with_resource_type(kind)
                        .with_resource_name(name)
                        .with_error_code(ResponseError::UnknownServerError.code())
                })
        })
        .collect();
    IncrementalAlterConfigsResponse::default()
        .with_throttle_time_ms(throttle)
        .with_responses(responses)
}

/// DeleteTopics: the topic names whose cached configs and producer state go once answered.
pub(crate) fn deleted_topics(request: &DeleteTopicsRequest) -> Vec<String> {
    request
        .topic_names
        .iter()
        .map(|n| n.to_string())
        .chain(
            request
                .topics
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.to_string())),
        )
        .collect()
}

pub(crate) fn forget_deleted(state: &StrictState, topics: &[String]) {
    for t in topics {
        state.configs.invalidate(t);
        state.producers.forget_topic(t);
        state.txns.forget_topic(t);
    }
}

/// DescribeConfigs: a denied topic's result becomes TOPIC_AUTHORIZATION_FAILED without configs
/// (KafkaApis.handleDescribeConfigsRequest, unauthorized resources).
pub(crate) fn deny_describe_configs(state: &StrictState, response: &mut DescribeConfigsResponse) {
    for r in &mut response.results {
        if r.resource_type == TOPIC_RESOURCE && state.rules.is_denied(r.resource_name.as_str()) {
            state.refusals.add(Rule::TopicAuthorization);
            *r = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                .with_error_message(text("Authorization failed.".into()));
        }
    }
}

/// Metadata: a denied topic is listed with TOPIC_AUTHORIZATION_FAILED and no partitions
/// (KafkaApis.handleTopicMetadataRequest, unauthorizedForDescribeTopicMetadata).
pub(crate) fn deny_metadata(state: &StrictState, response: &mut MetadataResponse) {
    for t in &mut response.topics {
        let denied = t
            .name
            .as_ref()
            .is_some_and(|n| state.rules.is_denied(n.as_str()));
        if denied {
            state.refusals.add(Rule::TopicAuthorization);
            t.error_code = ResponseError::TopicAuthorizationFailed.code();
            t.partitions.clear();
            t.is_internal = false;
        }
    }
}
