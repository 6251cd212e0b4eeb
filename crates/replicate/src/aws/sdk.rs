//! The shared AWS configuration: aws-config's default credential chain and the endpoint
//! overrides, loaded once per region, over rustls on ring (no aws-lc, no SSO: see docs/aws.md).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls;

use super::{AwsError, SdkFailure};

/// Loaded configurations by region. aws-config reads the environment and profile files when
/// loading; credentials themselves are asked for on each use (see [`credentials`]).
static CONFIGS: OnceLock<tokio::sync::Mutex<HashMap<String, SdkConfig>>> = OnceLock::new();

/// Credentials are reused until this long before they expire; the providers that hand out
/// expiring credentials (IMDS, ECS, web identity) are then asked again.
const CREDENTIALS_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Last credentials that carry an expiry, by region.
static CREDENTIALS: OnceLock<Mutex<HashMap<String, Credentials>>> = OnceLock::new();

/// The configuration for `region`.
pub(super) async fn config(region: &str) -> SdkConfig {
    let configs = CONFIGS.get_or_init(Default::default);
    let mut configs = configs.lock().await;
    if let Some(config) = configs.get(region) {
        return config.clone();
    }
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(http_client)
        .load()
        .await;
    configs.insert(region.to_owned(), config.clone());
    config
}

/// Credentials from the default chain, for `action` on `resource` (named in the error).
pub(super) async fn credentials(
    region: &str,
    action: &'static str,
    resource: &str,
) -> Result<Credentials, AwsError> {
    let cache = CREDENTIALS.get_or_init(Default::default);
    if let Some(cached) = lock(cache).get(region).cloned() {
        let fresh = cached
            .expiry()
            .is_some_and(|e| e > SystemTime::now() + CREDENTIALS_REFRESH_MARGIN);
        if fresh {
            return Ok(cached);
        }
    }
    let config = config(region).await;
    let no_credentials = || AwsError::NoCredentials {
        action,
        resource: resource.to_owned(),
        chain: chain_description(),
    };
    let provider = config.credentials_provider().ok_or_else(no_credentials)?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        use aws_credential_types::provider::error::CredentialsError;
        match e {
            CredentialsError::CredentialsNotLoaded(_) => no_credentials(),
            other => AwsError::CredentialChain {
                action,
                resource: resource.to_owned(),
                source: SdkFailure(Box::new(other)),
            },
        }
    })?;
    if credentials.expiry().is_some() {
        lock(cache).insert(region.to_owned(), credentials.clone());
    }
    Ok(credentials)
}

/// The default chain's providers in the order aws-config tries them, with what each looks at
/// here (the profile name from `AWS_PROFILE`).
fn chain_description() -> String {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    format!(
        "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), \
         profile {profile:?} (~/.aws/config, ~/.aws/credentials), \
         web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN), \
         ECS container credentials (AWS_CONTAINER_CREDENTIALS_*_URI), \
         EC2 instance metadata (IMDS)"
    )
}

/// The endpoint for `service` (its `AWS_ENDPOINT_URL_<SERVICE>` suffix, e.g. `KAFKA`): the
/// service-specific variable, then `AWS_ENDPOINT_URL` (what aws-config honours for the SDK
/// clients), then AWS's public endpoint.
pub(super) fn endpoint(service_env_suffix: &str, default: String) -> String {
    let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if !ignore {
        for var in [
            format!("AWS_ENDPOINT_URL_{service_env_suffix}"),
            "AWS_ENDPOINT_URL".to_owned(),
        ] {
            if let Ok(url) = std::env::var(&var) {
                if !url.trim().is_empty() {
                    return url.trim().trim_end_matches('/').to_owned();
                }
            }
        }
    }
    default
}

use crate::lock::lock;
