//! Admin requests a real test broker cannot check (Tansu 0.6 has no working ACLs and no
//! CreatePartitions): against the scriptable fake broker, asserting the exact request fields
//! we send and how each answer is reported.

use std::time::Duration;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    ApiKey, CreateAclsResponse, CreatePartitionsResponse, DescribeAclsRequest,
    DescribeAclsResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply, FakeTopic};
use kreplicate_wire::admin::{
    AclBinding, AclFilter, Admin, Operation, PatternType, Permission, ResourceType,
};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::Api;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn admin_for(broker: &FakeBroker) -> Admin {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(5);
    Admin::new(
        Client::connect(config)
            .await
            .expect("connect to the fake broker"),
    )
}

fn binding(
    resource_type: ResourceType,
    name: &str,
    pattern_type: PatternType,
    principal: &str,
    operation: Operation,
    permission: Permission,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission,
    }
}

#[tokio::test]
async fn create_acls_sends_exact_fields_and_reports_each_binding() {
    let broker = FakeBroker::start(|_, request| match request {
        RequestKind::CreateAcls(_) => FakeReply::Respond(ResponseKind::CreateAcls(
            CreateAclsResponse::default().with_results(vec![
                AclCreationResult::default(),
                AclCreationResult::default()
                    .with_error_code(54) // SECURITY_DISABLED
                    .with_error_message(Some(s("no authorizer"))),
            ]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    let acls = [
        binding(
            ResourceType::Topic,
            "orders",
            PatternType::Literal,
            "User:alice",
            Operation::Read,
            Permission::Allow,
        ),
        binding(
            ResourceType::TransactionalId,
            "tx-",
            PatternType::Prefixed,
            "User:bob",
            Operation::IdempotentWrite,
            Permission::Deny,
        ),
    ];
    let results = admin.create_acls(&acls).await.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0], Ok(()));
    let e = results[1].as_ref().unwrap_err();
    assert_eq!((e.api, e.code), ("CreateAcls", 54));
    assert_eq!(e.broker.as_deref(), Some(broker.addr().as_str()));
    let text = e.to_string();
    assert!(
        text.contains("TransactionalId prefixed 'tx-' for User:bob")
            && text.contains("no authorizer"),
        "{text}"
    );

    let sent = broker.requests_for(ApiKey::CreateAcls);
    assert_eq!(sent.len(), 1);
    let Some(RequestKind::CreateAcls(request)) = &sent[0].request else {
        panic!("undecodable CreateAcls request: {:?}", sent[0]);
    };
    assert_eq!(
        request.creations,
        vec![
            AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(s("orders"))
                .with_resource_pattern_type(3)
                .with_principal(s("User:alice"))
                .with_host(s("*"))
                .with_operation(3)
                .with_permission_type(3),
            AclCreation::default()
                .with_resource_type(5)
                .with_resource_name(s("tx-"))
                .with_resource_pattern_type(4)
                .with_principal(s("User:bob"))
                .with_host(s("*"))
                .with_operation(12)
                .with_permission_type(2),
        ]
    );
}

#[tokio::test]
async fn create_acls_with_too_few_results_is_an_error_not_a_panic() {
    let broker = FakeBroker::start(|_, request| match request {
        RequestKind::CreateAcls(_) => FakeReply::Respond(ResponseKind::CreateAcls(
            CreateAclsResponse::default().with_results(vec![AclCreationResult::default()]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    let acl = binding(
        ResourceType::Group,
        "g",
        PatternType::Literal,
        "User:x",
        Operation::Read,
        Permission::Allow,
    );
    match admin.create_acls(&[acl.clone(), acl]).await {
        Err(Error::Protocol {
            api,
            broker: b,
            message,
        }) => {
            assert_eq!(api, "CreateAcls");
            assert_eq!(b, broker.addr());
            assert_eq!(message, "1 results for 2 ACL creations");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn acl(principal: &str, operation: i8, permission: i8) -> AclDescription {
    AclDescription::default()
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(permission)
}

#[tokio::test]
async fn describe_acls_sends_the_filter_and_decodes_typed_bindings() {
    let broker = FakeBroker::start(|_, request| match request {
        RequestKind::DescribeAcls(_) => FakeReply::Respond(ResponseKind::DescribeAcls(
            DescribeAclsResponse::default().with_resources(vec![
                DescribeAclsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_pattern_type(3)
                    .with_acls(vec![
                        acl("User:alice", 3, 3),
                        acl("User:bob", 4, 2),
                        // CREATE_TOKENS: not modelled, skipped.
                        acl("User:carol", 13, 3),
                    ]),
                DescribeAclsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("kafka-cluster"))
                    .with_pattern_type(3)
                    .with_acls(vec![acl("User:admin", 2, 3)]),
                // USER resources: not modelled, skipped.
                DescribeAclsResource::default()
                    .with_resource_type(7)
                    .with_resource_name(s("alice"))
                    .with_pattern_type(3)
                    .with_acls(vec![acl("User:admin", 7, 3)]),
            ]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    let filter = AclFilter {
        resource_type: Some(ResourceType::Topic),
        resource_name: Some("orders".into()),
        pattern_type: Some(PatternType::Literal),
        permission: Some(Permission::Allow),
        ..AclFilter::any()
    };
    let found = admin.describe_acls(&filter).await.unwrap();
    assert_eq!(
        found,
        vec![
            binding(
                ResourceType::Topic,
                "orders",
                PatternType::Literal,
                "User:alice",
                Operation::Read,
                Permission::Allow
            ),
            binding(
                ResourceType::Topic,
                "orders",
                PatternType::Literal,
                "User:bob",
                Operation::Write,
                Permission::Deny
            ),
            binding(
                ResourceType::Cluster,
                "kafka-cluster",
                PatternType::Literal,
                "User:admin",
                Operation::All,
                Permission::Allow
            ),
        ]
    );

    let sent = broker.requests_for(ApiKey::DescribeAcls);
    assert_eq!(sent.len(), 1);
    let Some(RequestKind::DescribeAcls(request)) = &sent[0].request else {
        panic!("undecodable DescribeAcls request: {:?}", sent[0]);
    };
    assert_eq!(
        request,
        &DescribeAclsRequest::default()
            .with_resource_type_filter(2)
            .with_resource_name_filter(Some(s("orders")))
            .with_pattern_type_filter(3)
            .with_principal_filter(None)
            .with_host_filter(None)
            .with_operation(1) // ANY
            .with_permission_type(3)
    );

    // The "any" filter is all ANY codes and null strings.
    admin.describe_acls(&AclFilter::any()).await.unwrap();
    let sent = broker.requests_for(ApiKey::DescribeAcls);
    let Some(RequestKind::DescribeAcls(request)) = &sent[1].request else {
        panic!("undecodable DescribeAcls request: {:?}", sent[1]);
    };
    assert_eq!(
        (
            request.resource_type_filter,
            request.resource_name_filter.clone(),
            request.pattern_type_filter,
            request.principal_filter.clone(),
            request.host_filter.clone(),
            request.operation,
            request.permission_type
        ),
        (1, None, 1, None, None, 1, 1)
    );
}

#[tokio::test]
async fn describe_acls_error_names_the_broker_and_code() {
    let broker = FakeBroker::start(|_, request| match request {
        RequestKind::DescribeAcls(_) => FakeReply::Respond(ResponseKind::DescribeAcls(
            DescribeAclsResponse::default()
                .with_error_code(54)
                .with_error_message(Some(s("security is disabled"))),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    match admin.describe_acls(&AclFilter::any()).await {
        Err(Error::Broker(e)) => {
            assert_eq!((e.api, e.code), ("DescribeAcls", 54));
            assert_eq!(e.broker.as_deref(), Some(broker.addr().as_str()));
            assert_eq!(e.message.as_deref(), Some("security is disabled"));
        }
        other => panic!("expected a broker error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_partitions_sends_exact_fields_and_reports_the_topic_error() {
    let options = FakeBrokerOptions {
        topics: vec![FakeTopic::new("grow", 2)],
        ..FakeBrokerOptions::default()
    };
    let broker = FakeBroker::start_with(options, |_, request| match request {
        RequestKind::CreatePartitions(_) => FakeReply::Respond(ResponseKind::CreatePartitions(
            CreatePartitionsResponse::default().with_results(vec![
                CreatePartitionsTopicResult::default()
                    .with_name(TopicName(s("grow")))
                    .with_error_code(37) // INVALID_PARTITIONS
                    .with_error_message(Some(s("cannot shrink"))),
            ]),
        )),
        _ => FakeReply::Default,
    })
    .unwrap();
    let admin = admin_for(&broker).await;
    assert!(admin.supports(Api::CreatePartitions).await.unwrap());
    match admin.create_partitions("grow", 1).await {
        Err(Error::Broker(e)) => {
            assert_eq!((e.api, e.code), ("CreatePartitions", 37));
            assert_eq!(e.topic.as_deref(), Some("grow"));
            assert_eq!(e.message.as_deref(), Some("cannot shrink"));
        }
        other => panic!("expected a broker error, got {other:?}"),
    }
    let sent = broker.requests_for(ApiKey::CreatePartitions);
    assert_eq!(sent.len(), 1);
    let Some(RequestKind::CreatePartitions(request)) = &sent[0].request else {
        panic!("undecodable CreatePartitions request: {:?}", sent[0]);
    };
    assert_eq!(request.topics.len(), 1);
    assert_eq!(request.topics[0].name.0.as_str(), "grow");
    assert_eq!(request.topics[0].count, 1);
    assert_eq!(request.topics[0].assignments, None);
    assert_eq!(request.timeout_ms, 5000);
    assert!(!request.validate_only);
}
