//! Frame-level relay between an (authenticated) client and the upstream broker. Responses that
//! carry broker addresses (Metadata, FindCoordinator, DescribeCluster) are rewritten to point at
//! the front, so clients keep coming back through it instead of going around it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, DescribeClusterResponse, FindCoordinatorResponse, MetadataResponse, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::frames::{peek_request, read_frame, write_frame};

/// Where clients should connect: the front's own address.
#[derive(Debug, Clone)]
pub(crate) struct Advertised {
    pub(crate) host: String,
    pub(crate) port: i32,
}

const REWRITTEN: [i16; 3] = [
    ApiKey::Metadata as i16,
    ApiKey::FindCoordinator as i16,
    ApiKey::DescribeCluster as i16,
];

/// Relays frames both ways until either side closes.
pub(crate) async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
    client: S,
    upstream: TcpStream,
    advertised: &Advertised,
) -> anyhow::Result<()> {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    // correlation id → (api key, version) of requests whose responses need rewriting. A map,
    // not a queue: Produce with acks=0 gets no response, so responses do not pair one-to-one.
    let pending: Arc<Mutex<HashMap<i32, (i16, i16)>>> = Arc::default();

    let requests = async {
        while let Some(frame) = read_frame(&mut client_read).await? {
            if let Some((key, version, correlation_id)) = peek_request(&frame) {
                if REWRITTEN.contains(&key) {
                    pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(correlation_id, (key, version));
                }
            }
            write_frame(&mut upstream_write, &frame).await?;
        }
        upstream_write.shutdown().await.ok();
        anyhow::Ok(())
    };
    let responses = async {
        while let Some(frame) = read_frame(&mut upstream_read).await? {
            let correlation_id = frame
                .get(..4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let request = correlation_id.and_then(|id| {
                pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id)
            });
            let out = match request {
                Some((key, version)) => rewrite_addresses(&frame, key, version, advertised)
                    .unwrap_or_else(|e| {
                        tracing::warn!(
                            "front: cannot rewrite response (api {key} v{version}): {e:#}"
                        );
                        frame.clone()
                    }),
                None => frame,
            };
            write_frame(&mut client_write, &out).await?;
        }
        client_write.shutdown().await.ok();
        anyhow::Ok(())
    };
    tokio::select! {
        r = requests => r,
        r = responses => r,
    }
}

