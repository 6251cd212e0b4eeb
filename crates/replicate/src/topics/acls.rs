//! Topic ACLs (`CopyAccessControlListsForTopics`), with MSK Replicator's rules:
//!
//! - only ACLs on a *topic* resource with a *LITERAL* pattern, naming a replicated topic, are
//!   copied, with the resource renamed to the target topic;
//! - operations Alter, AlterConfigs, Create, Delete, Describe, DescribeConfigs and Read are
//!   copied as they are (allow or deny); Write only as a deny (an allow-Write on the source
//!   must not let producers write into the replica); anything else (e.g. All) is not copied;
//! - PREFIXED and non-topic ACLs are not copied, and nothing is ever deleted on the target.
//!
//! Only bindings missing on the target are created, so CreateAcls is sent only when there is
//! something to create (Tansu 0.6 answers DescribeAcls with nothing and mangles CreateAcls).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use kreplicate_wire::admin::{
    AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType,
};
use kreplicate_wire::client::Error as ClientError;
use kreplicate_wire::Api;
use kreplicate_wire::BrokerErrorKind;

use super::error::Problems;
use super::Side;

/// The copy of `binding` for the target, or `None` when MSK's rules do not copy it.
/// `topics` maps replicated source topic names to their target names.
pub(super) fn copyable(
    binding: &AclBinding,
    topics: &BTreeMap<String, String>,
) -> Option<AclBinding> {
    if binding.resource_type != ResourceType::Topic || binding.pattern_type != PatternType::Literal
    {
        return None;
    }
    // The literal `*` (all topics) is not a replicated topic: it is not copied.
    let target = topics.get(&binding.resource_name)?;
    let copied = match binding.operation {
        Operation::Alter
        | Operation::AlterConfigs
        | Operation::Create
        | Operation::Delete
        | Operation::Describe
        | Operation::DescribeConfigs
        | Operation::Read => true,
        Operation::Write => binding.permission == Permission::Deny,
        _ => false,
    };
    copied.then(|| AclBinding {
        resource_name: target.clone(),
        ..binding.clone()
    })
}

const CREATE: &str = "creating topic ACLs (CreateAcls)";

/// Why ACLs are not being copied right now; each is logged once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Skip {
    SourceLacksDescribeAcls,
    SourceSecurityDisabled,
    TargetSecurityDisabled,
}

/// ACL copy state: which "not copying" notices were logged.
#[derive(Debug, Default)]
pub(crate) struct AclSync {
    logged: HashSet<Skip>,
    /// Whether the target's lack of DescribeAcls/CreateAcls was reported.
    target_unsupported_reported: bool,
}

impl AclSync {
    /// Copies the missing topic ACLs of `topics` (source name → target name).
    pub(crate) async fn sync(
        &mut self,
        source: &Side,
        target: &Side,
        topics: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) {
        let missing = self.missing(source, target, topics, problems).await;
        if missing.is_empty() {
            return;
        }
        let bindings: Vec<AclBinding> = missing.iter().map(|(b, _)| b.clone()).collect();
        match target.admin.create_acls(&bindings).await {
            Ok(results) => {
                for ((binding, source_topic), result) in missing.iter().zip(results) {
                    match result {
                        Ok(()) => tracing::info!(
                            topic = %binding.resource_name, principal = %binding.principal,
                            host = %binding.host, operation = ?binding.operation,
                            permission = ?binding.permission,
                            "copied ACL of source topic '{source_topic}'"
                        ),
                        Err(e) => problems.push(
                            source_topic,
                            target.error(Some(&binding.resource_name), CREATE, e),
                        ),
                    }
                }
            }
            Err(e) => {
                for (binding, source_topic) in &missing {
                    problems.push(
                        source_topic,
                        target.error(
                            Some(&binding.resource_name),
                            CREATE,
                            format!(
                                "{e} (ACL for {} on {:?})",
                                binding.principal, binding.operation
                            ),
                        ),
                    );
                }
            }
        }
    }

