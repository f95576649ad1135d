"""Shared pieces of the kc-client interop tests (test_kc_*.py): run `kc
produce` and `kc consume` (the `kc` binary built next to `kc-broker`), parse
what `kc consume -f` prints, and check records with their keys and headers.

A record here is (key, value, headers): key and value str (key None for a
null key), headers a list of (name, value) with value str or None (a null
header value). Values are unique per topic, so a record is known by its value.
"""
import os
import subprocess

from kcbroker import check, check_in_send_order, fail, log, run_tool

# Tab-separated: keys, values and headers in these tests never hold a tab,
# a newline, ',' or '='. %K tells a null key (-1) from an empty one (0).
KC_FORMAT = "%p\\t%o\\t%K\\t%k\\t%s\\t%h\\n"


def kc_binary(ctx):
    path = os.path.join(os.path.dirname(ctx.binary), "kc")
    check(os.access(path, os.X_OK), "%s is not an executable (the kc CLI is built next to kc-broker)"
          % path)
    return path


def make_records(prefix, n, rng, headers_of):
    """n records with keys from a small set (so several share a partition),
    every 40th with a null key, values unique and of random length (every
    5th with non-ASCII UTF-8), headers from headers_of(i)."""
    out = []
    for i in range(n):
        key = None if i % 40 == 7 else "k%02d" % rng.randrange(25)
        value = "%s-%04d-%s%s" % (prefix, i, "\u00fc\u2713" if i % 5 == 0 else "",
                                  "v" * rng.randrange(0, 120))
        out.append((key, value, headers_of(i)))
    return out


def kc_produce(kc, bootstrap, topic, records, headers, extra=(), timeout=60):
    """`kc produce -K '\\t' -H ...` of records whose headers are all `headers`
    (kc produce adds the same -H headers to every record)."""
    argv = [kc, "produce", "-b", bootstrap, "-t", topic, "-K", "\t"]
    for name, value in headers:
        argv += ["-H", name if value is None else "%s=%s" % (name, value)]
    argv += list(extra)
    run_tool(argv, timeout, input=input_lines(records), what="kc produce " + topic)


def input_lines(records):
    """Lines for `-K '\\t'` (kc produce, kcat -P): a line without the
    delimiter is a record with a null key."""
    return "".join(v + "\n" if k is None else "%s\t%s\n" % (k, v) for k, v, _ in records).encode()


def parse_headers(text):
    if text == "":
        return []
    out = []
    for item in text.split(","):
        name, eq, value = item.partition("=")
        out.append((name, value if eq else None))
    return out


def kc_consume(kc, bootstrap, topic, extra=(), timeout=30):
    """`kc consume -o beginning -e` of every partition: [(partition, offset,
    key, value, headers), ...] in the order printed."""
    # log_level=7: if it ever hangs, the failure shows what it was doing.
    argv = [kc, "consume", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
            "-f", KC_FORMAT, "-X", "log_level=7"] + list(extra)
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        printed = {}
        for line in (e.stdout or b"").decode("utf-8", "replace").split("\n")[:-1]:
            f = line.split("\t")
            printed[f[0]] = (printed.get(f[0], (0, None))[0] + 1, f[1] if len(f) > 1 else None)
        fail("kc consume -e %s did not exit within %ds; it had printed (records, last offset) "
             "by partition %r; stderr:\n%s" % (topic, timeout, printed,
                                              (e.stderr or b"").decode("utf-8", "replace")[-6000:]))
    if p.returncode != 0:
        fail("kc consume %s exited with %d; stderr:\n%s"
             % (topic, p.returncode, p.stderr.decode("utf-8", "replace")[-4000:]))
    out = p.stdout.decode("utf-8", "replace")
    got = []
    for line in out.split("\n")[:-1]:
        f = line.split("\t")
        check(len(f) == 6, "kc consume %s: cannot parse line %r" % (topic, line))
        klen = int(f[2])
        key = None if klen < 0 else f[3]
        check(klen < 0 or len(key.encode()) == klen,
              "kc consume %s: key length %d but key %r" % (topic, klen, f[3]))
        got.append((int(f[0]), int(f[1]), key, f[4], parse_headers(f[5])))
    check(out == "" or out.endswith("\n"), "kc consume %s: output does not end in a newline" % topic)
    return got


def check_records(sent, got, what, min_partitions=2):
    """sent: [(key, value, headers)] in send order; got: [(partition, offset,
    key, value, headers)]. Every record exactly once, in send order within its
    partition at increasing offsets, each key in one partition, with its key
    and its headers (names, values, order) as sent."""
    by_value = {v: (k, h) for k, v, h in sent}
    for p, o, k, v, h in got:
        want = by_value.get(v)
        if want is None:
            continue  # check_in_send_order names it
        check(k == want[0], "%s: %r (partition %d offset %d) came back with key %r, sent %r"
              % (what, v[:20], p, o, k, want[0]))
        check(h == want[1], "%s: %r (partition %d offset %d) came back with headers %r, sent %r"
              % (what, v[:20], p, o, h, want[1]))
    # Null keys are spread over partitions; every other key stays in one.
    key_of = {v: ("null", v) if k is None else k for k, v, _ in sent}
    check_in_send_order([v for _, v, _ in sent], [(p, o, k, v) for p, o, k, v, _ in got], what,
                        key_of=key_of.get)
    parts = {p for p, _, _, _, _ in got}
    check(len(parts) >= min_partitions, "%s: every record landed in partitions %r"
          % (what, sorted(parts)))
    log("%s: keys and headers as sent (%d partitions)" % (what, len(parts)))


def check_codec(broker, topic, codec):
    """The topic's segment files hold batches of `codec` (and at most
    uncompressed ones that would not shrink)."""
    ids = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    stored = broker.batch_codecs(topic)
    want = ids[codec]
    if want == 0:
        check(set(stored) == {0}, "%s: batches in the log by codec: %r, want only 0" % (topic, stored))
    else:
        check(set(stored) - {0} == {want}, "%s: batches in the log by codec: %r, want %d (%s)"
              % (topic, stored, want, codec))
    log("%s: batches by codec %r" % (topic, stored))


__all__ = ["KC_FORMAT", "kc_binary", "make_records", "kc_produce", "kc_consume",
           "check_records", "check_codec", "parse_headers", "fail"]
