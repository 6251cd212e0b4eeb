//! ACLs: creating and describing access-control bindings, with Kafka's numeric codes behind
//! typed enums.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::{CreateAclsRequest, DescribeAclsRequest};

use super::{message, str_bytes, Admin};
use crate::client::{Error, Result};
use crate::protocol::BrokerError;

/// Declares a Kafka code enum with `code()` and `from_code()`.
macro_rules! kafka_codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }

        impl $name {
            test_util_pub! {
                /// The Kafka wire code.
                pub fn code(self) -> i8 {
                    match self {
                        $($name::$variant => $code),*
                    }
                }
            }

            test_util_pub! {
                /// The value for a wire code; `None` for codes this client does not model.
                pub fn from_code(code: i8) -> Option<Self> {
                    match code {
                        $($code => Some($name::$variant),)*
                        _ => None,
                    }
                }
            }
        }
    };
}

kafka_codes! {
    /// What kind of resource an ACL protects.
    ResourceType {
        /// A topic.
        Topic = 2,
        /// A consumer group.
        Group = 3,
        /// The cluster itself.
        Cluster = 4,
        /// A transactional id.
        TransactionalId = 5,
    }
}

kafka_codes! {
    /// How an ACL's resource name is matched.
    PatternType {
        /// The exact name (or `*` for all).
        Literal = 3,
        /// Every name starting with the resource name.
        Prefixed = 4,
    }
}

kafka_codes! {
    /// The operation an ACL allows or denies.
    Operation {
        /// Every operation.
        All = 2,
        /// Read (fetch, consume).
        Read = 3,
        /// Write (produce).
        Write = 4,
        /// Create.
        Create = 5,
        /// Delete.
        Delete = 6,
        /// Alter.
        Alter = 7,
        /// Describe.
        Describe = 8,
        /// Inter-broker cluster actions.
        ClusterAction = 9,
        /// Describe configs.
        DescribeConfigs = 10,
        /// Alter configs.
        AlterConfigs = 11,
        /// Idempotent produce.
        IdempotentWrite = 12,
    }
}

kafka_codes! {
    /// Whether an ACL allows or denies.
    Permission {
        /// Deny.
        Deny = 2,
        /// Allow.
        Allow = 3,
    }
}

/// The wire code for "any" in ACL filters.
const ANY: i8 = 1;

/// One ACL: `principal` from `host` is `permission`ed to `operation` on the resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource name (or prefix, for a prefixed pattern).
    pub resource_name: String,
    /// How `resource_name` matches.
    pub pattern_type: PatternType,
    /// E.g. "User:alice".
    pub principal: String,
    /// E.g. "*" for any host.
    pub host: String,
    /// The operation allowed or denied.
    pub operation: Operation,
    /// Allow or deny.
    pub permission: Permission,
}

/// Which ACLs [`Admin::describe_acls`] returns; `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclFilter {
    /// Only this kind of resource (`None`: any).
    pub resource_type: Option<ResourceType>,
    /// Only this resource name (`None`: any).
    pub resource_name: Option<String>,
    /// Only this pattern type (`None`: any).
    pub pattern_type: Option<PatternType>,
    /// Only this principal (`None`: any).
    pub principal: Option<String>,
    /// Only this host (`None`: any).
    pub host: Option<String>,
    /// Only this operation (`None`: any).
    pub operation: Option<Operation>,
    /// Only this permission (`None`: any).
    pub permission: Option<Permission>,
}

impl AclFilter {
    /// Matches every ACL.
    pub fn any() -> Self {
        AclFilter::default()
    }
}

