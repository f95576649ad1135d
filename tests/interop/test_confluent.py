"""confluent-kafka-python (librdkafka) against kc-broker: an idempotent
producer sends 12,000 messages to a 3-partition topic and every delivery
report must be OK; a consumer reads them back: exactly once, in order per
partition, at the offsets the delivery reports gave; once by assigned
partitions and once as a consumer group (subscribe, synchronous commit of
each partition's end). Then one topic per
compression codec (gzip, snappy, lz4, zstd) makes the same round trip."""
from kcbroker import check, check_exactly_once, log, require_module, run, wait_for

N = 12000
N_CODEC = 3000
CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def produce(ck, bootstrap, topic, n, rng, extra=None):
    """Returns {partition: [value, ...]} in offset order, from the delivery
    reports, after checking every report is OK and offsets are dense."""
    conf = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
            "linger.ms": 5, "message.timeout.ms": 60000, "client.id": "kc-interop"}
    conf.update(extra or {})
    p = ck.Producer(conf)
    reports = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            reports.append((msg.partition(), msg.offset(), msg.value().decode()))

    for i in range(n):
        value = "%s-%06d-%s" % (topic, i, "v" * rng.randrange(0, 300))
        while True:
            try:
                p.produce(topic, value=value, key="k%03d" % rng.randrange(100),
                          on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    check(left == 0, "%s: %d messages still undelivered after 60s" % (topic, left))
    check(not errors, "%s: %d delivery errors, e.g. %s" % (topic, len(errors), errors[:3]))
    check(len(reports) == n, "%s: %d delivery reports for %d messages" % (topic, len(reports), n))
    sent = {}
    for part, off, v in sorted(reports):
        sent.setdefault(part, []).append((off, v))
    for part, recs in sent.items():
        offs = [o for o, _ in recs]
        check(offs == list(range(offs[0], offs[0] + len(offs))),
              "%s: partition %d delivery offsets are not dense: %r..." % (topic, part, offs[:10]))
        check(offs[0] == 0, "%s: partition %d starts at %d" % (topic, part, offs[0]))
    log("%s: %d delivery reports OK over partitions %r" % (topic, n, sorted(sent)))
    return {part: [v for _, v in recs] for part, recs in sent.items()}


def consume(ck, bootstrap, topic, partitions, total, group):
    """Reads every partition from the beginning to its end (assign, no
    group protocol): [(partition, offset, value), ...]."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "auto.offset.reset": "earliest", "client.id": "kc-interop",
                     "fetch.wait.max.ms": 100})
    c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in partitions])
    got = []
    at_eof = set()

    def step():
        for m in c.consume(1000, 0.1):
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    at_eof.add(m.partition())
                    continue
                check(False, "%s: consumer error %s" % (topic, m.error()))
            got.append((m.partition(), m.offset(), m.value().decode()))
        return len(got) >= total and at_eof >= set(partitions)
    wait_for(step, 90, "%s: %d records (have %d)" % (topic, total, len(got)), interval=0)
    c.close()
    return got


def consume_group(ck, bootstrap, topic, total, group):
    """Reads with subscribe() (librdkafka's group protocol) until `total`
    records are in, commits synchronously, and returns them; then checks the
    group's committed offsets are each partition's end."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 10000, "client.id": "kc-interop"})
    c.subscribe([topic])
    got = []

    def step():
        for m in c.consume(1000, 0.1):
            check(not m.error(), "%s: consumer error %s" % (topic, m.error()))
            got.append((m.partition(), m.offset(), m.value().decode()))
        return len(got) >= total
    wait_for(step, 90, "%s: %d records in group %s (have %d)" % (topic, total, group, len(got)),
             interval=0)
    c.commit(asynchronous=False)
    ends = {}
    for p, off, _ in got:
        ends[p] = max(ends.get(p, 0), off + 1)
    tps = c.committed([ck.TopicPartition(topic, p) for p in ends], timeout=30)
    have = {tp.partition: tp.offset for tp in tps}
    check(have == ends, "%s: group %s committed %r, want %r" % (topic, group, have, ends))
    c.close()
    return got


def main(ctx):
    ck = require_module("confluent_kafka", "python3-confluent-kafka")
    log("confluent-kafka %s, librdkafka %s" % (ck.version()[0], ck.libversion()[0]))
    b = ctx.broker({"num.partitions": "3", "group.initial.rebalance.delay.ms": "0"})
    sent = produce(ck, b.bootstrap, "idem", N, ctx.rng)
    got = consume(ck, b.bootstrap, "idem", [0, 1, 2], N, "g-idem")
    check_exactly_once(sent, got, "idempotent producer")
    got = consume_group(ck, b.bootstrap, "idem", N, "g-sub")
    check_exactly_once(sent, got, "subscribe() in a consumer group")
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        topic = "codec-" + codec
        sent = produce(ck, b.bootstrap, topic, N_CODEC, ctx.rng,
                       {"compression.type": codec, "linger.ms": 20})
        got = consume(ck, b.bootstrap, topic, [0, 1, 2], N_CODEC, "g-" + codec)
        check_exactly_once(sent, got, "compression " + codec)
        # librdkafka 2.0.2 stops compressing when it takes the broker for an
        # old one; the log shows what it sent.
        stored = b.batch_codecs(topic)
        # (It also sends a batch that does not shrink uncompressed.)
        check(set(stored) - {0} == {CODECS[codec]}, "%s: batches in the log by codec: %r"
              % (topic, stored))
        log("%s: batches in the log by codec: %r" % (topic, stored))


if __name__ == "__main__":
    run(main)
