//! A Metadata request whose connection closes under it (a SASL session that ended, KIP-368, or
//! a broker restart) is asked once more on a fresh connection: Metadata changes nothing, and a
//! caller should not see an error a second connection answers. Only once: a broker that closes
//! every connection is reported, not retried for ever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, RequestKind};
use kreplicate_testkit::fake_broker::{FakeBroker, FakeBrokerOptions, FakeReply};
use kreplicate_wire::client::{Client, ClientConfig, Error, RetryPolicy};
use kreplicate_wire::ConnectionError;

/// A fake broker that closes, without answering, the next `closes` Metadata requests it is
/// told to (set through the returned counter).
fn broker_closing_metadata() -> (FakeBroker, Arc<AtomicUsize>) {
    let closes = Arc::new(AtomicUsize::new(0));
    let to_close = closes.clone();
    let broker = FakeBroker::start_with(FakeBrokerOptions::default(), move |_, request| {
        if matches!(request, RequestKind::Metadata(_))
            && to_close
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return FakeReply::Close;
        }
        FakeReply::Default
    })
    .expect("start the fake broker");
    (broker, closes)
}

async fn client_for(broker: &FakeBroker) -> Client {
    let mut config = ClientConfig::new([broker.addr()]);
    config.retry = RetryPolicy::no_retry();
    config.connection.request_timeout = Duration::from_secs(5);
    Client::connect(config)
        .await
        .expect("connect to the fake broker")
}

fn metadata_requests(broker: &FakeBroker) -> usize {
    broker.requests_for(ApiKey::Metadata).len()
}

#[tokio::test]
async fn metadata_closed_under_its_request_is_answered_on_a_fresh_connection() {
    let (broker, closes) = broker_closing_metadata();
    let client = client_for(&broker).await;
    let (connections, asked) = (broker.connections_accepted(), metadata_requests(&broker));

    closes.store(1, Ordering::SeqCst);
    let metadata = client
        .refresh_metadata(None)
        .await
        .expect("the second connection answers");

    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(
        closes.load(Ordering::SeqCst),
        0,
        "the first attempt was closed"
    );
    assert_eq!(metadata_requests(&broker), asked + 2, "asked twice");
    assert_eq!(
        broker.connections_accepted(),
        connections + 1,
        "on a new connection"
    );
}

#[tokio::test]
async fn metadata_is_retried_once_not_for_ever() {
    let (broker, closes) = broker_closing_metadata();
    let client = client_for(&broker).await;
    let asked = metadata_requests(&broker);

    closes.store(usize::MAX, Ordering::SeqCst);
    let error = client
        .refresh_metadata(None)
        .await
        .expect_err("every connection closes");

    assert!(
        matches!(error, Error::Connection(ConnectionError::Closed { .. })),
        "{error:?}"
    );
    assert_eq!(metadata_requests(&broker), asked + 2, "one retry, no more");
}
