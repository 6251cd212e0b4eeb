//! `AmazonMskCluster.MskClusterArn` to brokers: the Kafka API's GetBootstrapBrokers
//! (`GET /v1/clusters/{clusterArn}/bootstrap-brokers`, SigV4 for the service `kafka`), in the
//! ARN's region, and the choice of the string that matches how kreplicate authenticates.

use std::time::SystemTime;

use serde::Deserialize;

use super::error::is_access_denied;
use super::signing::sign_get;
use super::{http, sdk, AwsError};
use crate::config::Arn;

/// The IAM action this call needs.
pub(crate) const ACTION: &str = "kafka:GetBootstrapBrokers";

/// GetBootstrapBrokers' answer (the fields kreplicate can use; others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BootstrapBrokers {
    /// Plaintext listeners.
    pub bootstrap_broker_string: Option<String>,
    /// TLS listeners (also mTLS).
    pub bootstrap_broker_string_tls: Option<String>,
    /// SASL/SCRAM over TLS.
    pub bootstrap_broker_string_sasl_scram: Option<String>,
    /// IAM over TLS.
    pub bootstrap_broker_string_sasl_iam: Option<String>,
    /// Public-access TLS listeners.
    pub bootstrap_broker_string_public_tls: Option<String>,
    /// Public-access SASL/SCRAM.
    pub bootstrap_broker_string_public_sasl_scram: Option<String>,
    /// Public-access IAM.
    pub bootstrap_broker_string_public_sasl_iam: Option<String>,
}

/// How kreplicate will authenticate, which decides the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// IAM (SASL OAUTHBEARER) over TLS: port 9098 (public 9198).
    SaslIam,
    /// SASL/SCRAM over TLS: port 9096 (public 9196).
    SaslScram,
    /// TLS, with or without a client certificate: port 9094 (public 9194).
    Tls,
    /// No TLS: port 9092.
    Plaintext,
}

impl Listener {
    /// The response member(s) for this listener, private first.
    pub(crate) fn members(self) -> &'static [&'static str] {
        match self {
            Listener::SaslIam => &[
                "BootstrapBrokerStringSaslIam",
                "BootstrapBrokerStringPublicSaslIam",
            ],
            Listener::SaslScram => &[
                "BootstrapBrokerStringSaslScram",
                "BootstrapBrokerStringPublicSaslScram",
            ],
            Listener::Tls => &["BootstrapBrokerStringTls", "BootstrapBrokerStringPublicTls"],
            Listener::Plaintext => &["BootstrapBrokerString"],
        }
    }
}

impl BootstrapBrokers {
    /// The broker string for `listener`: the VPC-private one if the cluster has it, else the
    /// public one.
    pub(crate) fn choose(&self, listener: Listener) -> Option<&str> {
        let candidates = match listener {
            Listener::SaslIam => [
                &self.bootstrap_broker_string_sasl_iam,
                &self.bootstrap_broker_string_public_sasl_iam,
            ],
            Listener::SaslScram => [
                &self.bootstrap_broker_string_sasl_scram,
                &self.bootstrap_broker_string_public_sasl_scram,
            ],
            Listener::Tls => [
                &self.bootstrap_broker_string_tls,
                &self.bootstrap_broker_string_public_tls,
            ],
            Listener::Plaintext => [&self.bootstrap_broker_string, &None],
        };
        candidates
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|s| !s.trim().is_empty())
    }
}

/// Calls GetBootstrapBrokers for the cluster `arn`.
pub(crate) async fn get_bootstrap_brokers(arn: &Arn) -> Result<BootstrapBrokers, AwsError> {
    let resource = arn.to_string();
    let credentials = sdk::credentials(&arn.region, ACTION, &resource).await?;
    let endpoint = sdk::endpoint(
        "KAFKA",
        format!("https://kafka.{}.amazonaws.com", arn.region),
    );
    let url = format!(
        "{endpoint}/v1/clusters/{}/bootstrap-brokers",
        percent_encoding::utf8_percent_encode(&resource, percent_encoding::NON_ALPHANUMERIC)
    );
    let signature = sign_get(
        &credentials,
        &arn.region,
        "kafka",
        &url,
        None,
        SystemTime::now(),
    )
    .map_err(|source| AwsError::Signing {
        action: ACTION,
        resource: resource.clone(),
        what: "the request",
        source,
    })?;
    let (status, body) = http::get(&url, &signature.headers)
        .await
        .map_err(|source| AwsError::Unreachable {
            action: ACTION,
            resource: resource.clone(),
            endpoint: endpoint.clone(),
            source: Box::new(source),
        })?;
    if status == 200 {
        return serde_json::from_slice(&body).map_err(|source| AwsError::NotJson {
            action: ACTION,
            resource,
            api: "GetBootstrapBrokers",
            source,
        });
    }
    // Error answers: {"message": "..."} plus the code in x-amzn-ErrorType, which the status
    // stands in for here (403 is always a refusal).
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(alias = "Message")]
        message: Option<String>,
        #[serde(alias = "__type", alias = "code")]
        r#type: Option<String>,
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let message = parsed
        .as_ref()
        .and_then(|b| b.message.clone())
        .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
    let code = parsed
        .and_then(|b| b.r#type)
        .map(|t| t.rsplit('#').next().unwrap_or(&t).to_owned())
        .unwrap_or_else(|| format!("HTTP {status}"));
    if status == 403 || is_access_denied(&code) {
        return Err(AwsError::AccessDenied {
            action: ACTION,
            resource,
            message,
        });
    }
    Err(AwsError::Service {
        action: ACTION,
        resource,
        code,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_private_then_public_per_listener() {
        let brokers: BootstrapBrokers = serde_json::from_str(
            r#"{"bootstrapBrokerStringSaslIam":"b-1:9098,b-2:9098",
                "bootstrapBrokerStringPublicSaslScram":"p-1:9196",
                "bootstrapBrokerStringTls":""}"#,
        )
        .unwrap();
        assert_eq!(brokers.choose(Listener::SaslIam), Some("b-1:9098,b-2:9098"));
        assert_eq!(brokers.choose(Listener::SaslScram), Some("p-1:9196"));
        assert_eq!(brokers.choose(Listener::Tls), None);
        assert_eq!(brokers.choose(Listener::Plaintext), None);
    }
}
