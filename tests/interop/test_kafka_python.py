"""kafka-python against kc-broker: a KafkaProducer (acks=all, with record
headers) writes to a 3-partition topic; a KafkaConsumer in group "g" with
enable_auto_commit=False reads part of it and commits by hand, then closes; a
second consumer in the same group resumes from the committed offsets. Between
them every record arrives exactly once, in order per partition, with its key
and headers, and no record is skipped."""
from kcbroker import check, check_exactly_once, log, require_module, run, wait_for

N = 4000
TOPIC = "kpy"


def main(ctx):
    kafka = require_module("kafka", "python3-kafka")
    log("kafka-python %s" % kafka.__version__)
    b = ctx.broker({"num.partitions": "3", "group.initial.rebalance.delay.ms": "0"})

    prod = kafka.KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=5,
                               client_id="kc-interop", retries=5, request_timeout_ms=30000)
    futures = []
    for i in range(N):
        value = ("v-%05d-" % i + "x" * ctx.rng.randrange(0, 200)).encode()
        key = b"key%02d" % ctx.rng.randrange(40)
        headers = [("n", b"%d" % i), ("src", b"kc-interop")]
        futures.append((key, value, headers, prod.send(TOPIC, value=value, key=key, headers=headers)))
    prod.flush(60)
    sent = {}
    meta = {}
    for key, value, headers, fut in futures:
        md = fut.get(timeout=60)
        meta[value] = (md.partition, md.offset, key, headers)
        sent.setdefault(md.partition, []).append((md.offset, value))
    prod.close(30)
    sent = {p: [v for _, v in sorted(recs)] for p, recs in sent.items()}
    check(sorted(sent) == [0, 1, 2], "records went to partitions %r" % sorted(sent))
    log("produced %d records, all acknowledged" % N)

    def consumer():
        return kafka.KafkaConsumer(TOPIC, bootstrap_servers=b.bootstrap, group_id="g",
                                   enable_auto_commit=False, auto_offset_reset="earliest",
                                   client_id="kc-interop", session_timeout_ms=10000,
                                   heartbeat_interval_ms=1000, max_poll_records=300)

    got = []

    def take(msgs):
        for tp, recs in msgs.items():
            for r in recs:
                p, off, key, headers = meta.get(r.value, (None, None, None, None))
                check(p == r.partition and off == r.offset,
                      "%r read at %d/%d, produced at %s/%s" % (r.value, r.partition, r.offset, p, off))
                check(r.key == key and list(r.headers) == headers,
                      "%r came back with key %r headers %r" % (r.value, r.key, r.headers))
                got.append((r.partition, r.offset, r.value))

    # First consumer: about a third, committed by hand, then closed.
    c1 = consumer()
    wait_for(lambda: take(c1.poll(timeout_ms=500)) or len(got) >= N // 3, 60,
             "the first consumer's records (have %d)" % len(got), interval=0)
    c1.commit()
    positions = {tp.partition: c1.position(tp) for tp in c1.assignment()}
    committed = {tp.partition: c1.committed(tp) for tp in c1.assignment()}
    check(positions == committed, "committed %r, positions %r" % (committed, positions))
    log("first consumer read %d, committed %r" % (len(got), committed))
    c1.close()
    first = len(got)

    # Second consumer in the same group: resumes where the first committed.
    c2 = consumer()
    wait_for(lambda: take(c2.poll(timeout_ms=500)) or len(got) >= N, 60,
             "the second consumer's records (have %d)" % len(got), interval=0)
    extra = c2.poll(timeout_ms=1000)  # nothing more may come
    check(not any(extra.values()), "records beyond the %d produced: %r" % (N, extra))
    for p, off in committed.items():
        mine = [o for pp, o, _ in got[first:] if pp == p]
        if mine:
            check(mine[0] == off,
                  "second consumer began partition %d at %d, committed %d" % (p, mine[0], off))
    c2.commit()
    c2.close()
    log("second consumer read %d" % (len(got) - first))
    check_exactly_once(sent, got, "kafka-python group")


if __name__ == "__main__":
    run(main)
