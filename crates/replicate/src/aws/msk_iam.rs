//! MSK IAM authentication token, as the aws-msk-iam-sasl-signer libraries build it: the URL
//! `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect` presigned with SigV4
//! for the service `kafka-cluster` (the signature and X-Amz-* parameters in the query), then
//! `User-Agent=<client>` appended unsigned, the whole URL base64url-encoded without padding.
//! It is sent with SASL OAUTHBEARER. A new token is signed for every connection; the broker
//! answers with the session lifetime (the token's remaining validity) and the connection is
//! re-established before it runs out, with a new token (KIP-368 re-authentication by
//! reconnect, see the wire crate's handshake).

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::signing::sign_get;
use super::{sdk, AwsError, SigningError};

/// The IAM action the token proves.
pub(crate) const ACTION: &str = "kafka-cluster:Connect";

/// One signed token.
#[derive(Clone)]
pub(crate) struct MskIamToken {
    /// The OAUTHBEARER token.
    pub token: String,
    /// The access key id that signed it (named in messages; not secret).
    pub access_key_id: String,
    /// When the signature stops being valid.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for MskIamToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MskIamToken")
            .field("token", &"<redacted>")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The host the token is signed for (not the broker's: MSK checks this one).
pub(crate) fn signing_host(region: &str) -> String {
    format!("kafka.{region}.amazonaws.com")
}

/// Signs a token for `region` with the default credential chain, valid for `lifetime`.
pub(crate) async fn token(region: &str, lifetime: Duration) -> Result<MskIamToken, AwsError> {
    let resource = format!("MSK clusters in {region}");
    let credentials = sdk::credentials(region, ACTION, &resource).await?;
    let now = SystemTime::now();
    let token =
        sign_token(&credentials, region, lifetime, now).map_err(|source| AwsError::Signing {
            action: ACTION,
            resource,
            what: "the MSK IAM token",
            source,
        })?;
    Ok(MskIamToken {
        token,
        access_key_id: credentials.access_key_id().to_owned(),
        expires_at: now + lifetime,
    })
}

/// The token for `credentials` at `time` (separate from [`token`] so tests can pin inputs).
pub(crate) fn sign_token(
    credentials: &aws_credential_types::Credentials,
    region: &str,
    lifetime: Duration,
    time: SystemTime,
) -> Result<String, SigningError> {
    let base = format!(
        "https://{}/?Action={}",
        signing_host(region),
        encode(ACTION)
    );
    let signature = sign_get(
        credentials,
        region,
        "kafka-cluster",
        &base,
        Some(lifetime),
        time,
    )?;
    let mut url = base;
    for (name, value) in signature.params {
        url.push('&');
        url.push_str(&encode(&name));
        url.push('=');
        url.push_str(&encode(&value));
    }
    url.push_str("&User-Agent=");
    url.push_str(&encode(concat!("kreplicate/", env!("CARGO_PKG_VERSION"))));
    Ok(URL_SAFE_NO_PAD.encode(url))
}

/// RFC 3986 unreserved characters stay, everything else is %-encoded (as SigV4 wants).
fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_the_presigned_connect_url() {
        let credentials = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = sign_token(&credentials, "us-east-1", Duration::from_secs(900), time).unwrap();
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(&token).unwrap()).unwrap();
        assert!(
            url.starts_with(
                "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"
            ),
            "{url}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Fkafka-cluster%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            // What botocore's SigV4QueryAuth gives for these inputs.
            "X-Amz-Signature=253398ddf30b737b61a7a122a0259ada4c7162423af560094b2f4edef8033616",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
        assert!(url.ends_with(&format!(
            "&User-Agent=kreplicate%2F{}",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(!token.contains('='), "no padding: {token}");
    }
}
