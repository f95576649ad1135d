"""kc's own clients and kafka-python through kc-broker, both ways.

kafka-python -> kc consume: a KafkaProducer (acks=all) writes keyed records
with per-record headers (n=<index>, src=kafka-python) to a 4-partition
topic, uncompressed and with gzip and snappy, each with its own timestamp;
`kc consume -o beginning -e` reads every record once, in send order per
partition, with its key, headers and (`%T`) timestamp.

kc produce -> kafka-python: `kc produce -K '\\t' -H src=kc -H empty= -H
nullh` with `-X compression.type=` gzip, snappy, lz4, zstd in turn; a
KafkaConsumer assigned every partition from the beginning reads every record
once, in order per partition, with its key and the three headers (an empty
value and a null one)."""
import time

from kcbroker import check, log, require_module, run, run_tool, wait_for
from kcclients import (check_codec, check_records, kc_binary, kc_consume, kc_produce,
                       make_records)

N = 300
# CreateTime of record i: TS0 + i. An hour back, not a fixed date: the
# broker's time-based retention (7 days) would delete records that old.
TS0 = (int(time.time()) - 3600) * 1000
KC_HEADERS = [("src", "kc"), ("empty", ""), ("nullh", None)]


def kp_to_kc(kafka, kc, b, codec, rng):
    topic = "kp-" + codec
    sent = make_records(topic, N, rng, lambda i: [("n", str(i)), ("src", "kafka-python")])
    prod = kafka.KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=5,
                               compression_type=None if codec == "none" else codec,
                               max_in_flight_requests_per_connection=1)
    try:
        futs = [prod.send(topic, key=None if k is None else k.encode(), value=v.encode(),
                          headers=[(n, hv.encode()) for n, hv in h], timestamp_ms=TS0 + i)
                for i, (k, v, h) in enumerate(sent)]
        prod.flush(30)
        for f in futs:
            f.get(timeout=30)
    finally:
        prod.close(10)
    check_codec(b, topic, codec)
    check_records(sent, kc_consume(kc, b.bootstrap, topic), "kafka-python -> kc consume " + topic)
    # %T prints the CreateTime each record was sent with.
    out = run_tool([kc, "consume", "-b", b.bootstrap, "-t", topic, "-o", "beginning", "-e",
                    "-f", "%s\\t%T\\n"], 60, what="kc consume -f %T " + topic).stdout.decode()
    ts = dict(line.split("\t") for line in out.splitlines())
    want = {v: str(TS0 + i) for i, (_, v, _) in enumerate(sent)}
    bad = [(v[:20], ts.get(v), want[v]) for v in want if ts.get(v) != want[v]]
    check(not bad, "%s: kc consume %%T differs from the timestamps sent: %r" % (topic, bad[:5]))


def kp_consume(kafka, bootstrap, topic, n):
    cons = kafka.KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                               auto_offset_reset="earliest", group_id=None)
    got = []
    try:
        parts = wait_for(lambda: cons.partitions_for_topic(topic), 20, "partitions of " + topic)
        tps = [kafka.TopicPartition(topic, p) for p in sorted(parts)]
        cons.assign(tps)
        cons.seek_to_beginning(*tps)

        def poll():
            for recs in cons.poll(timeout_ms=200).values():
                for r in recs:
                    got.append((r.partition, r.offset,
                                None if r.key is None else r.key.decode(), r.value.decode(),
                                [(hn, None if hv is None else hv.decode()) for hn, hv in r.headers]))
            return len(got) >= n
        wait_for(poll, 30, "%d records of %s (have %d)" % (n, topic, len(got)), interval=0)
        poll()  # nothing more may come (check_records counts)
    finally:
        cons.close()
    return got


def kc_to_kp(kafka, kc, b, codec, rng):
    topic = "kc-" + codec
    sent = make_records(topic, N, rng, lambda i: list(KC_HEADERS))
    kc_produce(kc, b.bootstrap, topic, sent, KC_HEADERS,
               ["-X", "compression.type=" + codec, "-X", "linger.ms=5"])
    check_codec(b, topic, codec)
    got = kp_consume(kafka, b.bootstrap, topic, N)
    check(len(got) == N, "%s: kafka-python read %d records, %d were sent" % (topic, len(got), N))
    check_records(sent, got, "kc produce -> kafka-python " + topic)


def main(ctx):
    kafka = require_module("kafka", "python3-kafka")
    for mod, pkg in (("snappy", "python3-snappy"), ("lz4", "python3-lz4"),
                     ("zstandard", "python3-zstandard")):
        require_module(mod, pkg)
    kc = kc_binary(ctx)
    b = ctx.broker({"num.partitions": "4"})
    for codec in ("none", "gzip", "snappy"):
        kp_to_kc(kafka, kc, b, codec, ctx.rng)
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        kc_to_kp(kafka, kc, b, codec, ctx.rng)
    log("kafka-python <-> kc: done")


if __name__ == "__main__":
    run(main)
