"""Admin operations with confluent-kafka's AdminClient, one per job.

Job: {"bootstrap", "op", "timeout_s", "config": {...}, ...op fields}. Ops and results:
- list_topics: {} -> {"topics": {name: partition_count}}
- create_topic: {"topic", "partitions", "topic_config": {k: v}} -> {}
- list_offsets: {"topic", "spec": "earliest|latest"} -> {"offsets": [[partition, offset]]}
- describe_configs: {"topic"} -> {"configs": {name: value|null}}
- group_offsets: {"group"} -> {"offsets": [[topic, partition, offset]]}
- alter_group_offsets: {"group", "offsets": [[topic, partition, offset]]} -> {}
- list_groups: {} -> {"groups": [id]}
"""

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec

from _common import client_config, fail, read_job, reply


def result(future, what, timeout_s):
    try:
        return future.result(timeout=timeout_s)
    except KafkaException as e:
        fail(f"{what}: {e}")
    except Exception as e:  # concurrent.futures.TimeoutError and friends
        fail(f"{what}: {type(e).__name__} {e}")


def partitions_of(admin, topic, timeout_s):
    try:
        metadata = admin.list_topics(topic, timeout=timeout_s)
    except KafkaException as e:
        fail(f"metadata for {topic}: {e}")
    topic_md = metadata.topics.get(topic)
    if topic_md is None or topic_md.error is not None:
        fail(f"topic {topic} not in metadata: {topic_md.error if topic_md else 'absent'}")
    return sorted(topic_md.partitions)


def main():
    job = read_job(["bootstrap", "op"])
    timeout_s = float(job.get("timeout_s", 30))
    admin = AdminClient(client_config(job, {"bootstrap.servers": job["bootstrap"]}))
    op = job["op"]

    if op == "list_topics":
        try:
            metadata = admin.list_topics(timeout=timeout_s)
        except KafkaException as e:
            fail(f"metadata: {e}")
        reply({"topics": {name: len(t.partitions) for name, t in metadata.topics.items()}})

    elif op == "create_topic":
        new = NewTopic(job["topic"], int(job["partitions"]), 1,
                       config={k: str(v) for k, v in (job.get("topic_config") or {}).items()})
        futures = admin.create_topics([new], request_timeout=timeout_s)
        result(futures[job["topic"]], f"creating topic {job['topic']}", timeout_s)
        reply({})

    elif op == "list_offsets":
        topic = job["topic"]
        spec = {"earliest": OffsetSpec.earliest(), "latest": OffsetSpec.latest()}.get(job.get("spec"))
        if spec is None:
            fail(f"unknown offset spec {job.get('spec')!r}")
        request = {TopicPartition(topic, p): spec for p in partitions_of(admin, topic, timeout_s)}
        futures = admin.list_offsets(request, request_timeout=timeout_s)
        offsets = []
        for tp, future in futures.items():
            info = result(future, f"list_offsets {topic}/{tp.partition}", timeout_s)
            offsets.append([tp.partition, info.offset])
        reply({"offsets": sorted(offsets)})

    elif op == "describe_configs":
        resource = ConfigResource(ConfigResource.Type.TOPIC, job["topic"])
        futures = admin.describe_configs([resource], request_timeout=timeout_s)
        entries = result(futures[resource], f"describe_configs {job['topic']}", timeout_s)
        reply({"configs": {name: entry.value for name, entry in entries.items()}})

    elif op == "group_offsets":
        request = [ConsumerGroupTopicPartitions(job["group"])]
        futures = admin.list_consumer_group_offsets(request, request_timeout=timeout_s)
        answer = result(futures[job["group"]], f"offsets of group {job['group']}", timeout_s)
        offsets = []
        for tp in answer.topic_partitions:
            if tp.error is not None:
                fail(f"group {job['group']} {tp.topic}/{tp.partition}: {tp.error}")
            offsets.append([tp.topic, tp.partition, tp.offset])
        reply({"offsets": sorted(offsets)})

    elif op == "alter_group_offsets":
        partitions = [TopicPartition(t, int(p), int(o)) for t, p, o in job["offsets"]]
        request = [ConsumerGroupTopicPartitions(job["group"], partitions)]
        futures = admin.alter_consumer_group_offsets(request, request_timeout=timeout_s)
        answer = result(futures[job["group"]], f"altering offsets of group {job['group']}", timeout_s)
        for tp in answer.topic_partitions:
            if tp.error is not None:
                fail(f"group {job['group']} {tp.topic}/{tp.partition}: {tp.error}")
        reply({})

    elif op == "list_groups":
        answer = result(admin.list_consumer_groups(request_timeout=timeout_s), "list groups", timeout_s)
        reply({"groups": sorted(g.group_id for g in answer.valid)})

    else:
        fail(f"unknown op {op!r}")


main()
