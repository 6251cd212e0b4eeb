//! Kafka listener prefixes in bootstrap strings (`SASL_SSL://b1:9096`): Kafka's own
//! `listeners` syntax, which people paste from a broker's configuration. kreplicate takes
//! security from EncryptionInTransit and ClientAuthentication, so the prefix is dropped, with a
//! notice saying so.

/// Splits `NAME://host:port` into the listener name and `host:port`; `None` without a prefix.
pub(crate) fn split_listener_prefix(broker: &str) -> Option<(&str, &str)> {
    let (name, rest) = broker.split_once("://")?;
    let is_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_name.then_some((name, rest))
}

/// What the notice adds for a prefix that implies a security setting the cluster lacks.
pub(crate) fn missing_security(name: &str, tls: bool, sasl: bool) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if (upper == "SSL" || upper == "SASL_SSL") && !tls {
        return Some(
            "it names a TLS listener, but the cluster has no EncryptionInTransit: add \"EncryptionInTransit\": {\"EncryptionType\": \"TLS\"}",
        );
    }
    if upper.starts_with("SASL_") && !sasl {
        return Some(
            "it names a SASL listener, but the cluster has no ClientAuthentication.SaslScram",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_listener_names_only() {
        assert_eq!(
            split_listener_prefix("SASL_SSL://b1:9096"),
            Some(("SASL_SSL", "b1:9096"))
        );
        assert_eq!(
            split_listener_prefix("PLAINTEXT://[::1]:9092"),
            Some(("PLAINTEXT", "[::1]:9092"))
        );
        assert_eq!(split_listener_prefix("b1:9092"), None);
        assert_eq!(split_listener_prefix("://b1:9092"), None);
    }

    #[test]
    fn names_a_missing_security_setting() {
        assert!(missing_security("SASL_SSL", false, true)
            .unwrap()
            .contains("EncryptionInTransit"));
        assert!(missing_security("SASL_SSL", true, false)
            .unwrap()
            .contains("SaslScram"));
        assert_eq!(missing_security("SASL_SSL", true, true), None);
        assert_eq!(missing_security("PLAINTEXT", false, false), None);
        assert_eq!(missing_security("EXTERNAL", false, false), None);
    }
}
