"""confluent-kafka-python (librdkafka) with enable.idempotence=true against
kc-broker: 10,000 messages with every delivery report OK at offsets 0..9999
(each exactly once), then 1,000 more from a new producer after a kill -9
and restart, continuing at 10000.""" 
from kcbroker import RawConn, check, log, run


def produce(ck, bootstrap, topic, count, tag):
    p = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                     "linger.ms": 5, "compression.type": "lz4",
                     "message.timeout.ms": 60000})
    reports = []

    def on_delivery(err, msg):
        reports.append((err, msg.partition(), msg.offset()))

    for i in range(count):
        while True:
            try:
                p.produce(topic, key=b"k%d" % (i % 7), value=b"%s-%06d" % (tag, i),
                          on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    check(left == 0, "%d messages still queued after flush" % left)
    errors = [r for r in reports if r[0] is not None]
    check(not errors, "failed deliveries: %r" % errors[:5])
    check(len(reports) == count, "%d delivery reports for %d messages" % (len(reports), count))
    return sorted(r[2] for r in reports)


def main(ctx):
    import confluent_kafka as ck
    b = ctx.broker({"num.partitions": "1"})
    c = RawConn(b.bootstrap)
    apis = c.api_versions()
    # librdkafka 2.0.2 writes magic-2 batches (and so can be idempotent) only
    # when the broker advertises both Produce v3 and Fetch v4 (MsgVer2).
    check(1 in apis and apis[1][1] >= 4,
          "kc-broker does not advertise Fetch v4+ (%r): librdkafka would send magic 0/1 "
          "batches, which Produce v3+ refuses" % (apis.get(1),))
    err, pid_before, _ = c.init_producer_id()
    c.close()
    check(err == 0, "InitProducerId error %d" % err)
    offsets = produce(ck, b.bootstrap, "idem", 10000, b"a")
    check(offsets == list(range(10000)), "offsets are not 0..9999 once each")
    log("10000 idempotent messages acknowledged at offsets 0..9999")
    b.kill9()
    b.start()
    c = RawConn(b.bootstrap)
    err, pid_after, _ = c.init_producer_id()
    c.close()
    check(err == 0 and pid_after > pid_before,
          "producer id after kill -9: %d (before: %d)" % (pid_after, pid_before))
    offsets = produce(ck, b.bootstrap, "idem", 1000, b"b")
    check(offsets == list(range(10000, 11000)),
          "after kill -9: offsets %r..%r" % (offsets[0], offsets[-1]))
    log("after kill -9 and restart: 1000 more at 10000..10999")
    b.stop()


run(main)
