//! Splitting a broker address `host:port` (or `[v6]:port`) into its parts.

use crate::connection::ConnectionError;

/// Splits `"host:port"` or `"[::1]:port"` into host (without brackets) and port.
pub(crate) fn split_host_port(broker: &str) -> Result<(&str, u16), ConnectionError> {
    let invalid = |why: &str| ConnectionError::Connect {
        broker: broker.to_string(),
        source: std::sync::Arc::new(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid broker address {broker:?}: {why} (expected host:port)"),
        )),
    };
    let (host, port) = broker.rsplit_once(':').ok_or_else(|| invalid("no port"))?;
    let host = match host.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .ok_or_else(|| invalid("unclosed '[' in IPv6 address"))?,
        None if host.contains(':') => return Err(invalid("IPv6 address must be in brackets")),
        None => host,
    };
    if host.is_empty() {
        return Err(invalid("empty host"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| invalid(&format!("port {port:?} is not a number in 0..=65535")))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_ipv4_and_ipv6() {
        assert_eq!(
            split_host_port("kafka-1.example:9093").unwrap(),
            ("kafka-1.example", 9093)
        );
        assert_eq!(
            split_host_port("127.0.0.1:9092").unwrap(),
            ("127.0.0.1", 9092)
        );
        assert_eq!(split_host_port("[::1]:9092").unwrap(), ("::1", 9092));
    }

    #[test]
    fn rejects_bad_addresses_naming_them() {
        for (addr, why) in [
            ("localhost", "no port"),
            (":9092", "empty host"),
            ("host:99999", "port \"99999\" is not a number"),
            ("::1:9092", "IPv6 address must be in brackets"),
            ("[::1:9092", "unclosed"),
        ] {
            let err = split_host_port(addr).unwrap_err().to_string();
            assert!(err.contains(why), "{addr}: {err}");
            assert!(err.contains(&format!("{addr:?}")), "{addr}: {err}");
        }
    }
}
