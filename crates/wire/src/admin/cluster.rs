//! The cluster as a whole: its id, controller and brokers, and which APIs it offers.

use kafka_protocol::messages::DescribeClusterRequest;

use super::{message, Admin, Operation};

/// The `cluster_authorized_operations` of a DescribeCluster answer that does not report them
/// (KIP-430).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;
#[cfg(feature = "test-util")]
use crate::client::Error;
use crate::client::Result;
use crate::protocol::{Api, BrokerError};

#[cfg(feature = "test-util")]
/// One broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// The broker id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if the broker has one.
    pub rack: Option<String>,
}

#[cfg(feature = "test-util")]
impl BrokerInfo {
    /// "host:port", as connections are keyed.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(feature = "test-util")]
/// What the cluster says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// Node id of the controller, when the cluster reports one.
    pub controller: Option<i32>,
    /// Sorted by node id.
    pub brokers: Vec<BrokerInfo>,
}

impl Admin {
    #[cfg(feature = "test-util")]
    /// The cluster id, controller and brokers: DescribeCluster where the broker offers it,
    /// Metadata otherwise.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let conn = self.client().any_connection().await?;
        if !conn.versions().supports(Api::DescribeCluster) {
            return self.describe_cluster_from_metadata().await;
        }
        let response = self
            .client()
            .retry(None, || async {
                let conn = self.client().any_connection().await?;
                let response = conn.request(&DescribeClusterRequest::default()).await?;
                if let Some(e) = BrokerError::from_code("DescribeCluster", response.error_code) {
                    return Err(e
                        .with_broker(conn.broker())
                        .with_message(message(response.error_message.clone()))
                        .into());
                }
                Ok(response)
            })
            .await?;
        let mut brokers: Vec<BrokerInfo> = response
            .brokers
            .into_iter()
            .map(|b| BrokerInfo {
                node_id: b.broker_id.0,
                host: b.host.as_str().to_string(),
                port: b.port,
                rack: message(b.rack),
            })
            .collect();
        brokers.sort_by_key(|b| b.node_id);
        Ok(ClusterDescription {
            cluster_id: response.cluster_id.as_str().to_string(),
            controller: (response.controller_id.0 >= 0).then_some(response.controller_id.0),
            brokers,
        })
    }

    /// Whether the cluster lets this client's principal do `operation` on the cluster resource
    /// (e.g. Alter, which CreateAcls needs), as DescribeCluster reports it when asked for
    /// authorized operations (KIP-430, Kafka 2.3+). `None` when the cluster does not offer
    /// DescribeCluster or does not report them. Reads only.
    pub async fn cluster_allows(&self, operation: Operation) -> Result<Option<bool>> {
        let conn = self.client().any_connection().await?;
        if !conn.versions().supports(Api::DescribeCluster) {
            return Ok(None);
        }
        let request =
            DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
        let response = self
            .client()
            .retry(None, || async {
                let conn = self.client().any_connection().await?;
                let response = conn.request(&request).await?;
                if let Some(e) = BrokerError::from_code("DescribeCluster", response.error_code) {
                    return Err(e
                        .with_broker(conn.broker())
                        .with_message(message(response.error_message.clone()))
                        .into());
                }
                Ok(response)
            })
            .await?;
        let operations = response.cluster_authorized_operations;
        // KIP-430: i32::MIN means "not reported"; otherwise bit N is the operation with code N.
        if operations == AUTHORIZED_OPERATIONS_OMITTED {
            return Ok(None);
        }
        Ok(Some(operations & (1 << operation.code()) != 0))
    }

    #[cfg(feature = "test-util")]
    async fn describe_cluster_from_metadata(&self) -> Result<ClusterDescription> {
        let metadata = self
            .client()
            .retry(None, || self.client().refresh_metadata(Some(&[])))
            .await?;
        let cluster_id = metadata.cluster_id.ok_or_else(|| {
            Error::protocol("Metadata", "cluster", "the broker reported no cluster id")
        })?;
        let mut brokers = Vec::new();
        for (node_id, address) in metadata.brokers {
            let (host, port) = address
                .rsplit_once(':')
                .and_then(|(h, p)| p.parse::<i32>().ok().map(|p| (h.to_string(), p)))
                .ok_or_else(|| {
                    Error::protocol(
                        "Metadata",
                        "cluster",
                        format!("broker {node_id} has an address without a port: '{address}'"),
                    )
                })?;
            brokers.push(BrokerInfo {
                node_id,
                host,
                port,
                rack: None,
            });
        }
        Ok(ClusterDescription {
            cluster_id,
            controller: metadata.controller,
            brokers,
        })
    }

    /// Whether the controller (or, without one, any broker) advertises `api`. Lets a caller
    /// skip a feature the cluster lacks (e.g. CreatePartitions on Tansu 0.6) up front.
    pub async fn supports(&self, api: Api) -> Result<bool> {
        let conn = self.client().controller_connection().await?;
        Ok(conn.versions().supports(api))
    }

    /// The address of the controller (or, without one, of any broker) and the versions of
    /// `api` it advertises (`None`: not offered). For choices that depend on the version, e.g.
    /// whether CreateTopics can ask for the broker's default replication factor (v4+).
    pub async fn controller_versions(&self, api: Api) -> Result<(String, Option<(i16, i16)>)> {
        let conn = self.client().controller_connection().await?;
        Ok((
            conn.broker().to_string(),
            conn.versions().broker_range(api.key()),
        ))
    }
}
