"""librdkafka's mock cluster as a second, independent Kafka broker implementation.

Starts a mock cluster of `--brokers N` brokers on loopback (the C mock API of the librdkafka
that the confluent-kafka wheel bundles, reached through ctypes), prints one JSON line
{"bootstrap": "127.0.0.1:p1,...", "cluster_id": "...", "brokers": [1, 2, ...]}, then obeys one
JSON command per stdin line and answers each with one JSON line, {"ok": true, ...} or
{"error": "..."}. It exits on {"op": "exit"} or at the end of stdin (its parent is gone).

Commands:
  {"op": "create_topic", "topic", "partitions", "replication"}
  {"op": "set_leader", "topic", "partition", "broker"}
  {"op": "broker_down", "broker"} / {"op": "broker_up", "broker"}
  {"op": "produce", "topic", "records": [{"partition", "key", "value", "headers",
      "timestamp"}], "transaction": null | {"id": transactional.id, "commit": bool}}
      -> {"ok": true, "delivered": [[partition, offset], ...]}; with "transaction" the records
      are written in one transaction that is then committed or aborted (a real abort: the
      mock writes the records, then an ABORT control batch).
  {"op": "exit"}
Bytes travel as base64, null stays null (see _common.py).
"""

import argparse
import ctypes
import glob
import json
import os
import sys

import confluent_kafka
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from _common import b64d, fail

RD_KAFKA_PRODUCER = 0
TIMEOUT_S = 30.0


def load_librdkafka():
    """The librdkafka the wheel bundles: the one confluent_kafka's extension module already
    loaded, so the mock cluster and the Python clients share one library."""
    libs = os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir,
                        "confluent_kafka.libs")
    found = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
    if not found:
        fail(f"no bundled librdkafka in {os.path.abspath(libs)}: is the confluent-kafka wheel "
             "installed (scripts/test-env.sh)?")
    lib = ctypes.CDLL(found[0])
    c_void_p, c_char_p, c_int, c_int32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int32
    signatures = {
        "rd_kafka_conf_new": ([], c_void_p),
        "rd_kafka_conf_set": ([c_void_p, c_char_p, c_char_p, c_char_p, ctypes.c_size_t], c_int),
        "rd_kafka_new": ([c_int, c_void_p, c_char_p, ctypes.c_size_t], c_void_p),
        "rd_kafka_mock_cluster_new": ([c_void_p, c_int], c_void_p),
        "rd_kafka_mock_cluster_bootstraps": ([c_void_p], c_char_p),
        "rd_kafka_mock_topic_create": ([c_void_p, c_char_p, c_int, c_int], c_int),
        "rd_kafka_mock_partition_set_leader": ([c_void_p, c_char_p, c_int32, c_int32], c_int),
        "rd_kafka_mock_broker_set_down": ([c_void_p, c_int32], c_int),
        "rd_kafka_mock_broker_set_up": ([c_void_p, c_int32], c_int),
        "rd_kafka_err2name": ([c_int], c_char_p),
    }
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


class MockCluster:
    def __init__(self, brokers):
        self.lib = load_librdkafka()
        errstr = ctypes.create_string_buffer(512)
        conf = self.lib.rd_kafka_conf_new()
        # The handle only hosts the cluster's thread; it never connects anywhere.
        self.lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
        self.rk = self.lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not self.rk:
            fail(f"rd_kafka_new: {errstr.value.decode()}")
        self.cluster = self.lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        if not self.cluster:
            fail("rd_kafka_mock_cluster_new failed")
        self.bootstrap = self.lib.rd_kafka_mock_cluster_bootstraps(self.cluster).decode()
        self.brokers = list(range(1, brokers + 1))

    def check(self, err, what):
        if err != 0:
            raise CommandError(f"{what}: {self.lib.rd_kafka_err2name(err).decode()}")


class CommandError(Exception):
    pass


def cluster_id(bootstrap):
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=TIMEOUT_S)
    return metadata.cluster_id


def produce(bootstrap, command):
    topic = command["topic"]
    records = command["records"]
    transaction = command.get("transaction")
    config = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": "5",
        "message.timeout.ms": str(int(TIMEOUT_S * 1000)),
    }
    if transaction:
        config["transactional.id"] = transaction["id"]
    producer = Producer(config)
    if transaction:
        producer.init_transactions(TIMEOUT_S)
        producer.begin_transaction()
    delivered = [None] * len(records)
    errors = []

    def on_delivery(index):
        def callback(err, msg):
            if err is not None:
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
        producer.produce(topic, **kwargs)
    remaining = producer.flush(TIMEOUT_S)
    if remaining:
        raise CommandError(f"{remaining} of {len(records)} records to {topic} undelivered")
    if errors:
        raise CommandError(f"delivery to {topic} failed: {'; '.join(errors[:5])}")
    if transaction:
        if transaction.get("commit"):
            producer.commit_transaction(TIMEOUT_S)
        else:
            producer.abort_transaction(TIMEOUT_S)
    return {"delivered": delivered}


def obey(mock, command):
    op = command.get("op")
    lib, cluster = mock.lib, mock.cluster
    if op == "create_topic":
        mock.check(lib.rd_kafka_mock_topic_create(cluster, command["topic"].encode(),
                                                  int(command["partitions"]),
                                                  int(command["replication"])),
                   f"creating {command['topic']}")
        return {}
    if op == "set_leader":
        mock.check(lib.rd_kafka_mock_partition_set_leader(cluster, command["topic"].encode(),
                                                          int(command["partition"]),
                                                          int(command["broker"])),
                   f"moving the leader of {command['topic']}-{command['partition']}")
        return {}
    if op == "broker_down":
        mock.check(lib.rd_kafka_mock_broker_set_down(cluster, int(command["broker"])),
                   f"taking broker {command['broker']} down")
        return {}
    if op == "broker_up":
        mock.check(lib.rd_kafka_mock_broker_set_up(cluster, int(command["broker"])),
                   f"bringing broker {command['broker']} up")
        return {}
    if op == "produce":
        return produce(mock.bootstrap, command)
    raise CommandError(f"unknown op {op!r}")


def answer(result):
    sys.stdout.write(json.dumps(result))
    sys.stdout.write("\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=3)
    args = parser.parse_args()
    mock = MockCluster(args.brokers)
    answer({"bootstrap": mock.bootstrap, "cluster_id": cluster_id(mock.bootstrap),
            "brokers": mock.brokers})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
        except ValueError as e:
            answer({"error": f"not a JSON command: {e}"})
            continue
        if command.get("op") == "exit":
            break
        try:
            answer({"ok": True, **obey(mock, command)})
        except (CommandError, KafkaException, KeyError, ValueError, TypeError) as e:
            answer({"error": f"{command.get('op')}: {e!r}"})
    # Without destructors: a mock broker thread can block them; the process is ours alone.
    sys.stdout.flush()
    os._exit(0)


main()
