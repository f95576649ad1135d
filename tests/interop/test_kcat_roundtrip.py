"""kcat -P writes keyed messages to a 3-partition topic, kcat -C -e reads
them all back: every message exactly once, in order per partition, each key
in one partition; `-o -5` reads a partition's last five. Then the same through a second topic with gzip, snappy and
lz4 batches (kcat -z)."""
from kcbroker import check, check_in_send_order, log, raw_metadata_ok, require_tool, run, run_tool

N = 3000


def roundtrip(kcat, bootstrap, topic, extra, rng):
    sent = ["%s-%05d-%s" % (topic, i, "x" * rng.randrange(0, 200)) for i in range(N)]
    keys = ["key%02d" % rng.randrange(30) for _ in range(N)]
    lines = "".join("%s\t%s\n" % (k, v) for k, v in zip(keys, sent))
    run_tool([kcat, "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "acks=all",
              "-X", "linger.ms=5", "-X", "message.timeout.ms=30000"] + extra, 60, input=lines.encode(), what="kcat -P " + topic)
    out = run_tool([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                    "-f", "%p %o %k %s\\n"], 60, what="kcat -C " + topic).stdout.decode()
    got = []
    key_of = dict(zip(sent, keys))
    for line in out.splitlines():
        p, o, k, v = line.split(" ", 3)
        check(key_of.get(v) == k, "%s: %r came back with key %r" % (topic, v, k))
        got.append((int(p), int(o), k, v))
    check_in_send_order(sent, got, "kcat " + topic, key_of=key_of.get)
    parts = sorted({p for p, _, _, _ in got})
    check(parts == [0, 1, 2], "%s: records landed in partitions %r" % (topic, parts))
    if extra:
        return
    # -o -5: the last five of partition 1, found through ListOffsets.
    out = run_tool([kcat, "-b", bootstrap, "-C", "-t", topic, "-p", "1", "-o", "-5", "-e",
                    "-f", "%o %s\n"], 60, what="kcat -C -o -5 " + topic).stdout.decode()
    want = ["%d %s" % (o, v) for p, o, _, v in got if p == 1][-5:]
    check(out.splitlines() == want, "%s: kcat -o -5 read %r, want %r" % (topic, out.splitlines(), want))


def main(ctx):
    kcat = require_tool("kcat", "kcat")
    b = ctx.broker({"num.partitions": "3"})
    roundtrip(kcat, b.bootstrap, "plain", [], ctx.rng)
    check(set(b.batch_codecs("plain")) == {0}, "plain: %r" % b.batch_codecs("plain"))
    for i, codec in enumerate(("gzip", "snappy", "lz4")):
        roundtrip(kcat, b.bootstrap, "z-" + codec, ["-z", codec], ctx.rng)
        stored = b.batch_codecs("z-" + codec)
        # (librdkafka sends a batch that does not shrink uncompressed.)
        check(set(stored) - {0} == {i + 1}, "z-%s: batches in the log by codec: %r" % (codec, stored))
    topics, _ = raw_metadata_ok(b.bootstrap)
    log("topics: %r" % sorted(topics))


if __name__ == "__main__":
    run(main)
