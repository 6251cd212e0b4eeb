//! AWS Secrets Manager in moto, for the tests of Secrets Manager ARNs: create a secret, rotate
//! its value. moto serves every service on one port and tells them apart by the service in the
//! Authorization header's credential scope, so requests carry an (unchecked) one naming
//! `secretsmanager` and the region the secret belongs to.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::tansu::MotoServer;

/// moto's default account, in every ARN it returns.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// Secrets Manager calls on a running moto.
pub trait SecretsManagerExt {
    /// Creates secret `name` holding `value` in `region`; returns its full ARN (with moto's
    /// random 6-character suffix).
    fn create_secret(&self, region: &str, name: &str, value: &str) -> Result<String>;
    /// Stores a new current value for `name` (a rotation).
    fn put_secret_value(&self, region: &str, name: &str, value: &str) -> Result<()>;
}

impl SecretsManagerExt for MotoServer {
    fn create_secret(&self, region: &str, name: &str, value: &str) -> Result<String> {
        let answer = call(
            self,
            region,
            "CreateSecret",
            json!({"Name": name, "SecretString": value}),
        )?;
        answer["ARN"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("CreateSecret answer has no ARN: {answer}"))
    }

    fn put_secret_value(&self, region: &str, name: &str, value: &str) -> Result<()> {
        call(
            self,
            region,
            "PutSecretValue",
            json!({"SecretId": name, "SecretString": value}),
        )?;
        Ok(())
    }
}

fn call(moto: &MotoServer, region: &str, operation: &str, body: Value) -> Result<Value> {
    let target = format!("secretsmanager.{operation}");
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"
    );
    let (status, answer) = moto.request(
        "POST",
        "/",
        &[
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", authorization.as_str()),
        ],
        &body.to_string(),
    )?;
    if status != 200 {
        bail!("moto answered {status} to {operation}: {answer}");
    }
    serde_json::from_str(&answer).with_context(|| format!("{operation} answer: {answer}"))
}
