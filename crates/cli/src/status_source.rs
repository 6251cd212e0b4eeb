//! Reading a running replicator's typed status: the JSON its metrics server serves on
//! `/status` (`kreplicate_replicate::Status`), for `status` and `verify`.

use std::time::Duration;

use kreplicate_replicate::Status;

use crate::http_get;

/// Why a replicator's status cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatusReadError {
    /// The HTTP request failed (the message names the URL).
    #[error("{0}")]
    Http(String),
    /// The body is not a status document.
    #[error(
        "{url}: not a kreplicate /status document (is this a kreplicate metrics server?): {source}"
    )]
    Invalid {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// A JSON object without the members every status has.
    #[error("{url}: not a kreplicate /status document: no \"clusters\" member")]
    NoClusters { url: String },
}

/// The `/status` URL of the metrics server `url` names: a URL ending in `/metrics` (the
/// Prometheus page, and what `--metrics-url` took before `/status` existed) reads `/status`
/// on the same server; any other URL is read as given.
pub(crate) fn status_url(url: &str) -> String {
    match url.strip_suffix("/metrics") {
        Some(server) => format!("{server}/status"),
        None => url.to_owned(),
    }
}

/// Reads and decodes the status at `url` (already a `/status` URL).
pub(crate) async fn read(url: &str, timeout: Duration) -> Result<Status, StatusReadError> {
    let body = http_get::get(url, timeout)
        .await
        .map_err(StatusReadError::Http)?;
    parse(url, &body)
}

/// Decodes a status document; `url` names it in errors.
pub(crate) fn parse(url: &str, body: &str) -> Result<Status, StatusReadError> {
    let invalid = |source| StatusReadError::Invalid {
        url: url.to_owned(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(body).map_err(invalid)?;
    if value.get("clusters").is_none() {
        return Err(StatusReadError::NoClusters {
            url: url.to_owned(),
        });
    }
    serde_json::from_value(value).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_url_reads_status_on_the_same_server() {
        assert_eq!(
            status_url("http://127.0.0.1:9464/metrics"),
            "http://127.0.0.1:9464/status"
        );
        assert_eq!(status_url("http://h:1/status"), "http://h:1/status");
        assert_eq!(status_url("http://h:1/x/metrics"), "http://h:1/x/status");
    }

    #[test]
    fn foreign_documents_are_refused_naming_the_url() {
        let e = parse("http://h/status", "# TYPE up gauge\nup 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("http://h/status: not a kreplicate /status document"),
            "{e}"
        );
        let e = parse("http://h/status", r#"{"up": 1}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "http://h/status: not a kreplicate /status document: no \"clusters\" member"
        );
        let e = parse("http://h/status", r#"{"clusters": 3}"#).unwrap_err();
        assert!(matches!(e, StatusReadError::Invalid { .. }), "{e}");
        let s = parse("http://h/status", r#"{"clusters": [], "topics": 2}"#).unwrap();
        assert_eq!(s.topics, 2);
    }
}
