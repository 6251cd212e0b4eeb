"""Produce records with confluent-kafka (librdkafka) and report where each one landed.

Job: {"bootstrap", "topic", "records": [{"partition": int|null, "key": b64|null,
      "value": b64|null, "headers": [[name, b64|null], ...], "timestamp": ms|null}],
      "compression": "none|gzip|snappy|lz4|zstd", "config": {...}, "timeout_s": float,
      "transaction": null | {"id": transactional.id, "commit": bool}}
With "transaction", all records go in one transaction that is committed or aborted.
With "report_errors": true, failed deliveries do not fail the job: each is reported as its
Kafka error code in "errors" (null for a delivered record).
Result: {"delivered": [[partition, offset], ...], "errors": [code|null, ...]} in the order of
"records".
"""

from confluent_kafka import KafkaException, Producer

from _common import b64d, client_config, fail, read_job, reply


def main():
    job = read_job(["bootstrap", "topic", "records"])
    timeout_s = float(job.get("timeout_s", 30))
    topic = job["topic"]
    config = client_config(job, {
        "bootstrap.servers": job["bootstrap"],
        "compression.type": job.get("compression") or "none",
        "acks": "all",
        "linger.ms": "5",
        "message.timeout.ms": str(int(timeout_s * 1000)),
    })
    transaction = job.get("transaction")
    if transaction:
        config["transactional.id"] = transaction["id"]
    try:
        producer = Producer(config)
        if transaction:
            producer.init_transactions(timeout_s)
            producer.begin_transaction()
    except KafkaException as e:
        fail(f"cannot create producer with {config}: {e}")

    records = job["records"]
    delivered = [None] * len(records)
    codes = [None] * len(records)
    report_errors = bool(job.get("report_errors"))
    errors = []

    def on_delivery(index):
        def callback(err, msg):
            if err is not None:
                codes[index] = err.code()
                if not report_errors:
                    errors.append(f"record {index}: {err}")
            else:
                delivered[index] = [msg.partition(), msg.offset()]
        return callback

    for index, record in enumerate(records):
        kwargs = {
            "value": b64d(record.get("value"), f"record {index} value"),
            "key": b64d(record.get("key"), f"record {index} key"),
            "on_delivery": on_delivery(index),
        }
        if record.get("partition") is not None:
            kwargs["partition"] = int(record["partition"])
        if record.get("timestamp") is not None:
            kwargs["timestamp"] = int(record["timestamp"])
        headers = record.get("headers") or []
        if headers:
            kwargs["headers"] = [(name, b64d(value, f"record {index} header {name}"))
                                 for name, value in headers]
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
            except KafkaException as e:
                fail(f"producing record {index} to {topic}: {e}")
        producer.poll(0)

    remaining = producer.flush(timeout_s)
    if remaining:
        fail(f"{remaining} of {len(records)} records to {topic} still undelivered after {timeout_s}s")
    if errors:
        fail(f"delivery to {topic} failed: {'; '.join(errors[:5])}")
    if transaction:
        try:
            if transaction.get("commit"):
                producer.commit_transaction(timeout_s)
            else:
                producer.abort_transaction(timeout_s)
        except KafkaException as e:
            fail(f"ending transaction {transaction['id']} on {topic}: {e}")
    reply({"delivered": delivered, "errors": codes})


main()