    /// The copies of the source's topic ACLs on `topics` (source name → target name) that the
    /// target lacks, each with its source topic; reads only. Empty when ACLs cannot be copied
    /// (each reason logged once, or reported in `problems`).
    pub(crate) async fn missing(
        &mut self,
        source: &Side,
        target: &Side,
        topics: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Vec<(AclBinding, String)> {
        if topics.is_empty() {
            return Vec::new();
        }
        let filter = AclFilter {
            resource_type: Some(ResourceType::Topic),
            pattern_type: Some(PatternType::Literal),
            ..AclFilter::any()
        };
        const DESCRIBE: &str = "reading topic ACLs (DescribeAcls)";
        match source.admin.supports(Api::DescribeAcls).await {
            Ok(true) => {}
            Ok(false) => {
                self.notice(
                    Skip::SourceLacksDescribeAcls,
                    format_args!(
                        "source cluster {} does not offer DescribeAcls; topic ACLs are not copied",
                        source.cluster
                    ),
                );
                return Vec::new();
            }
            Err(e) => {
                problems.push("", source.error(None, DESCRIBE, e));
                return Vec::new();
            }
        }
        let source_acls = match source.admin.describe_acls(&filter).await {
            Ok(acls) => acls,
            Err(e) if is_security_disabled(&e) => {
                self.notice(
                    Skip::SourceSecurityDisabled,
                    format_args!(
                        "source cluster {} has no authorizer (SECURITY_DISABLED); topic ACLs are \
                         not copied",
                        source.cluster
                    ),
                );
                return Vec::new();
            }
            Err(e) => {
                problems.push("", source.error(None, DESCRIBE, e));
                return Vec::new();
            }
        };
        let wanted: BTreeSet<(AclBinding, &str)> = source_acls
            .iter()
            .filter_map(|b| Some((copyable(b, topics)?, b.resource_name.as_str())))
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let supported = async {
            Ok::<_, ClientError>(
                target.admin.supports(Api::DescribeAcls).await?
                    && target.admin.supports(Api::CreateAcls).await?,
            )
        };
        match supported.await {
            Ok(true) => {}
            Ok(false) => {
                if !self.target_unsupported_reported {
                    self.target_unsupported_reported = true;
                    problems.push(
                        "",
                        target.error(
                            None,
                            CREATE,
                            format!(
                                "the target cluster does not offer DescribeAcls and CreateAcls; \
                                 {} topic ACLs of the source are not copied. Reported once.",
                                wanted.len()
                            ),
                        ),
                    );
                }
                return Vec::new();
            }
            Err(e) => {
                problems.push("", target.error(None, CREATE, e));
                return Vec::new();
            }
        }
        let existing: BTreeSet<AclBinding> = match target.admin.describe_acls(&filter).await {
            Ok(acls) => acls.into_iter().collect(),
            Err(e) if is_security_disabled(&e) => {
                self.notice(
                    Skip::TargetSecurityDisabled,
                    format_args!(
                        "target cluster {} has no authorizer (SECURITY_DISABLED); {} topic ACLs \
                         of the source are not copied",
                        target.cluster,
                        wanted.len()
                    ),
                );
                return Vec::new();
            }
            Err(e) => {
                problems.push("", target.error(None, DESCRIBE, e));
                return Vec::new();
            }
        };
        let missing: Vec<(AclBinding, &str)> = wanted
            .into_iter()
            .filter(|(b, _)| !existing.contains(b))
            .collect();
        missing
            .into_iter()
            .map(|(b, source_topic)| (b, source_topic.to_string()))
            .collect()
    }

    fn notice(&mut self, skip: Skip, message: std::fmt::Arguments<'_>) {
        if self.logged.insert(skip) {
            tracing::warn!("{message}");
        }
    }
}

fn is_security_disabled(e: &ClientError) -> bool {
    matches!(e, ClientError::Broker(b) if b.kind() == BrokerErrorKind::SecurityDisabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
        operation: Operation,
        permission: Permission,
    ) -> AclBinding {
        AclBinding {
            resource_type,
            resource_name: name.into(),
            pattern_type,
            principal: "User:alice".into(),
            host: "*".into(),
            operation,
            permission,
        }
    }

    fn topics() -> BTreeMap<String, String> {
        [("orders".to_string(), "src.orders".to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn copied_operations_keep_permission_and_get_the_target_name() {
        for op in [
            Operation::Alter,
            Operation::AlterConfigs,
            Operation::Create,
            Operation::Delete,
            Operation::Describe,
            Operation::DescribeConfigs,
            Operation::Read,
        ] {
            for permission in [Permission::Allow, Permission::Deny] {
                let b = acl(
                    ResourceType::Topic,
                    "orders",
                    PatternType::Literal,
                    op,
                    permission,
                );
                let copy = copyable(&b, &topics()).unwrap();
                assert_eq!(copy.resource_name, "src.orders");
                assert_eq!((copy.operation, copy.permission), (op, permission));
                assert_eq!((&copy.principal[..], &copy.host[..]), ("User:alice", "*"));
            }
        }
    }

    #[test]
    fn write_only_as_deny_and_never_all_or_cluster_operations() {
        let t = |op, p| {
            copyable(
                &acl(ResourceType::Topic, "orders", PatternType::Literal, op, p),
                &topics(),
            )
        };
        assert!(t(Operation::Write, Permission::Deny).is_some());
        assert!(t(Operation::Write, Permission::Allow).is_none());
        assert!(t(Operation::All, Permission::Allow).is_none());
        assert!(t(Operation::IdempotentWrite, Permission::Allow).is_none());
    }

    #[test]
    fn only_literal_topic_acls_of_replicated_topics() {
        let read = |rt, name: &str, pt| {
            copyable(
                &acl(rt, name, pt, Operation::Read, Permission::Allow),
                &topics(),
            )
        };
        assert!(read(ResourceType::Topic, "orders", PatternType::Prefixed).is_none());
        assert!(read(ResourceType::Topic, "other", PatternType::Literal).is_none());
        assert!(read(ResourceType::Topic, "*", PatternType::Literal).is_none());
        assert!(read(ResourceType::Group, "orders", PatternType::Literal).is_none());
        assert!(read(ResourceType::Cluster, "kafka-cluster", PatternType::Literal).is_none());
    }
}
