"""kc's own clients and kcat (librdkafka) through kc-broker, both ways.

kcat -> kc consume: `kcat -P -K '\\t' -H src=kcat -H trace=t1 -H nullh` writes keyed
records to a 4-partition topic, uncompressed and with `-z lz4` and `-z zstd`;
`kc consume -o beginning -e -f ...` reads every record once, in send order
per partition, with its key and the three headers (the last with a null value).

kc produce -> kcat: `kc produce -K '\\t' -H src=kc -H empty= -H nullh` with
`-X compression.type=` none, gzip, snappy, lz4, zstd in turn; the segment
files hold batches of that codec, and `kcat -C -J` reads every record once,
in order per partition, with its key and the three headers (an empty value
and a null one) and a CreateTime."""
import json

from kcbroker import check, log, require_tool, run, run_tool
from kcclients import (check_codec, check_records, input_lines, kc_binary, kc_consume,
                       kc_produce, make_records)

N = 400
KCAT_HEADERS = [("src", "kcat"), ("trace", "t1"), ("nullh", None)]
KC_HEADERS = [("src", "kc"), ("empty", ""), ("nullh", None)]


def kcat_to_kc(kcat, kc, b, codec, rng):
    topic = "kcat-" + codec
    sent = make_records(topic, N, rng, lambda i: list(KCAT_HEADERS))
    argv = [kcat, "-b", b.bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "acks=all",
            "-X", "linger.ms=5"]
    for name, value in KCAT_HEADERS:
        argv += ["-H", name if value is None else "%s=%s" % (name, value)]
    if codec != "none":
        argv += ["-z", codec]
    run_tool(argv, 60, input=input_lines(sent), what="kcat -P " + topic)
    if codec != "none":
        check_codec(b, topic, codec)
    check_records(sent, kc_consume(kc, b.bootstrap, topic), "kcat -P -> kc consume " + topic)


def kcat_consume(kcat, bootstrap, topic):
    out = run_tool([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J"],
                   60, what="kcat -C " + topic).stdout.decode("utf-8", "replace")
    got = []
    for line in out.splitlines():
        m = json.loads(line)
        check(m.get("tstype") == "create" and m.get("ts", 0) > 0,
              "%s: offset %d has timestamp %r %r, want a CreateTime" % (topic, m["offset"],
                                                                      m.get("tstype"), m.get("ts")))
        flat = m.get("headers") or []
        headers = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
        got.append((m["partition"], m["offset"], m["key"], m["payload"], headers))
    return got


def kc_to_kcat(kcat, kc, b, codec, rng):
    topic = "kc-" + codec
    sent = make_records(topic, N, rng, lambda i: list(KC_HEADERS))
    kc_produce(kc, b.bootstrap, topic, sent, KC_HEADERS,
               ["-X", "compression.type=" + codec, "-X", "linger.ms=5"])
    check_codec(b, topic, codec)
    check_records(sent, kcat_consume(kcat, b.bootstrap, topic), "kc produce -> kcat -C " + topic)


def main(ctx):
    kcat = require_tool("kcat", "kcat")
    kc = kc_binary(ctx)
    b = ctx.broker({"num.partitions": "4"})
    for codec in ("none", "lz4", "zstd"):
        kcat_to_kc(kcat, kc, b, codec, ctx.rng)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        kc_to_kcat(kcat, kc, b, codec, ctx.rng)
    log("kcat <-> kc: done")


if __name__ == "__main__":
    run(main)
