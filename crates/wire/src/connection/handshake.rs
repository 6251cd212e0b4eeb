//! What happens on a fresh socket before it carries traffic: ApiVersions, then (if configured)
//! SaslHandshake + SaslAuthenticate. These run strictly one request at a time on the raw stream;
//! pipelining starts only afterwards.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::not_kafka::{NotKafka, HANDSHAKE_MAX_FRAME_BYTES};
use super::{ConnectionError, CredentialsProvider};
use crate::frame::decode_frame;
use crate::protocol::{api_name, decode_response, encode_request, ApiVersionTable};
use crate::sasl::{SaslExchange, SaslMechanism, SaslStep};

/// Kafka's code for UNSUPPORTED_VERSION; an ApiVersions reply with it is encoded as v0.
const UNSUPPORTED_VERSION: i16 = 35;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
/// What Apache Kafka answers a SaslHandshake on a listener without SASL
/// (KafkaApis.handleSaslHandshakeRequest).
const ILLEGAL_SASL_STATE: i16 = 34;

/// Result of a successful handshake.
pub(super) struct Handshake {
    pub versions: ApiVersionTable,
    /// When the broker requires re-authentication (KIP-368), if it does.
    pub reauth_deadline: Option<Instant>,
}

/// One request/response exchange on a stream that nothing else is using yet.
struct Lockstep<'a, S> {
    stream: &'a mut S,
    broker: &'a str,
    client_id: &'a str,
    timeout: Duration,
    correlation_id: i32,
    buf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lockstep<'_, S> {
    async fn exchange<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, ConnectionError> {
        let api = api_name(R::KEY);
        self.correlation_id += 1;
        let frame = encode_request(request, version, self.correlation_id, self.client_id).map_err(
            |error| ConnectionError::Encode {
                broker: self.broker.to_string(),
                api,
                message: error.to_string(),
            },
        )?;
        let response = tokio::time::timeout(self.timeout, async {
            self.stream.write_all(&frame).await?;
            self.stream.flush().await?;
            read_frame(self.stream, &mut self.buf).await
        })
        .await
        .map_err(|_| ConnectionError::Timeout {
            broker: self.broker.to_string(),
            api,
            timeout: self.timeout,
        })?
        .map_err(|error| {
            let source = match error {
                ReadError::Io(source) => source,
                ReadError::NotKafka(answer) => {
                    return ConnectionError::NotKafka {
                        broker: self.broker.to_string(),
                        answer,
                    }
                }
            };
            // A TLS alert on the first reads (e.g. TLS 1.3 client-certificate rejection) is a
            // TLS failure, not a retriable I/O error.
            if let Some(tls) = crate::transport::tls_error_from_io(self.broker, &source) {
                return tls;
            }
            match source.kind() {
                std::io::ErrorKind::UnexpectedEof => ConnectionError::Closed {
                    broker: self.broker.to_string(),
                    reason: Some(if self.correlation_id == 1 && self.buf.is_empty() {
                        // Nothing at all came back for the first request: what a TLS listener
                        // reached in plaintext, or a service that is not Kafka, often does.
                        format!(
                            "broker closed the connection without answering {api}, the first \
                             request: is this a TLS port (add EncryptionInTransit) or not a Kafka \
                             port?"
                        )
                    } else {
                        format!("broker closed the connection during {api}")
                    }),
                },
                _ => ConnectionError::Io {
                    broker: self.broker.to_string(),
                    source: source.into(),
                },
            }
        })?;
        let (correlation_id, body) = decode_response::<R>(response, version).map_err(|error| {
            ConnectionError::Malformed {
                broker: self.broker.to_string(),
                api,
                message: error.to_string(),
            }
        })?;
        if correlation_id != self.correlation_id {
            return Err(ConnectionError::Malformed {
                broker: self.broker.to_string(),
                api,
                message: format!(
                    "correlation id {correlation_id}, expected {}",
                    self.correlation_id
                ),
            });
        }
        Ok(body)
    }
}

/// Why a handshake frame could not be read.
enum ReadError {
    Io(std::io::Error),
    /// The frame length is implausible: the peer is not speaking Kafka.
    NotKafka(NotKafka),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads one length-prefixed frame. The handshake's frames are small, so a length beyond
/// [`HANDSHAKE_MAX_FRAME_BYTES`] means the peer is something else, and its bytes say what.
async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<Bytes, ReadError> {
    loop {
        match decode_frame(buf, HANDSHAKE_MAX_FRAME_BYTES) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(_) => return Err(ReadError::NotKafka(NotKafka::recognise(buf))),
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// Runs ApiVersions and SASL on `stream`.
pub(super) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    broker: &str,
    client_id: &str,
    timeout: Duration,
    credentials: Option<&dyn CredentialsProvider>,
) -> Result<Handshake, ConnectionError> {
    let mut lockstep = Lockstep {
        stream,
        broker,
        client_id,
        timeout,
        correlation_id: 0,
        buf: BytesMut::with_capacity(8 * 1024),
    };
    let versions = negotiate_versions(&mut lockstep).await?;
    let reauth_deadline = match credentials {
        Some(credentials) => authenticate(&mut lockstep, &versions, credentials).await?,
        None => None,
    };
    Ok(Handshake {
        versions,
        reauth_deadline,
    })
}

async fn negotiate_versions<S: AsyncRead + AsyncWrite + Unpin>(
    lockstep: &mut Lockstep<'_, S>,
) -> Result<ApiVersionTable, ConnectionError> {
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("kreplicate"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    // Start at v3 (flexible, what current brokers expect). A broker that does not know v3
    // answers UNSUPPORTED_VERSION in v0 format with its own range, and we retry at that.
    let mut response = match lockstep.exchange(&request, 3).await {
        Ok(r) => r,
        Err(ConnectionError::Malformed { .. }) => lockstep.exchange(&request, 0).await?,
        Err(e) => return Err(e),
    };
    if response.error_code == UNSUPPORTED_VERSION {
        let max = broker_max(&response).unwrap_or(0).min(3);
        response = lockstep.exchange(&request, max).await?;
    }
    if response.error_code != 0 {
        return Err(ConnectionError::Malformed {
            broker: lockstep.broker.to_string(),
            api: "ApiVersions",
            message: format!("error code {}", response.error_code),
        });
    }
    Ok(ApiVersionTable::new(
        response
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version)),
    ))
}

fn broker_max(response: &ApiVersionsResponse) -> Option<i16> {
    response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiVersionsRequest::KEY)
        .map(|k| k.max_version)
}