impl Admin {
    /// Creates `acls` in one CreateAcls request. Returns each binding's outcome in input
    /// order. A response that does not answer every binding (Tansu 0.6's is malformed) is an
    /// error naming the broker, never a panic.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<Vec<Result<(), BrokerError>>> {
        if acls.is_empty() {
            return Ok(Vec::new());
        }
        let request = CreateAclsRequest::default().with_creations(
            acls.iter()
                .map(|a| {
                    AclCreation::default()
                        .with_resource_type(a.resource_type.code())
                        .with_resource_name(str_bytes(&a.resource_name))
                        .with_resource_pattern_type(a.pattern_type.code())
                        .with_principal(str_bytes(&a.principal))
                        .with_host(str_bytes(&a.host))
                        .with_operation(a.operation.code())
                        .with_permission_type(a.permission.code())
                })
                .collect(),
        );
        let (broker, response) = self
            .client()
            .retry(None, || async {
                let conn = self.client().any_connection().await?;
                let response = conn.request(&request).await?;
                Ok((conn.broker().to_string(), response))
            })
            .await?;
        if response.results.len() != acls.len() {
            return Err(Error::protocol(
                "CreateAcls",
                broker,
                format!(
                    "{} results for {} ACL creations",
                    response.results.len(),
                    acls.len()
                ),
            ));
        }
        Ok(response
            .results
            .into_iter()
            .zip(acls)
            .map(
                |(r, acl)| match BrokerError::from_code("CreateAcls", r.error_code) {
                    None => Ok(()),
                    Some(e) => {
                        let detail = format!(
                            "ACL {:?} {} '{}' for {} on {:?}",
                            acl.resource_type,
                            acl.pattern_type_name(),
                            acl.resource_name,
                            acl.principal,
                            acl.operation
                        );
                        let text = match message(r.error_message) {
                            Some(m) => format!("{detail}: {m}"),
                            None => detail,
                        };
                        Err(e.with_broker(broker.as_str()).with_message(Some(text)))
                    }
                },
            )
            .collect())
    }

    /// The ACLs matching `filter`, sorted. Bindings on resource kinds or with codes this
    /// client does not model (delegation tokens, users) are skipped with a warning.
    pub async fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>> {
        let request = DescribeAclsRequest::default()
            .with_resource_type_filter(filter.resource_type.map_or(ANY, ResourceType::code))
            .with_resource_name_filter(filter.resource_name.as_deref().map(str_bytes))
            .with_pattern_type_filter(filter.pattern_type.map_or(ANY, PatternType::code))
            .with_principal_filter(filter.principal.as_deref().map(str_bytes))
            .with_host_filter(filter.host.as_deref().map(str_bytes))
            .with_operation(filter.operation.map_or(ANY, Operation::code))
            .with_permission_type(filter.permission.map_or(ANY, Permission::code));
        let (broker, response) = self
            .client()
            .retry(None, || async {
                let conn = self.client().any_connection().await?;
                let response = conn.request(&request).await?;
                Ok((conn.broker().to_string(), response))
            })
            .await?;
        if let Some(e) = BrokerError::from_code("DescribeAcls", response.error_code) {
            return Err(e
                .with_broker(broker)
                .with_message(message(response.error_message))
                .into());
        }
        let mut out = Vec::new();
        for resource in response.resources {
            let name = resource.resource_name.as_str().to_string();
            let (Some(resource_type), Some(pattern_type)) = (
                ResourceType::from_code(resource.resource_type),
                PatternType::from_code(resource.pattern_type),
            ) else {
                tracing::warn!(
                    %broker, resource = %name, resource_type = resource.resource_type,
                    pattern_type = resource.pattern_type,
                    "skipping ACLs on a resource type or pattern type this client does not model"
                );
                continue;
            };
            for acl in resource.acls {
                let (Some(operation), Some(permission)) = (
                    Operation::from_code(acl.operation),
                    Permission::from_code(acl.permission_type),
                ) else {
                    tracing::warn!(
                        %broker, resource = %name, operation = acl.operation,
                        permission = acl.permission_type,
                        "skipping an ACL with an operation or permission this client does not model"
                    );
                    continue;
                };
                out.push(AclBinding {
                    resource_type,
                    resource_name: name.clone(),
                    pattern_type,
                    principal: acl.principal.as_str().to_string(),
                    host: acl.host.as_str().to_string(),
                    operation,
                    permission,
                });
            }
        }
        out.sort();
        Ok(out)
    }
}

impl AclBinding {
    fn pattern_type_name(&self) -> &'static str {
        match self.pattern_type {
            PatternType::Literal => "literal",
            PatternType::Prefixed => "prefixed",
        }
    }
}
