//! Why a group protocol's leader could not assign.

use std::error::Error;

/// Why [`GroupProtocol::assign`](super::GroupProtocol::assign) returned no assignment: the
/// protocol's own error (or message). The member reports it as a protocol error naming the
/// group: "group '…': cannot assign: {this}".
///
/// Its text is the cause's text and its [`source`](Error::source) the cause's source.
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

    /// The protocol's error, e.g. to downcast it to the protocol's own type.
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no members")]
    struct NoMembers;

    #[test]
    fn shows_the_cause_and_keeps_it() {
        let e = AssignError::new(NoMembers);
        assert_eq!(e.to_string(), "no members");
        assert!(e.get_ref().is::<NoMembers>());
        assert!(e.source().is_none());
        assert_eq!(AssignError::new("plain").to_string(), "plain");
    }
}
