//! The pre-authentication phase of a front connection, as a Kafka broker runs it: ApiVersions
//! (forwarded upstream, with the SASL APIs ensured), SaslHandshake, then SaslAuthenticate rounds
//! (or raw tokens after a v0 handshake). Anything else before authentication closes the
//! connection, as Kafka does.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Decodable, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::frames::{encode_response, peek_request, read_frame, write_frame};
use super::msk_iam::{self, FrontMskIam};
use super::{FrontMechanism, FrontStats};
use crate::scram_server::{verify_plain, ScramAlgorithm, ScramServer, ScramServerStep, ScramUsers};

const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// Users and mechanisms, with SCRAM credentials derived once for all connections.
pub(super) struct SaslSetup {
    pub(super) mechanisms: Vec<FrontMechanism>,
    plain_users: HashMap<String, String>,
    scram256: Arc<ScramUsers>,
    scram512: Arc<ScramUsers>,
    msk_iam: Option<FrontMskIam>,
}

impl SaslSetup {
    pub(super) fn new(
        users: &HashMap<String, String>,
        mechanisms: &[FrontMechanism],
        msk_iam: Option<FrontMskIam>,
    ) -> Self {
        SaslSetup {
            mechanisms: mechanisms.to_vec(),
            plain_users: users.clone(),
            scram256: Arc::new(ScramUsers::new(ScramAlgorithm::Sha256, users)),
            scram512: Arc::new(ScramUsers::new(ScramAlgorithm::Sha512, users)),
            msk_iam,
        }
    }

    fn mechanism_names(&self) -> Vec<StrBytes> {
        self.mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect()
    }
}

/// The server half of one mechanism's exchange.
enum Exchange {
    Plain,
    Scram(ScramServer),
    /// Verified asynchronously in [`authenticate`] (a python process checks the signature).
    MskIam,
}

impl Exchange {
    fn new(setup: &SaslSetup, mechanism: FrontMechanism) -> Self {
        match mechanism {
            FrontMechanism::Plain => Exchange::Plain,
            FrontMechanism::ScramSha256 => {
                Exchange::Scram(ScramServer::new(setup.scram256.clone()))
            }
            FrontMechanism::ScramSha512 => {
                Exchange::Scram(ScramServer::new(setup.scram512.clone()))
            }
            FrontMechanism::OAuthBearer => Exchange::MskIam,
        }
    }

    /// Returns the bytes to send and whether the client is now authenticated.
    fn step(&mut self, setup: &SaslSetup, token: &[u8]) -> Result<(Vec<u8>, bool), String> {
        match self {
            Exchange::Plain => verify_plain(&setup.plain_users, token)
                .map(|_| (Vec::new(), true))
                .map_err(|e| e.to_string()),
            Exchange::Scram(server) => match server.step(token) {
                Ok(ScramServerStep::Challenge(c)) => Ok((c, false)),
                Ok(ScramServerStep::Success { server_final, .. }) => Ok((server_final, true)),
                Err(e) => Err(e.to_string()),
            },
            Exchange::MskIam => Err("OAUTHBEARER needs SaslAuthenticate (SaslHandshake v1)".into()),
        }
    }
}

/// Kafka's message for a failed login.
fn failure_message(mechanism: FrontMechanism) -> String {
    match mechanism {
        FrontMechanism::Plain => "Authentication failed: Invalid username or password".into(),
        other => format!(
            "Authentication failed during authentication due to invalid credentials with SASL \
             mechanism {}",
            other.name()
        ),
    }
}

enum Phase {
    /// Before a successful SaslHandshake.
    Handshake,
    /// After SaslHandshake v1: SaslAuthenticate requests carry the tokens.
    Authenticate(FrontMechanism, Exchange),
    /// After SaslHandshake v0: raw length-prefixed tokens, no Kafka headers.
    LegacyTokens(FrontMechanism, Exchange),
}

/// How the pre-authentication phase ended.
pub(super) enum Gate {
    /// The connection must be closed (client left, failed, or broke protocol).
    Closed,
    /// Authenticated: relay from now on, until `expires` if the credentials expire.
    Open {
        expires: Option<tokio::time::Instant>,
    },
}

/// Records a refused login for [`super::Front::last_auth_failure`].
fn refused(stats: &FrontStats, why: String) {
    stats.auth_failures.fetch_add(1, Ordering::Relaxed);
    *stats
        .last_auth_failure
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(why);
}

