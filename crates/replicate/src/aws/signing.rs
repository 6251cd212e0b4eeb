//! SigV4 for the two requests kreplicate signs itself: the presigned `kafka-cluster:Connect`
//! URL of an MSK IAM token (signature in the query) and GetBootstrapBrokers (signature in
//! headers). aws-sigv4 does the canonicalisation; this only adapts its inputs and outputs.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::SigningError;

/// What to add to the request: headers (header signing) or query parameters (presigning).
pub(super) struct Signature {
    pub(super) headers: Vec<(String, String)>,
    pub(super) params: Vec<(String, String)>,
}

/// Signs `GET url` (already percent-encoded) for `service` in `region` at `time`. With
/// `presign_for`, the signature goes into the query and is valid that long; otherwise into
/// headers. The payload is empty and its SHA-256 is signed in both cases (botocore's
/// SigV4QueryAuth, which the MSK signer libraries use, does so; not `UNSIGNED-PAYLOAD`).
pub(super) fn sign_get(
    credentials: &Credentials,
    region: &str,
    service: &str,
    url: &str,
    presign_for: Option<Duration>,
    time: SystemTime,
) -> Result<Signature, SigningError> {
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = presign_for {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let body = SignableBody::Bytes(&[]);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(SigningError::Params)?
        .into();
    let request =
        SignableRequest::new("GET", url, std::iter::empty(), body).map_err(SigningError::Sign)?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(SigningError::Sign)?
        .into_parts();
    let (headers, params) = instructions.into_parts();
    Ok(Signature {
        headers: headers
            .into_iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect(),
        params: params
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_owned()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use aws_sigv4::sign::v4::signing_params::BuildError;

    use super::*;
    use crate::aws::AwsError;

    #[test]
    fn a_signing_failure_names_what_was_signed_and_chains_to_aws_sigv4s_error() {
        let missing: BuildError = v4::SigningParams::<SigningSettings>::builder()
            .build()
            .unwrap_err();
        let sigv4 = missing.to_string();
        let e = AwsError::Signing {
            action: "kafka-cluster:Connect",
            resource: "MSK clusters in us-east-1".into(),
            what: "the MSK IAM token",
            source: SigningError::Params(missing),
        };
        assert_eq!(
            e.to_string(),
            format!("kafka-cluster:Connect on MSK clusters in us-east-1: signing the MSK IAM token: {sigv4}")
        );
        let signing = e.source().expect("the signing error");
        assert_eq!(signing.to_string(), sigv4);
        assert!(
            signing.source().is_some_and(|s| s.is::<BuildError>()),
            "{signing:?}"
        );
    }
}
