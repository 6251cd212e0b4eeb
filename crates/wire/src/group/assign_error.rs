//! Why a group protocol's leader could not assign.

use std::error::Error;

/// Why [`GroupProtocol::assign`](super::GroupProtocol::assign) returned no assignment: the
/// protocol's own error (or message), with its text and [`source`](Error::source). The member
/// reports it as a protocol error naming the group: "group '…': cannot assign: {this}", so
/// only its text reaches the caller of [`GroupMember::join`](super::GroupMember::join).
///
/// ```
/// use kreplicate_wire::group::AssignError;
///
/// let e = AssignError::new("member 'w-2' sent metadata this version cannot read");
/// assert_eq!(e.to_string(), "member 'w-2' sent metadata this version cannot read");
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AssignError(Box<dyn Error + Send + Sync>);

impl AssignError {
    /// From the protocol's error, or from a message (`String` and `&str` convert).
    pub fn new(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        AssignError(cause.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("member 'w-2' is too old")]
    struct TooOld(#[source] std::fmt::Error);

    #[test]
    fn shows_the_cause_and_its_source() {
        let e = AssignError::new(TooOld(std::fmt::Error));
        assert_eq!(e.to_string(), "member 'w-2' is too old");
        assert_eq!(
            e.source().map(ToString::to_string),
            Some("an error occurred when formatting an argument".to_string())
        );
        let plain = AssignError::new("plain");
        assert_eq!(plain.to_string(), "plain");
        assert!(plain.source().is_none());
    }
}