/// Runs the pre-authentication phase.
pub(super) async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    setup: &SaslSetup,
    stats: &FrontStats,
    client: &mut S,
    upstream: &mut TcpStream,
) -> anyhow::Result<Gate> {
    let open = Gate::Open { expires: None };
    let mut phase = Phase::Handshake;
    loop {
        let Some(frame) = read_frame(client).await? else {
            return Ok(Gate::Closed);
        };
        if let Phase::LegacyTokens(mechanism, exchange) = &mut phase {
            return match exchange.step(setup, &frame) {
                Ok((reply, true)) => {
                    // Count before answering so a test that saw the answer sees the count.
                    stats.auth_successes.fetch_add(1, Ordering::Relaxed);
                    write_frame(client, &reply).await?;
                    Ok(open)
                }
                Ok((reply, false)) => {
                    write_frame(client, &reply).await?;
                    continue;
                }
                Err(why) => {
                    tracing::debug!(mechanism = mechanism.name(), %why, "front: SASL v0 login failed");
                    refused(stats, why);
                    Ok(Gate::Closed)
                }
            };
        }
        let Some((key, version, correlation_id)) = peek_request(&frame) else {
            tracing::debug!("front: short request before authentication, closing");
            return Ok(Gate::Closed);
        };
        let mut buf = frame.clone();
        if decode_request_header_from_buffer(&mut buf).is_err() {
            tracing::debug!(
                key,
                "front: undecodable request header before authentication"
            );
            return Ok(Gate::Closed);
        }
        match (ApiKey::try_from(key), &mut phase) {
            (Ok(ApiKey::ApiVersions), Phase::Handshake) => {
                write_frame(upstream, &frame).await?;
                let reply = read_frame(upstream)
                    .await?
                    .context("upstream closed while answering ApiVersions")?;
                let patched = ensure_sasl_apis(&reply, version).unwrap_or_else(|e| {
                    tracing::warn!("front: cannot patch ApiVersions v{version}: {e:#}");
                    reply.clone()
                });
                write_frame(client, &patched).await?;
            }
            (Ok(ApiKey::SaslHandshake), Phase::Handshake) if (0..=1).contains(&version) => {
                let request = SaslHandshakeRequest::decode(&mut buf, version)
                    .context("decoding SaslHandshake")?;
                let wanted = FrontMechanism::from_name(request.mechanism.as_str())
                    .filter(|m| setup.mechanisms.contains(m));
                let response = SaslHandshakeResponse::default()
                    .with_error_code(if wanted.is_some() {
                        0
                    } else {
                        UNSUPPORTED_SASL_MECHANISM
                    })
                    .with_mechanisms(setup.mechanism_names());
                write_frame(
                    client,
                    &encode_response(ApiKey::SaslHandshake, version, correlation_id, &response)?,
                )
                .await?;
                if let Some(m) = wanted {
                    let exchange = Exchange::new(setup, m);
                    phase = if version == 0 {
                        Phase::LegacyTokens(m, exchange)
                    } else {
                        Phase::Authenticate(m, exchange)
                    };
                }
            }
            (Ok(ApiKey::SaslAuthenticate), Phase::Authenticate(mechanism, exchange))
                if (0..=2).contains(&version) =>
            {
                let request = SaslAuthenticateRequest::decode(&mut buf, version)
                    .context("decoding SaslAuthenticate")?;
                let failed = |message: String| {
                    SaslAuthenticateResponse::default()
                        .with_error_code(SASL_AUTHENTICATION_FAILED)
                        .with_error_message(Some(StrBytes::from_string(message)))
                };
                let mut expires = None;
                let (response, outcome) = match (exchange, &setup.msk_iam) {
                    (Exchange::MskIam, Some(iam)) => {
                        match msk_iam::verify(iam, &request.auth_bytes).await {
                            Ok(at) => {
                                // KIP-368: the session lasts as long as the token.
                                let left = at
                                    .duration_since(std::time::SystemTime::now())
                                    .unwrap_or_default();
                                expires = Some(tokio::time::Instant::now() + left);
                                (
                                    SaslAuthenticateResponse::default().with_session_lifetime_ms(
                                        i64::try_from(left.as_millis()).unwrap_or(i64::MAX),
                                    ),
                                    Ok(true),
                                )
                            }
                            Err(refusal) => (failed(refusal.client_message), Err(refusal.reason)),
                        }
                    }
                    (exchange, _) => match exchange.step(setup, &request.auth_bytes) {
                        Ok((reply, done)) => (
                            SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(reply)),
                            Ok(done),
                        ),
                        Err(why) => (failed(failure_message(*mechanism)), Err(why)),
                    },
                };
                // Count before answering so a test that saw the answer sees the count.
                let outcome = match outcome {
                    Ok(true) => {
                        stats.auth_successes.fetch_add(1, Ordering::Relaxed);
                        Some(true)
                    }
                    Ok(false) => Some(false),
                    Err(why) => {
                        tracing::debug!(mechanism = mechanism.name(), %why, "front: SASL login failed");
                        refused(stats, why);
                        None
                    }
                };
                write_frame(
                    client,
                    &encode_response(ApiKey::SaslAuthenticate, version, correlation_id, &response)?,
                )
                .await?;
                match outcome {
                    Some(true) => return Ok(Gate::Open { expires }),
                    Some(false) => {}
                    // Kafka closes the connection after a failed authentication.
                    None => return Ok(Gate::Closed),
                }
            }
            (Ok(ApiKey::SaslAuthenticate), _) if (0..=2).contains(&version) => {
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(ILLEGAL_SASL_STATE)
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Unexpected SaslAuthenticate request before a successful SaslHandshake",
                    )));
                write_frame(
                    client,
                    &encode_response(ApiKey::SaslAuthenticate, version, correlation_id, &response)?,
                )
                .await?;
                return Ok(Gate::Closed);
            }
            (api, _) => {
                tracing::debug!(
                    ?api,
                    version,
                    "front: request before authentication, closing"
                );
                return Ok(Gate::Closed);
            }
        }
    }
}

