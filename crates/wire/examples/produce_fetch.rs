//! Produce three records, then fetch them back.
//!
//! `cargo run -p kreplicate-wire --example produce_fetch -- 127.0.0.1:9092 [topic]`

use bytes::Bytes;
use kreplicate_codec::Header;
use kreplicate_wire::admin::{Admin, NewTopic};
use kreplicate_wire::client::{Client, ClientConfig};
use kreplicate_wire::fetcher::{FetchConfig, FetchPosition, SharedFetcher};
use kreplicate_wire::producer::{Producer, ProducerConfig, ProducerRecord};

/// Produces `["a", "b", "c"]` to partition 0 of `topic` and returns what a fetch reads back as
/// `(offset, value)` pairs.
pub async fn run(
    bootstrap: &str,
    topic: &str,
) -> Result<Vec<(i64, Bytes)>, kreplicate_wire::client::Error> {
    let client = Client::connect(ClientConfig::from_bootstrap_string(bootstrap)?).await?;
    // Create the topic (an existing one is fine).
    Admin::new(client.clone())
        .create_topics(&[NewTopic::new(topic, 1, -1)], false)
        .await?;

    let producer = Producer::new(client.clone(), ProducerConfig::default()).await?;
    let mut deliveries = Vec::new();
    for value in ["a", "b", "c"] {
        let record = ProducerRecord {
            key: Some(Bytes::from_static(b"example")),
            value: Some(Bytes::from(value)),
            headers: vec![Header::new("origin", Some(Bytes::from_static(b"example")))],
            timestamp: None,
        };
        deliveries.push(producer.send(topic, 0, record).await?);
    }
    let first = deliveries
        .remove(0)
        .await
        .map_err(|e| (*e.0).clone())?
        .offset;
    for d in deliveries {
        d.await.map_err(|e| (*e.0).clone())?;
    }

    let fetcher = SharedFetcher::new(client, FetchConfig::default());
    let position = FetchPosition {
        topic: topic.to_string(),
        partition: 0,
        offset: first,
    };
    let (records, _next) = fetcher.fetch(position).await?.records()?;
    Ok(records
        .into_iter()
        .filter_map(|r| Some((r.offset, r.value?)))
        .collect())
}

#[allow(dead_code)] // used when built as an example; the test includes only `run`
#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "127.0.0.1:9092".into());
    let topic = args.next().unwrap_or_else(|| "kreplicate-example".into());
    match run(&bootstrap, &topic).await {
        Ok(records) => {
            for (offset, value) in records {
                println!("{offset}: {}", String::from_utf8_lossy(&value));
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
