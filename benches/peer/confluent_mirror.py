#!/usr/bin/env python3
"""The librdkafka peer mirror in python (confluent-kafka, which bundles librdkafka 2.x).

Used by `kreplicate-benches e2e` when the harness was built without the `peer-rdkafka`
feature. Same job and settings as benches/src/rdkafka_mirror.rs: read_committed from the
beginning of every partition, each record produced to the same topic and partition with its
key, value, headers and CreateTime; idempotent, acks=all, the given codec, linger 5 ms, 1 MiB
batches, 128 MiB producer buffer. Runs until killed or until a delivery fails. Python's
per-record overhead is part of what it measures: prefer the Rust `rdkafka` peer.
"""

import argparse
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--compression", default="lz4")
    parser.add_argument("--max-wait-ms", type=int, default=500)
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.source,
        "group.id": "kreplicate-bench-peer",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": False,
        "fetch.wait.max.ms": args.max_wait_ms,
    })
    consumer.assign([
        TopicPartition(topic, partition, OFFSET_BEGINNING)
        for topic in args.topics.split(",")
        for partition in range(args.partitions)
    ])
    producer = Producer({
        "bootstrap.servers": args.target,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": args.compression,
        "linger.ms": 5,
        "batch.size": 1048576,
        "queue.buffering.max.kbytes": 131072,
    })
    failures = []

    def delivered(err, msg):
        if err is not None:
            failures.append(f"{msg.topic()}-{msg.partition()}: delivery failed: {err}")

    while not failures:
        for msg in consumer.consume(num_messages=10000, timeout=0.1):
            if msg.error() is not None:
                raise KafkaException(msg.error())
            kind, timestamp = msg.timestamp()
            while True:
                try:
                    producer.produce(
                        msg.topic(),
                        value=msg.value(),
                        key=msg.key(),
                        partition=msg.partition(),
                        timestamp=timestamp if kind != 0 else 0,
                        headers=msg.headers(),
                        on_delivery=delivered,
                    )
                    break
                except BufferError:
                    # The producer's buffer is full: serve deliveries (back-pressure).
                    producer.poll(0.001)
        producer.poll(0)
    print(f"error: {len(failures)} deliveries failed; first: {failures[0]}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
