//! Which client sent which request through the layer, with the topics or group it names:
//! lets a test count who did a cluster-level task (e.g. one worker of a group, not each).

use std::sync::Mutex;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, IncrementalAlterConfigsRequest, OffsetCommitRequest, RequestHeader,
};
use kafka_protocol::protocol::Decodable;

/// One request as the layer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub api: ApiKey,
    /// The request header's client id ("" when absent).
    pub client_id: String,
    /// Topics (CreateTopics), config resources (IncrementalAlterConfigs) or the group
    /// (OffsetCommit); empty for other requests.
    pub names: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RequestLog(Mutex<Vec<SeenRequest>>);

impl RequestLog {
    pub(crate) fn record(&self, api: ApiKey, version: i16, frame: &Bytes) {
        let mut body = frame.clone();
        let Ok(header) = RequestHeader::decode(&mut body, api.request_header_version(version))
        else {
            return;
        };
        let names = match api {
            ApiKey::CreateTopics => CreateTopicsRequest::decode(&mut body, version)
                .map(|r| r.topics.iter().map(|t| t.name.to_string()).collect())
                .unwrap_or_default(),
            ApiKey::IncrementalAlterConfigs => {
                IncrementalAlterConfigsRequest::decode(&mut body, version)
                    .map(|r| {
                        r.resources
                            .iter()
                            .map(|c| c.resource_name.to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            }
            ApiKey::OffsetCommit => OffsetCommitRequest::decode(&mut body, version)
                .map(|r| vec![r.group_id.to_string()])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let client_id = header.client_id.map(|c| c.to_string()).unwrap_or_default();
        self.0.lock().expect("request log").push(SeenRequest {
            api,
            client_id,
            names,
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<SeenRequest> {
        self.0.lock().expect("request log").clone()
    }
}
