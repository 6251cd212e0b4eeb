//! MSK IAM on the front: the OAUTHBEARER client message is parsed here, and the token is
//! verified by `tests/aws/verify_msk_iam_token.py`, which recomputes the SigV4 signature with
//! botocore from the test's access keys, so the check does not share code with the signer
//! under test. Refusals carry the messages MSK sends: `[<id>]: Access denied` for a token that
//! does not verify, `[<id>]: Invalid authentication payload` for one that cannot be read.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

/// Bound on one verification (python start-up and botocore import included).
const VERIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// What MSK IAM the front accepts: tokens signed for `region` by one of `keys`.
#[derive(Clone, Default)]
pub struct FrontMskIam {
    /// The region tokens must be signed for.
    pub region: String,
    /// Access key id → secret access key.
    pub keys: HashMap<String, String>,
}

impl fmt::Debug for FrontMskIam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("FrontMskIam")
            .field("region", &self.region)
            .field("access_key_ids", &ids)
            .finish()
    }
}

impl FrontMskIam {
    /// Accepts tokens signed in `region` by `access_key_id` / `secret_access_key`.
    pub fn new(region: &str, access_key_id: &str, secret_access_key: &str) -> Self {
        FrontMskIam {
            region: region.to_owned(),
            keys: HashMap::from([(access_key_id.to_owned(), secret_access_key.to_owned())]),
        }
    }
}

/// Why a login was refused: the message for the client, and the reason for the test.
pub(super) struct Refusal {
    pub(super) client_message: String,
    pub(super) reason: String,
}

/// Checks one OAUTHBEARER client message; `Ok` is the token's expiry.
pub(super) async fn verify(setup: &FrontMskIam, message: &[u8]) -> Result<SystemTime, Refusal> {
    let id = request_id();
    let Some(token) = bearer_token(message) else {
        return Err(Refusal {
            client_message: format!("[{id}]: Invalid authentication payload"),
            reason: "the OAUTHBEARER message does not carry auth=Bearer <token>".into(),
        });
    };
    match run_verifier(setup, &token).await {
        Ok(Verdict {
            ok: true,
            expires_at: Some(at),
            ..
        }) => Ok(UNIX_EPOCH + Duration::from_secs(at)),
        Ok(verdict) => {
            let reason = verdict.reason.unwrap_or_else(|| "refused".into());
            let message = if reason.starts_with("invalid payload") {
                "Invalid authentication payload"
            } else {
                "Access denied"
            };
            Err(Refusal {
                client_message: format!("[{id}]: {message}"),
                reason,
            })
        }
        Err(e) => Err(Refusal {
            client_message: format!("[{id}]: Access denied"),
            reason: format!("the verifier failed: {e:#}"),
        }),
    }
}

/// `n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01]*\x01` (RFC 7628, KIP-255).
fn bearer_token(message: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(message).ok()?;
    let rest = text.strip_prefix("n,")?;
    let (_authzid, kvpairs) = rest.split_once(",\x01")?;
    let kvpairs = kvpairs.strip_suffix("\x01\x01")?;
    kvpairs
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth=Bearer "))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Like MSK's, an id per refusal for the operator to quote.
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[derive(Debug, Deserialize)]
struct Verdict {
    ok: bool,
    expires_at: Option<u64>,
    reason: Option<String>,
}

fn verifier_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/aws/verify_msk_iam_token.py")
}

/// A token as aws-msk-iam-sasl-signer-python builds it (botocore), signed at `time` for
/// `action`: lets a test present expired, wrong-action or wrong-key tokens to the front.
pub async fn botocore_msk_iam_token(
    region: &str,
    access_key_id: &str,
    secret_access_key: &str,
    action: &str,
    expires: Duration,
    time: SystemTime,
) -> anyhow::Result<String> {
    let job = serde_json::json!({"sign": {
        "region": region,
        "access_key_id": access_key_id,
        "secret_access_key": secret_access_key,
        "action": action,
        "expires": expires.as_secs(),
        "time": time.duration_since(UNIX_EPOCH)?.as_secs(),
    }});
    #[derive(Deserialize)]
    struct Signed {
        token: String,
    }
    let signed: Signed = run_script(&job).await?;
    Ok(signed.token)
}

async fn run_verifier(setup: &FrontMskIam, token: &str) -> anyhow::Result<Verdict> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let job = serde_json::json!({
        "token": token,
        "region": setup.region,
        "keys": setup.keys,
        "now": now,
    });
    run_script(&job).await
}

async fn run_script<T: serde::de::DeserializeOwned>(job: &serde_json::Value) -> anyhow::Result<T> {
    let mut child = tokio::process::Command::new("python3")
        .arg(verifier_script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting python3 for the MSK IAM verifier (botocore comes with moto: bash scripts/test-env.sh)")?;
    let mut stdin = child.stdin.take().context("verifier stdin")?;
    stdin.write_all(job.to_string().as_bytes()).await?;
    drop(stdin);
    let output = tokio::time::timeout(VERIFY_TIMEOUT, child.wait_with_output())
        .await
        .context("the MSK IAM verifier did not answer in time")??;
    if !output.status.success() {
        bail!(
            "the MSK IAM verifier exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "the MSK IAM verifier's answer {:?}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bearer_token() {
        assert_eq!(
            bearer_token(b"n,,\x01auth=Bearer abc\x01\x01").as_deref(),
            Some("abc")
        );
        assert_eq!(
            bearer_token(b"n,a=u,\x01host=x\x01auth=Bearer abc\x01\x01").as_deref(),
            Some("abc")
        );
        assert_eq!(bearer_token(b"n,,\x01auth=Bearer \x01\x01"), None);
        assert_eq!(bearer_token(b"\0user\0pass"), None);
    }
}
