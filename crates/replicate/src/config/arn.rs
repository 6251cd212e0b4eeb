//! AWS ARNs, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, as the guide's files use them for
//! Secrets Manager secrets and MSK clusters. The region in the ARN is the region kreplicate
//! calls, so a file never needs a separate region setting.

use std::fmt;

/// A parsed ARN. `resource` keeps any further `:` (a secret ARN has none; some services do).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub(crate) partition: String,
    /// `secretsmanager`, `kafka`, …
    pub(crate) service: String,
    /// e.g. `us-east-1`.
    pub(crate) region: String,
    /// Account id (digits).
    pub(crate) account: String,
    /// e.g. `secret:my-creds`, `cluster/my-cluster/abc-123`.
    pub(crate) resource: String,
}

/// Why a string is not a usable ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arn:?} is not an ARN of the form arn:PARTITION:{service}:REGION:ACCOUNT:{resource}: {problem}")]
pub(crate) struct ArnError {
    /// The string as written.
    pub(crate) arn: String,
    /// The service the caller expected.
    pub(crate) service: &'static str,
    /// The resource form the caller expected.
    pub(crate) resource: &'static str,
    /// What is wrong.
    pub(crate) problem: String,
}

impl Arn {
    /// Parses `arn`, which must belong to `service` and have a `resource` starting with
    /// `resource_prefix` (`"secret:"`, `"cluster/"`); `resource_form` is shown in errors.
    pub(crate) fn parse(
        arn: &str,
        service: &'static str,
        resource_prefix: &str,
        resource_form: &'static str,
    ) -> Result<Self, ArnError> {
        let bad = |problem: String| ArnError {
            arn: arn.to_owned(),
            service,
            resource: resource_form,
            problem,
        };
        let mut parts = arn.splitn(6, ':');
        let mut next = || parts.next().unwrap_or("");
        let (scheme, partition, svc, region, account, resource) =
            (next(), next(), next(), next(), next(), next());
        if scheme != "arn" {
            return Err(bad("it does not start with \"arn:\"".into()));
        }
        if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
            return Err(bad(format!(
                "partition {partition:?} is not aws, aws-cn or aws-us-gov"
            )));
        }
        if svc != service {
            return Err(bad(format!("service {svc:?} is not {service:?}")));
        }
        let region_ok = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(bad(format!(
                "region {region:?} is not a region name such as us-east-1"
            )));
        }
        if account.is_empty() || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!("account {account:?} is not an account number")));
        }
        if !resource.starts_with(resource_prefix) || resource.len() == resource_prefix.len() {
            return Err(bad(format!(
                "resource {resource:?} does not start with {resource_prefix:?}"
            )));
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: svc.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// A Secrets Manager secret ARN (`secret:NAME`, with or without the 6-character suffix).
    pub(crate) fn secret(arn: &str) -> Result<Self, ArnError> {
        Self::parse(arn, "secretsmanager", "secret:", "secret:NAME")
    }

    /// An MSK cluster ARN (`cluster/NAME/UUID`).
    pub(crate) fn msk_cluster(arn: &str) -> Result<Self, ArnError> {
        let parsed = Self::parse(arn, "kafka", "cluster/", "cluster/NAME/UUID")?;
        if parsed.resource.split('/').filter(|s| !s.is_empty()).count() < 2 {
            return Err(ArnError {
                arn: arn.to_owned(),
                service: "kafka",
                resource: "cluster/NAME/UUID",
                problem: "the cluster name is missing".into(),
            });
        }
        Ok(parsed)
    }

    /// For an MSK cluster ARN, the cluster's name (`cluster/NAME/UUID`).
    pub(crate) fn cluster_name(&self) -> Option<&str> {
        self.resource.strip_prefix("cluster/")?.split('/').next()
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_guides_arns() {
        let s =
            Arn::secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:my-creds").unwrap();
        assert_eq!(
            (s.region.as_str(), s.account.as_str(), s.resource.as_str()),
            ("us-east-1", "123456789012", "secret:my-creds")
        );
        let c = Arn::msk_cluster("arn:aws:kafka:eu-west-1:123456789012:cluster/my-cluster/abc-123")
            .unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.cluster_name(), Some("my-cluster"));
        assert_eq!(
            c.to_string(),
            "arn:aws:kafka:eu-west-1:123456789012:cluster/my-cluster/abc-123"
        );
    }

    #[test]
    fn unfilled_placeholders_are_named() {
        let err = Arn::secret("arn:aws:secretsmanager:<REGION>:<ACCOUNT_ID>:secret:my-creds")
            .unwrap_err()
            .to_string();
        assert!(err.contains("region \"<REGION>\""), "{err}");
        let err = Arn::msk_cluster("arn:aws:kafka:us-east-1:<ACCOUNT_ID>:cluster/c/u")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("account \"<ACCOUNT_ID>\" is not an account number"),
            "{err}"
        );
    }

    #[test]
    fn wrong_service_or_resource_is_refused() {
        let err = Arn::secret("arn:aws:kafka:us-east-1:123456789012:cluster/c/u")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("service \"kafka\" is not \"secretsmanager\""),
            "{err}"
        );
        assert!(Arn::msk_cluster("arn:aws:kafka:us-east-1:123456789012:cluster/").is_err());
        assert!(Arn::msk_cluster("arn:aws:kafka:us-east-1:123456789012:topic/c/u/t").is_err());
        assert!(Arn::secret("arn:aws:secretsmanager:us-east-1:123456789012").is_err());
    }
}