/// Makes sure an ApiVersions response lists SaslHandshake v0-1 and SaslAuthenticate v0-2 (what
/// the front implements). Error responses pass through untouched.
fn ensure_sasl_apis(reply: &Bytes, version: i16) -> anyhow::Result<Bytes> {
    // ApiVersions responses always use header v0 (correlation id only) so a client can read
    // them whatever version it asked for; error_code is the first body field in all versions.
    if reply.len() < 6 {
        bail!("ApiVersions response of {} bytes is too short", reply.len());
    }
    if i16::from_be_bytes([reply[4], reply[5]]) != 0 {
        return Ok(reply.clone());
    }
    let mut buf = reply.clone();
    let header = ResponseHeader::decode(&mut buf, 0)?;
    let mut body = ApiVersionsResponse::decode(&mut buf, version)?;
    for (key, max) in [(ApiKey::SaslHandshake, 1), (ApiKey::SaslAuthenticate, 2)] {
        let key = key as i16;
        match body.api_keys.iter_mut().find(|a| a.api_key == key) {
            Some(entry) => {
                entry.min_version = 0;
                entry.max_version = max;
            }
            None => body.api_keys.push(
                ApiVersion::default()
                    .with_api_key(key)
                    .with_min_version(0)
                    .with_max_version(max),
            ),
        }
    }
    encode_response(ApiKey::ApiVersions, version, header.correlation_id, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_missing_sasl_apis_and_keeps_others() {
        let body = ApiVersionsResponse::default().with_api_keys(vec![
            ApiVersion::default()
                .with_api_key(3)
                .with_min_version(0)
                .with_max_version(12),
            ApiVersion::default()
                .with_api_key(17)
                .with_min_version(1)
                .with_max_version(1),
        ]);
        let reply = encode_response(ApiKey::ApiVersions, 3, 42, &body).unwrap();
        let patched = ensure_sasl_apis(&reply, 3).unwrap();
        let mut buf = patched.clone();
        assert_eq!(
            ResponseHeader::decode(&mut buf, 0).unwrap().correlation_id,
            42
        );
        let got = ApiVersionsResponse::decode(&mut buf, 3).unwrap();
        let summary: Vec<(i16, i16, i16)> = got
            .api_keys
            .iter()
            .map(|a| (a.api_key, a.min_version, a.max_version))
            .collect();
        assert_eq!(summary, vec![(3, 0, 12), (17, 0, 1), (36, 0, 2)]);
    }

    #[test]
    fn error_replies_pass_through() {
        let body = ApiVersionsResponse::default()
            .with_error_code(kafka_protocol::error::ResponseError::UnsupportedVersion.code());
        let reply = encode_response(ApiKey::ApiVersions, 0, 7, &body).unwrap();
        assert_eq!(ensure_sasl_apis(&reply, 3).unwrap(), reply);
    }
}
