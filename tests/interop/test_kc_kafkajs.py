"""kc's own clients and kafkajs 2.2.4 (test_kc_kafkajs.js) through
kc-broker, both ways.

kafkajs -> kc consume: a kafkajs producer (acks=-1) writes keyed records
with per-record headers (n=<index>, src=kafkajs) to a 4-partition topic,
uncompressed and gzip (kafkajs's built-in codecs); `kc consume -o beginning
-e` reads every record once, in send order per partition, with its key and
headers.

kc produce -> kafkajs: `kc produce -K '\\t' -H src=kc -H empty= -H nullh`,
uncompressed and with `-X compression.type=gzip`; a kafkajs consumer group
reads every record once, in order per partition, with its key and the three
headers (an empty value and a null one).

kafkajs comes from package.json/package-lock.json (see test_kafkajs.py)."""
import json
import os

from kcbroker import check, log, require_tool, run, run_tool
from kcclients import (check_codec, check_records, kc_binary, kc_consume, kc_produce,
                       make_records)
from test_kafkajs import ensure_kafkajs

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "test_kc_kafkajs.js")
N = 300
KC_HEADERS = [("src", "kc"), ("empty", ""), ("nullh", None)]


def kjs_to_kc(node, kc, b, codec, rng):
    topic = "kjs-" + codec
    sent = make_records(topic, N, rng, lambda i: [("n", str(i)), ("src", "kafkajs")])
    payload = json.dumps([{"key": k, "value": v, "headers": h} for k, v, h in sent])
    run_tool([node, SCRIPT, b.bootstrap, "produce", topic, codec], 60, input=payload.encode(),
             what="kafkajs produce " + topic)
    check_codec(b, topic, codec)
    check_records(sent, kc_consume(kc, b.bootstrap, topic), "kafkajs -> kc consume " + topic)


def kc_to_kjs(node, kc, b, codec, rng):
    topic = "kc-" + codec
    sent = make_records(topic, N, rng, lambda i: list(KC_HEADERS))
    kc_produce(kc, b.bootstrap, topic, sent, KC_HEADERS,
               ["-X", "compression.type=" + codec, "-X", "linger.ms=5"])
    check_codec(b, topic, codec)
    out = run_tool([node, SCRIPT, b.bootstrap, "consume", topic, str(N), "g-" + topic], 60,
                   what="kafkajs consume " + topic).stdout.decode("utf-8", "replace")
    got = [tuple(json.loads(line)) for line in out.splitlines()]
    got = [(p, o, k, v, [tuple(x) for x in h]) for p, o, k, v, h in got]
    check(len(got) == N, "%s: kafkajs read %d records, %d were sent" % (topic, len(got), N))
    check_records(sent, got, "kc produce -> kafkajs " + topic)


def main(ctx):
    node = require_tool("node", "nodejs")
    npm = require_tool("npm", "npm")
    ensure_kafkajs(npm)
    os.environ["KAFKAJS_NO_PARTITIONER_WARNING"] = "1"
    kc = kc_binary(ctx)
    b = ctx.broker({"num.partitions": "4", "group.initial.rebalance.delay.ms": "0"})
    for codec in ("none", "gzip"):
        kjs_to_kc(node, kc, b, codec, ctx.rng)
    for codec in ("none", "gzip"):
        kc_to_kjs(node, kc, b, codec, ctx.rng)
    log("kafkajs <-> kc: done")


if __name__ == "__main__":
    run(main)
