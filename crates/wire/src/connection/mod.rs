//! Connections to one broker: open (TCP/TLS), negotiate versions, authenticate, then carry
//! pipelined requests.

mod broker_connection;
mod config;
mod credentials;
mod credentials_error;
mod error;
mod handshake;
mod not_kafka;

test_util_pub! {
    pub use broker_connection::BrokerConnection;
}
pub use config::ConnectionConfig;
pub use credentials::{AsyncCredentials, CredentialsProvider};
pub use credentials_error::CredentialsError;
pub use error::ConnectionError;
pub use not_kafka::NotKafka;
