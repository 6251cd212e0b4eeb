//! Why an AWS call failed, on one line that names the IAM action and the resource, so the fix
//! (a policy statement, a credential, an endpoint) can be read off the message.

/// A failed AWS call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AwsError {
    /// The default credential chain found nothing.
    #[error("no AWS credentials found for {action} on {resource}; tried {chain}")]
    NoCredentials {
        /// IAM action that needed them, e.g. `secretsmanager:GetSecretValue`.
        action: &'static str,
        /// The ARN or endpoint.
        resource: String,
        /// The providers tried, in order.
        chain: String,
    },
    /// AWS refused the call for lack of permission.
    #[error("AWS denied {action} on {resource}: {message}")]
    AccessDenied {
        /// The AWS API action, e.g. `secretsmanager:GetSecretValue`.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// AWS's own message.
        message: String,
    },
    /// Any other error answer (not found, throttled, a decryption failure…).
    #[error("{action} on {resource} failed: {code}: {message}")]
    Service {
        /// The AWS API action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// AWS's error code, e.g. `ResourceNotFoundException`.
        code: String,
        /// AWS's own message.
        message: String,
    },
    /// The endpoint could not be reached or did not answer in time.
    #[error("{action} on {resource}: cannot reach {endpoint}: {source}")]
    Unreachable {
        /// The AWS API action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// The endpoint called.
        endpoint: String,
        /// Why it failed: kreplicate's own request's error, or the AWS SDK's.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A request could not be signed (SigV4).
    #[error("{action} on {resource}: signing {what}: {source}")]
    Signing {
        /// The AWS API action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// What was being signed, e.g. "the request".
        what: &'static str,
        /// aws-sigv4's error.
        #[source]
        source: super::SigningError,
    },
    /// The default credential chain failed (other than by finding nothing).
    #[error("{action} on {resource}: the AWS credential chain failed: {source}")]
    CredentialChain {
        /// IAM action that needed the credentials.
        action: &'static str,
        /// The ARN or endpoint.
        resource: String,
        /// The chain's error.
        #[source]
        source: super::SdkFailure,
    },
    /// Any other failure of an SDK call (a malformed answer, a request it could not build).
    #[error("{action} on {resource}: {source}")]
    Sdk {
        /// The AWS API action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// The SDK's error.
        #[source]
        source: super::SdkFailure,
    },
    /// The answer is not the API's JSON.
    #[error("{action} on {resource}: the answer is not {api}' JSON ({source})")]
    NotJson {
        /// The IAM action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// The API called, e.g. `GetBootstrapBrokers`.
        api: &'static str,
        /// What serde_json found.
        #[source]
        source: serde_json::Error,
    },
    /// The answer did not have the documented shape.
    #[error("{action} on {resource}: {problem}")]
    Invalid {
        /// The AWS API action.
        action: &'static str,
        /// The ARN or name it was called on.
        resource: String,
        /// What was wrong.
        problem: String,
    },
}

impl AwsError {
    /// True when retrying later may succeed (network, throttling), false when the
    /// configuration or a policy must change.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            AwsError::Unreachable { .. } => true,
            AwsError::Service { code, .. } => {
                matches!(
                    code.as_str(),
                    "ThrottlingException"
                        | "TooManyRequestsException"
                        | "InternalServiceError"
                        | "InternalServerErrorException"
                        | "ServiceUnavailableException"
                )
            }
            _ => false,
        }
    }
}

/// Error codes AWS uses for a permission refusal.
pub(crate) fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDeniedException" | "AccessDenied" | "ForbiddenException" | "UnauthorizedException"
    )
}

/// An error with its sources, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