/// Re-encodes a Metadata / FindCoordinator / DescribeCluster response with every broker address
/// replaced by `advertised`. The front stands for the whole (single-broker) upstream cluster.
pub(crate) fn rewrite_addresses(
    frame: &Bytes,
    key: i16,
    version: i16,
    advertised: &Advertised,
) -> anyhow::Result<Bytes> {
    let api = ApiKey::try_from(key).map_err(|_| anyhow::anyhow!("unknown api key {key}"))?;
    let header_version = api.response_header_version(version);
    let mut buf = frame.clone();
    let header = ResponseHeader::decode(&mut buf, header_version).context("response header")?;
    let mut out = BytesMut::with_capacity(frame.len() + 16);
    header.encode(&mut out, header_version)?;
    let host = || StrBytes::from_string(advertised.host.clone());
    match api {
        ApiKey::Metadata => {
            let mut body = MetadataResponse::decode(&mut buf, version).context("Metadata")?;
            for broker in &mut body.brokers {
                broker.host = host();
                broker.port = advertised.port;
            }
            body.encode(&mut out, version)?;
        }
        ApiKey::FindCoordinator => {
            let mut body =
                FindCoordinatorResponse::decode(&mut buf, version).context("FindCoordinator")?;
            // v0-3 carry one coordinator at the top level, v4+ a list; only real answers
            // (node id >= 0) are rewritten.
            if version <= 3 && body.error_code == 0 && *body.node_id >= 0 {
                body.host = host();
                body.port = advertised.port;
            }
            for c in &mut body.coordinators {
                if c.error_code == 0 && *c.node_id >= 0 {
                    c.host = host();
                    c.port = advertised.port;
                }
            }
            body.encode(&mut out, version)?;
        }
        ApiKey::DescribeCluster => {
            let mut body =
                DescribeClusterResponse::decode(&mut buf, version).context("DescribeCluster")?;
            for broker in &mut body.brokers {
                broker.host = host();
                broker.port = advertised.port;
            }
            body.encode(&mut out, version)?;
        }
        _ => return Ok(frame.clone()),
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::frames::encode_response;
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
    use kafka_protocol::messages::BrokerId;

    fn advertised() -> Advertised {
        Advertised {
            host: "127.0.0.1".into(),
            port: 40001,
        }
    }

    #[test]
    fn rewrites_metadata_brokers_in_old_and_flexible_versions() {
        for version in [1i16, 9, 12] {
            let body = MetadataResponse::default()
                .with_cluster_id(Some(StrBytes::from_static_str("c1")))
                .with_brokers(vec![MetadataResponseBroker::default()
                    .with_node_id(BrokerId(111))
                    .with_host(StrBytes::from_static_str("upstream.example"))
                    .with_port(9092)]);
            let frame = encode_response(ApiKey::Metadata, version, 5, &body).unwrap();
            let out = rewrite_addresses(&frame, 3, version, &advertised()).unwrap();
            let mut buf = out.clone();
            let hv = ApiKey::Metadata.response_header_version(version);
            assert_eq!(
                ResponseHeader::decode(&mut buf, hv).unwrap().correlation_id,
                5
            );
            let got = MetadataResponse::decode(&mut buf, version).unwrap();
            assert_eq!(got.brokers.len(), 1);
            assert_eq!(*got.brokers[0].node_id, 111);
            assert_eq!(got.brokers[0].host.as_str(), "127.0.0.1");
            assert_eq!(got.brokers[0].port, 40001);
            // cluster_id exists from v2 on; it must survive the re-encoding.
            let expected = (version >= 2).then_some("c1");
            assert_eq!(
                got.cluster_id.as_ref().map(|s| s.as_str()),
                expected,
                "v{version}"
            );
        }
    }

    #[test]
    fn rewrites_find_coordinator_both_layouts_but_not_errors() {
        let v3 = FindCoordinatorResponse::default()
            .with_node_id(BrokerId(111))
            .with_host(StrBytes::from_static_str("up"))
            .with_port(9092);
        let frame = encode_response(ApiKey::FindCoordinator, 3, 1, &v3).unwrap();
        let out = rewrite_addresses(&frame, 10, 3, &advertised()).unwrap();
        let mut buf = out;
        ResponseHeader::decode(&mut buf, 1).unwrap();
        let got = FindCoordinatorResponse::decode(&mut buf, 3).unwrap();
        assert_eq!((got.host.as_str(), got.port), ("127.0.0.1", 40001));

        let v4 = FindCoordinatorResponse::default().with_coordinators(vec![
            Coordinator::default()
                .with_key(StrBytes::from_static_str("g1"))
                .with_node_id(BrokerId(111))
                .with_host(StrBytes::from_static_str("up"))
                .with_port(9092),
            Coordinator::default()
                .with_key(StrBytes::from_static_str("g2"))
                .with_error_code(
                    kafka_protocol::error::ResponseError::CoordinatorNotAvailable.code(),
                )
                .with_node_id(BrokerId(-1))
                .with_host(StrBytes::from_static_str(""))
                .with_port(-1),
        ]);
        let frame = encode_response(ApiKey::FindCoordinator, 4, 2, &v4).unwrap();
        let mut buf = rewrite_addresses(&frame, 10, 4, &advertised()).unwrap();
        ResponseHeader::decode(&mut buf, 1).unwrap();
        let got = FindCoordinatorResponse::decode(&mut buf, 4).unwrap();
        assert_eq!(
            (got.coordinators[0].host.as_str(), got.coordinators[0].port),
            ("127.0.0.1", 40001)
        );
        assert_eq!(
            (got.coordinators[1].host.as_str(), got.coordinators[1].port),
            ("", -1)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let frame = Bytes::from_static(&[0, 0, 0, 1, 0xff]);
        assert!(rewrite_addresses(&frame, 3, 12, &advertised()).is_err());
    }
}
