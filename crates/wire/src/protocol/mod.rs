//! The request/response layer over `kafka-protocol`: which API versions we speak, how a request
//! is framed with its header, and what a broker error code means. Callers name APIs and error
//! kinds with this crate's [`Api`] and [`BrokerErrorKind`], not `kafka-protocol`'s types.

mod api;
mod api_error;
mod broker_error;
mod broker_error_kind;
mod kafka_api;
mod versions;

pub(crate) use api::{api_name, decode_response, encode_request, peek_correlation_id};
pub use broker_error::BrokerError;
pub use broker_error_kind::BrokerErrorKind;
pub use kafka_api::Api;
test_util_pub! {
    pub use versions::ApiVersionTable;
}
pub(crate) use versions::NoCommonVersion;