async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    lockstep: &mut Lockstep<'_, S>,
    versions: &ApiVersionTable,
    credentials: &dyn CredentialsProvider,
) -> Result<Option<Instant>, ConnectionError> {
    let broker = lockstep.broker.to_string();
    let credentials =
        credentials
            .credentials()
            .await
            .map_err(|source| ConnectionError::Credentials {
                broker: broker.clone(),
                source,
            })?;
    let mechanism = credentials.mechanism.name();
    let auth_error = |message: String| ConnectionError::Auth {
        broker: broker.clone(),
        mechanism: mechanism.to_string(),
        message,
    };
    let unsupported = |e: crate::protocol::NoCommonVersion| ConnectionError::UnsupportedVersion {
        broker: broker.clone(),
        api: e.api,
        our_min: e.our_min,
        our_max: e.our_max,
        offered: e.offered,
    };

    // Handshake v0 would mean raw SASL tokens outside Kafka framing; we require v1 and
    // SaslAuthenticate, which every broker since Kafka 1.0 offers.
    let handshake_version = versions
        .choose(SaslHandshakeRequest::KEY)
        .map_err(unsupported)?;
    if handshake_version < 1 {
        return Err(auth_error(
            "the broker only offers SaslHandshake v0 (Kafka < 1.0); SaslAuthenticate is required"
                .into(),
        ));
    }
    let authenticate_version = versions
        .choose(SaslAuthenticateRequest::KEY)
        .map_err(unsupported)?;

    let response = lockstep
        .exchange(
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
            handshake_version,
        )
        .await?;
    let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
    // A refusal that lists the mechanism we asked for is not about the mechanism: Tansu without
    // authentication echoes the request's mechanism with UNSUPPORTED_SASL_MECHANISM.
    let refused_although_offered =
        response.error_code == UNSUPPORTED_SASL_MECHANISM && offered.contains(&mechanism);
    if refused_although_offered || response.error_code == ILLEGAL_SASL_STATE {
        let reason = if refused_although_offered {
            format!("UNSUPPORTED_SASL_MECHANISM although it lists {mechanism}")
        } else {
            "ILLEGAL_SASL_STATE".to_string()
        };
        return Err(ConnectionError::SaslNotEnabled {
            broker: broker.clone(),
            mechanism: mechanism.to_string(),
            reason,
        });
    }
    if response.error_code == UNSUPPORTED_SASL_MECHANISM {
        return Err(ConnectionError::MechanismNotOffered {
            broker: broker.clone(),
            mechanism: mechanism.to_string(),
            offered: offered.join(", "),
        });
    }
    if response.error_code != 0 {
        return Err(auth_error(format!(
            "SaslHandshake returned error code {}",
            response.error_code
        )));
    }

    let mut exchange = SaslExchange::new(&credentials).map_err(|e| auth_error(e.to_string()))?;
    let mut outgoing = exchange.initial_response();
    let mut session_lifetime_ms = 0;
    loop {
        let response = lockstep
            .exchange(
                &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(outgoing)),
                authenticate_version,
            )
            .await?;
        if response.error_code != 0 {
            let detail = response
                .error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_else(|| format!("error code {}", response.error_code));
            // An OAUTHBEARER "username" only describes the token (e.g. the IAM action and key).
            let whose = match credentials.mechanism {
                SaslMechanism::OAuthBearer => {
                    format!("OAUTHBEARER token ({})", credentials.username)
                }
                _ => format!("credentials of user '{}'", credentials.username),
            };
            return Err(auth_error(format!(
                "the broker rejected the {whose}: {detail}"
            )));
        }
        session_lifetime_ms = session_lifetime_ms.max(response.session_lifetime_ms);
        match exchange
            .step(&response.auth_bytes)
            .map_err(|e| auth_error(e.to_string()))?
        {
            SaslStep::Send(next) => outgoing = next,
            SaslStep::Done => break,
        }
    }
    // Re-authenticate (by reconnecting) a little before the broker's deadline.
    Ok((session_lifetime_ms > 0)
        .then(|| Instant::now() + Duration::from_millis(session_lifetime_ms as u64 * 9 / 10)))
}
