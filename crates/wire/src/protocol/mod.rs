//! The request/response layer over `kafka-protocol`: which API versions we speak, how a request
//! is framed with its header, and what a broker error code means.

mod api;
mod broker_error;
mod versions;

pub(crate) use api::{api_name, decode_response, encode_request, peek_correlation_id};
pub use broker_error::BrokerError;
test_util_pub! {
    pub use versions::ApiVersionTable;
}
pub(crate) use versions::NoCommonVersion;
