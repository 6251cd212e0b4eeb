//! The crate's example (`examples/produce_fetch.rs`) runs against a real broker.

#[path = "../examples/produce_fetch.rs"]
mod example;

#[tokio::test]
async fn the_example_produces_then_fetches_its_records() {
    let broker = kreplicate_testkit::tansu::TansuBroker::memory().unwrap();
    let records = example::run(&broker.addr(), "example").await.unwrap();
    let values: Vec<(i64, &[u8])> = records.iter().map(|(o, v)| (*o, v.as_ref())).collect();
    assert_eq!(values, vec![(0, &b"a"[..]), (1, b"b"), (2, b"c")]);
}
