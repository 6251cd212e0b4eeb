"""Consume records with confluent-kafka (librdkafka), either by assigning partitions from the
beginning (no group) or by subscribing as a member of a consumer group.

Job: {"bootstrap", "topic", "expected": int, "partitions": [int]|null (null: all),
      "isolation": "read_committed|read_uncommitted", "timeout_s": float,
      "linger_s": float (keep polling this long after "expected" arrived, to catch extras),
      "group": null | {"id": str, "commit": bool}, "config": {...}}
Result: {"records": [{"partition", "offset", "key": b64|null, "value": b64|null,
         "headers": [[name, b64|null]], "timestamp_type": 0|1|2, "timestamp": ms}]}
Fails if fewer than "expected" records arrive within "timeout_s". With "partitions": null it
waits (within "timeout_s") for the topic to exist.
"""

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from _common import b64e, client_config, fail, read_job, reply


def wait_for_partitions(consumer, topic, deadline, timeout_s):
    """Partitions of `topic`, waiting for it to exist (a replicator may create it later)."""
    last = "absent"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            fail(f"topic {topic} not in metadata within {timeout_s}s: {last}")
        try:
            metadata = consumer.list_topics(topic, timeout=max(0.5, min(5.0, remaining)))
            topic_md = metadata.topics.get(topic)
            if topic_md is not None and topic_md.error is None and topic_md.partitions:
                return sorted(topic_md.partitions)
            last = topic_md.error if topic_md is not None else "absent"
        except KafkaException as e:
            last = e
        time.sleep(0.2)


def main():
    job = read_job(["bootstrap", "topic", "expected"])
    topic = job["topic"]
    expected = int(job["expected"])
    timeout_s = float(job.get("timeout_s", 30))
    linger_s = float(job.get("linger_s", 0))
    group = job.get("group")
    base = {
        "bootstrap.servers": job["bootstrap"],
        "isolation.level": job.get("isolation") or "read_uncommitted",
        "enable.auto.commit": "false",
        "auto.offset.reset": "earliest",
        # Tansu's join latency is about session.timeout.ms / 2 (docs/test-brokers.md).
        "session.timeout.ms": "2000",
        "heartbeat.interval.ms": "500",
        # Without a group the id is never used on the wire (assign, no commits), but
        # librdkafka insists on one.
        "group.id": group["id"] if group else f"kt-assign-{uuid.uuid4()}",
    }
    config = client_config(job, base)
    try:
        consumer = Consumer(config)
    except KafkaException as e:
        fail(f"cannot create consumer with {config}: {e}")

    deadline = time.monotonic() + timeout_s
    if group:
        consumer.subscribe([topic])
    else:
        partitions = job.get("partitions")
        if partitions is None:
            partitions = wait_for_partitions(consumer, topic, deadline, timeout_s)
        consumer.assign([TopicPartition(topic, int(p), OFFSET_BEGINNING) for p in partitions])

    records = []
    linger_until = None
    while True:
        now = time.monotonic()
        if linger_until is None and len(records) >= expected:
            linger_until = now + linger_s
        if linger_until is not None and now >= linger_until:
            break
        if now >= deadline:
            fail(f"consumed {len(records)} of {expected} records from {topic} in {timeout_s}s")
        msg = consumer.poll(min(0.2, max(0.01, deadline - now)))
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            if err.fatal() or not err.retriable():
                fail(f"consuming {topic}: {err}")
            continue
        ts_type, ts = msg.timestamp()
        headers = msg.headers() or []
        records.append({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": b64e(msg.key()),
            "value": b64e(msg.value()),
            "headers": [[name, b64e(value)] for name, value in headers],
            "timestamp_type": ts_type,
            "timestamp": ts,
        })

    if group and group.get("commit"):
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            fail(f"committing offsets of group {group['id']}: {e}")
    consumer.close()
    reply({"records": records})


main()
