"""What survives a clean restart (SIGTERM, then a new process on the same log
dir): topics with their partition counts and configuration, every record, a
consumer group's committed offsets, and idempotent producer state (also
after a kill -9).

The producer-state part speaks the protocol directly (InitProducerId v0 and
Produce v3 with hand-built batches, kcbroker.RawConn), because a third-party
client cannot be made to resend an already-acknowledged batch: a batch with
a sequence the broker already holds must come back as a duplicate (no error,
the original offset) and must not be appended again; the next sequence
continues, and a gap is refused with OUT_OF_ORDER_SEQUENCE_NUMBER."""
from kcbroker import (RawConn, check, check_exactly_once, log, raw_metadata_ok, record_batch,
                      require_module, run)

import test_confluent

OUT_OF_ORDER_SEQUENCE_NUMBER = 45


def committed(ck, bootstrap, group, topic, parts):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False})
    try:
        got = c.committed([ck.TopicPartition(topic, p) for p in parts], timeout=30)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


CFG = {"retention.ms": "123456789", "cleanup.policy": "delete", "segment.bytes": "1048576"}


def topic_config(ck, bootstrap, topic):
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({"bootstrap.servers": bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = a.describe_configs([res])[res].result(30)
    return {k: entries[k].value for k in CFG}


def main(ctx):
    ck = require_module("confluent_kafka", "python3-confluent-kafka")
    b = ctx.broker({"num.partitions": "3"})

    # Records through a real client, and a group's committed offsets.
    sent = test_confluent.produce(ck, b.bootstrap, "keep", 3000, ctx.rng)
    want_commit = {p: len(v) // 2 for p, v in sent.items()}
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-keep",
                     "enable.auto.commit": False})
    c.commit(offsets=[ck.TopicPartition("keep", p, o) for p, o in want_commit.items()],
             asynchronous=False)
    c.close()
    check(committed(ck, b.bootstrap, "g-keep", "keep", [0, 1, 2]) == want_commit,
          "committed offsets before the restart")

    # Idempotent producer state, by hand: two batches (sequences 0-2, 3-5).
    raw_metadata_ok(b.bootstrap, ["idem-raw"])
    conn = RawConn(b.bootstrap)
    err, pid, epoch = conn.init_producer_id()
    check(err == 0 and pid >= 0, "InitProducerId: error %d, id %d" % (err, pid))
    batches = [record_batch([b"r%d" % i for i in range(s, s + 3)], pid, epoch, s) for s in (0, 3)]
    offsets = []
    for batch in batches:
        err, off = conn.produce("idem-raw", 0, batch)
        check(err == 0, "Produce (pid %d): error %d" % (pid, err))
        offsets.append(off)
    check(offsets == [0, 3], "base offsets %r" % offsets)
    conn.close()
    log("producer %d epoch %d wrote sequences 0-5 at offsets %r" % (pid, epoch, offsets))
    # A topic created through the admin API, with its own configuration.
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    a.create_topics([NewTopic("cfg", 2, 1, config=CFG)])["cfg"].result(30)
    del a
    check(topic_config(ck, b.bootstrap, "cfg") == CFG, "cfg's configuration before the restart")
    topics_before, _ = raw_metadata_ok(b.bootstrap)

    b.restart()

    topics_after, _ = raw_metadata_ok(b.bootstrap)
    check(topics_after == topics_before, "topics before %r, after %r" % (topics_before, topics_after))
    check(topic_config(ck, b.bootstrap, "cfg") == CFG, "cfg's configuration after the restart")
    got = test_confluent.consume(ck, b.bootstrap, "keep", [0, 1, 2], 3000, "g-read")
    check_exactly_once(sent, got, "records after the restart")
    got_commit = committed(ck, b.bootstrap, "g-keep", "keep", [0, 1, 2])
    check(got_commit == want_commit, "committed offsets %r after the restart, want %r"
          % (got_commit, want_commit))

    conn = RawConn(b.bootstrap)
    for i, batch in enumerate(batches):  # both are among the last five: duplicates
        err, off = conn.produce("idem-raw", 0, batch)
        check(err == 0 and off == offsets[i],
              "retry of sequence %d after the restart: error %d, offset %d (want 0, %d)"
              % (3 * i, err, off, offsets[i]))
    err, end = conn.list_offsets("idem-raw", 0)
    check(err == 0 and end == 6, "end offset %d after the retries, want 6" % end)
    err, off = conn.produce("idem-raw", 0, record_batch([b"r6"], pid, epoch, 6))
    check(err == 0 and off == 6, "sequence 6 after the restart: error %d, offset %d" % (err, off))
    err, off = conn.produce("idem-raw", 0, record_batch([b"r9"], pid, epoch, 9))
    check(err == OUT_OF_ORDER_SEQUENCE_NUMBER,
          "sequence 9 after 6: error %d, want OUT_OF_ORDER_SEQUENCE_NUMBER" % err)
    conn.close()
    log("after the restart: retries deduplicated, sequence 6 appended, a gap refused")

    # And it all holds across a second restart too.
    b.restart()
    got = test_confluent.consume(ck, b.bootstrap, "idem-raw", [0], 7, "g-raw")
    check([v for _, _, v in got] == ["r%d" % i for i in range(7)],
          "idem-raw holds %r" % [v for _, _, v in got])
    check(committed(ck, b.bootstrap, "g-keep", "keep", [0, 1, 2]) == want_commit,
          "committed offsets after the second restart")
    check(topic_config(ck, b.bootstrap, "cfg") == CFG, "cfg's configuration after two restarts")

    # After a kill -9 the producer state comes back from snapshot plus log.
    b.kill9()
    b.start()
    conn = RawConn(b.bootstrap)
    err, off = conn.produce("idem-raw", 0, record_batch([b"r6"], pid, epoch, 6))
    check(err == 0 and off == 6, "retry of sequence 6 after kill -9: error %d, offset %d" % (err, off))
    err, off = conn.produce("idem-raw", 0, record_batch([b"r7"], pid, epoch, 7))
    check(err == 0 and off == 7, "sequence 7 after kill -9: error %d, offset %d" % (err, off))
    conn.close()
    log("after kill -9: the retry of sequence 6 deduplicated, sequence 7 appended at 7")


if __name__ == "__main__":
    run(main)
