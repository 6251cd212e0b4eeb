//! AWS, for the MSK migration guide's files as printed (feature `aws`, on by default):
//! - Secrets Manager ARNs in `SecretArn` / `RootCaCertificate` (`secrets_manager`);
//! - MSK cluster ARNs resolved with the Kafka API's GetBootstrapBrokers (`bootstrap_brokers`);
//! - MSK IAM authentication, SASL OAUTHBEARER with a SigV4-presigned token (`msk_iam`).
//!
//! Credentials come from aws-config's default chain (`sdk`); the region is the one in the
//! ARN; `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_KAFKA`)
//! redirect the calls, which is how the tests reach moto and the fake GetBootstrapBrokers.
//! docs/aws.md lists the IAM actions these calls need.

pub(crate) mod bootstrap_brokers;
mod error;
mod http;
mod http_error;
pub(crate) mod msk_iam;
mod sdk;
mod sdk_failure;
pub(crate) mod secrets_manager;
mod signing;
mod signing_error;

pub(crate) use error::AwsError;
use http_error::HttpError;
use sdk_failure::SdkFailure;
use signing_error::SigningError;
