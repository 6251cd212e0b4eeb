//! Replicates every topic between two clusters until caught up, prints the status, stops:
//! `cargo run -p kreplicate-replicate --example embed -- SOURCE_ID HOST:PORT TARGET_ID HOST:PORT`
use kreplicate_replicate::{Cluster, EngineError, Replicator, Status, TopicNaming};

/// Runs a replicator until every partition copies with no lag (a minute at most).
pub async fn replicate(source: Cluster, target: Cluster) -> Result<Status, EngineError> {
    let mut replicator = Replicator::builder("embedded")
        .source(source)
        .target(target)
        .naming(TopicNaming::Identical)
        .starting_position(kreplicate_replicate::StartingPosition::Earliest)
        .start()
        .await?;
    let mut status = replicator.status();
    for _ in 0..600 {
        if status.is_caught_up() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = replicator.status();
    }
    replicator.shutdown_handle().shutdown(); // any clone of the handle may stop it
    replicator.wait().await.map(|()| status)
}

#[tokio::main]
async fn main() -> Result<(), EngineError> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [sid, s, tid, t] = &a[..] else {
        eprintln!("usage: embed SOURCE_ID HOST:PORT TARGET_ID HOST:PORT");
        std::process::exit(2);
    };
    let status = replicate(Cluster::new(sid, s), Cluster::new(tid, t)).await?;
    println!("{status:#?}");
    Ok(())
}
