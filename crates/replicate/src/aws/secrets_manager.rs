//! `SecretArn` / `RootCaCertificate` as Secrets Manager ARNs: GetSecretValue in the ARN's
//! region, the SecretString returned as is (its JSON shape is read by `config::Secret`). Values are cached for a short time so a reconnect storm
//! does not hammer the API, and re-read after that, so a rotated secret is used from the next
//! connection on.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use super::error::is_access_denied;
use super::{sdk, AwsError, SdkFailure};
use crate::config::Arn;

const ACTION: &str = "secretsmanager:GetSecretValue";

/// How long a fetched value is reused. Short: rotation is picked up within this much time.
pub(crate) const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(10);

struct Cache {
    ttl: Duration,
    values: HashMap<String, (Instant, String)>,
}

static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();

fn cache() -> &'static Mutex<Cache> {
    CACHE.get_or_init(|| {
        Mutex::new(Cache {
            ttl: DEFAULT_CACHE_TTL,
            values: HashMap::new(),
        })
    })
}

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    crate::lock::lock(cache())
}

test_util_pub! {
    /// Sets how long secrets fetched from AWS Secrets Manager are reused (process-wide; 10 s by
    /// default); zero fetches on every new connection.
    pub fn set_cache_ttl(ttl: Duration) {
        let mut cache = lock();
        cache.ttl = ttl;
        cache.values.clear();
    }
}

/// One fetch at a time: callers that arrive while a secret is being fetched wait for it and
/// then find it cached, so a reconnect storm makes one call per secret per TTL.
static FETCHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The SecretString of the secret `arn` (current version), from the cache if fresh.
pub(crate) async fn secret_string(arn: &Arn) -> Result<String, AwsError> {
    let key = arn.to_string();
    let cached = |key: &str| {
        let cache = lock();
        cache
            .values
            .get(key)
            .filter(|(at, _)| at.elapsed() < cache.ttl)
            .map(|(_, value)| value.clone())
    };
    if let Some(value) = cached(&key) {
        return Ok(value);
    }
    let _fetching = FETCHING.lock().await;
    if let Some(value) = cached(&key) {
        return Ok(value);
    }
    let value = fetch(arn).await?;
    lock().values.insert(key, (Instant::now(), value.clone()));
    Ok(value)
}

async fn fetch(arn: &Arn) -> Result<String, AwsError> {
    let resource = arn.to_string();
    // Resolve credentials first so that "none found" gets its own message naming the chain.
    sdk::credentials(&arn.region, ACTION, &resource).await?;
    let config = sdk::config(&arn.region).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(&resource)
        .send()
        .await
        .map_err(|e| sdk_error(e, &resource))?;
    match output.secret_string {
        Some(s) => Ok(s),
        None => Err(AwsError::Invalid {
            action: ACTION,
            resource,
            problem: "the secret has no SecretString (a binary secret); store the JSON as a string"
                .into(),
        }),
    }
}

fn sdk_error<E, R>(e: SdkError<E, R>, resource: &str) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &e {
        let err = service.err();
        let code = err.code().unwrap_or("Unknown").to_owned();
        let message = err.message().unwrap_or("(no message)").to_owned();
        return if is_access_denied(&code) {
            AwsError::AccessDenied {
                action: ACTION,
                resource: resource.to_owned(),
                message,
            }
        } else {
            AwsError::Service {
                action: ACTION,
                resource: resource.to_owned(),
                code,
                message,
            }
        };
    }
    let unreachable = matches!(
        e,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
    );
    let source = SdkFailure(Box::new(e));
    if unreachable {
        AwsError::Unreachable {
            action: ACTION,
            resource: resource.to_owned(),
            endpoint: sdk::endpoint("SECRETS_MANAGER", "the Secrets Manager endpoint".into()),
            source: Box::new(source),
        }
    } else {
        AwsError::Sdk {
            action: ACTION,
            resource: resource.to_owned(),
            source,
        }
    }
}
