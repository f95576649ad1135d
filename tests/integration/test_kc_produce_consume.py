#!/usr/bin/env python3
"""`kc produce`, `kc consume` and `kc bench` against a kc-broker process: keys,
headers, formats, start offsets, -c and -e, every partition, failures and bad
usage (exit status 2), and the benchmarks' JSON line. Nothing here depends on
how fast anything runs.

    test_kc_produce_consume.py KC KC_BROKER
"""
import json
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

KC = None
ADDR = None


def create_topics(addr, *topics):
    """Creates topics (with the broker's num.partitions) by a Metadata v1
    request, which asks for auto-creation: kc's clients never do."""
    host, port = addr.rsplit(":", 1)
    body = struct.pack(">i", len(topics))
    for t in topics:
        body += struct.pack(">h", len(t)) + t.encode()
    client_id = b"kc-it"
    req = struct.pack(">hhih", 3, 1, 1, len(client_id)) + client_id + body
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        resp = b""
        while len(resp) < size:
            chunk = s.recv(size - len(resp))
            assert chunk, "connection closed"
            resp += chunk
    assert struct.unpack(">i", resp[:4])[0] == 1, resp[:4]


def run(args, stdin=None, timeout=120):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    # Under ASan/UBSan a report must fail the test even where exit status 1
    # is expected.
    for sign in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert sign not in p.stderr, (args, p.stderr)
    return p.returncode, p.stdout, p.stderr


def kc(*args, stdin=None):
    return run([KC] + list(args), stdin=stdin)


def produce(topic, text, *extra):
    rc, out, err = kc("produce", "-b", ADDR, "-t", topic, *extra, stdin=text)
    assert rc == 0, (rc, out, err)
    return err


def consume(topic, *extra):
    rc, out, err = kc("consume", "-b", ADDR, "-t", topic, *extra)
    assert rc == 0, (rc, out, err)
    return out


def check_keys_headers_formats():
    err = produce("t1", "k1:v1\nk2:v2\nnokey\n\nk5:a:b\n", "-p", "0", "-K", ":",
                  "-H", "h1=x", "-H", "h2", "-H", "h3=", "-v")
    assert "5 records" in err and "t1" in err, err
    out = consume("t1", "-p", "0", "-e", "-f", "%t %p %o [%k] [%s] %K %S {%h}\\n")
    assert out == (
        "t1 0 0 [k1] [v1] 2 2 {h1=x,h2,h3=}\n"
        "t1 0 1 [k2] [v2] 2 2 {h1=x,h2,h3=}\n"
        "t1 0 2 [] [nokey] -1 5 {h1=x,h2,h3=}\n"
        "t1 0 3 [] [] -1 0 {h1=x,h2,h3=}\n"
        "t1 0 4 [k5] [a:b] 2 3 {h1=x,h2,h3=}\n"), out
    # Default format: the value and a newline.
    assert consume("t1", "-p", "0", "-e") == "v1\nv2\nnokey\n\na:b\n"
    # Escapes and a literal percent sign.
    assert consume("t1", "-p", "0", "-c", "1", "-f", "%%%s\\t%o\\n") == "%v1\t0\n"
    # The timestamp is the producer's CreateTime in ms.
    ts = consume("t1", "-p", "0", "-c", "1", "-f", "%T").strip()
    assert ts.isdigit() and int(ts) > 1500000000000, ts


def check_offsets_and_counts():
    produce("t2", "".join(f"r{i}\n" for i in range(10)), "-p", "0")
    assert consume("t2", "-p", "0", "-c", "3") == "r0\nr1\nr2\n"
    assert consume("t2", "-p", "0", "-o", "7", "-e") == "r7\nr8\nr9\n"
    assert consume("t2", "-p", "0", "-o", "-2", "-e") == "r8\nr9\n"
    assert consume("t2", "-p", "0", "-o", "-50", "-e", "-c", "2") == "r0\nr1\n"
    assert consume("t2", "-p", "0", "-o", "end", "-e") == ""
    assert consume("t2", "-p", "0", "-o", "beginning", "-c", "10", "-e").count("\n") == 10
    # Files as input, "-" for stdin between them.
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("f1\nf2")  # no newline at the end: still a record
        f.flush()
        produce("t3", "s1\n", "-p", "0", f.name, "-", f.name)
    assert consume("t3", "-p", "0", "-e") == "f1\nf2\ns1\nf1\nf2\n"


def check_all_partitions():
    # The broker creates topics with 3 partitions: records spread by key.
    lines = [f"key{i}:value{i}" for i in range(60)]
    produce("t4", "\n".join(lines) + "\n", "-K", ":")
    out = consume("t4", "-e", "-f", "%p %k:%s\\n")
    got = out.splitlines()
    assert sorted(l.split(" ", 1)[1] for l in got) == sorted(lines), out
    assert len({l.split(" ", 1)[0] for l in got}) > 1, out  # more than one partition read
    # Within a partition, records come in order; a key always maps to one partition.
    by_key = {}
    for l in got:
        p, kv = l.split(" ", 1)
        by_key.setdefault(kv.split(":")[0], set()).add(p)
    assert all(len(v) == 1 for v in by_key.values()), by_key
    assert consume("t4", "-e", "-c", "5").count("\n") == 5


def check_group():
    # -g: subscribe; a new group starts where -o says, and the next member of
    # the group resumes from what the first committed at exit.
    lines = [f"g{i}:{i}" for i in range(30)]
    produce("t5", "\n".join(lines) + "\n", "-K", ":")
    out = consume("t5", "-g", "grp-a", "-o", "beginning", "-e", "-f", "%k:%s\\n")
    assert sorted(out.splitlines()) == sorted(lines), out
    produce("t5", "late1:x\nlate2:y\n", "-K", ":")
    out = consume("t5", "-g", "grp-a", "-e", "-f", "%k:%s\\n")
    assert sorted(out.splitlines()) == ["late1:x", "late2:y"], out
    # A new group told to start at the end sees nothing old.
    assert consume("t5", "-g", "grp-b", "-o", "end", "-e") == ""


def check_failures():
    # Partition 7 of a 3-partition topic: the record fails and says why.
    rc, out, err = kc("produce", "-b", ADDR, "-t", "t4", "-p", "7", "-X", "message.timeout.ms=5000",
                      stdin="x\n")
    assert rc == 1 and "failed" in err and "1 of 1 records failed" in err, (rc, err)
    # A topic that does not exist, without -g: named, exit status 1.
    rc, out, err = kc("consume", "-b", ADDR, "-t", "no-such-topic", "-e")
    assert rc == 1 and "no-such-topic" in err, (rc, err)


def check_usage_errors():
    bad = [
        ["produce", "-b", ADDR],                                  # no topic
        ["produce", "-t", "t1"],                                  # no broker
        ["produce", "-b", ADDR, "-t", "t1", "--bogus"],
        ["produce", "-b", ADDR, "-t", "t1", "-p", "x"],
        ["produce", "-b", ADDR, "-t", "t1", "-K"],                # missing value
        ["produce", "-b", ADDR, "-t", "t1", "-H", "=v"],
        ["produce", "-b", ADDR, "-t", "t1", "-X", "no.such.prop=1"],
        ["produce", "-b", ADDR, "-t", "t1", "-X", "linger.ms=abc"],
        ["produce", "-b", ADDR, "-t", "t1", "-F", "/nonexistent/kc.properties"],
        ["consume", "-b", ADDR],
        ["consume", "-b", ADDR, "-t", "t1", "-f", "%z"],
        ["consume", "-b", ADDR, "-t", "t1", "-f", "\\q"],
        ["consume", "-b", ADDR, "-t", "t1", "-o", "middle"],
        ["consume", "-b", ADDR, "-t", "t1", "-c", "0"],
        ["consume", "-b", ADDR, "-t", "t1", "-g", "g1", "-p", "0"],
        ["consume", "-b", ADDR, "-t", "t1", "-g", "g1", "-o", "5"],
        ["consume", "-b", ADDR, "-t", "^t.*"],
        ["consume", "-b", ADDR, "-t", "t1", "-o", "stored"],
        ["bench"],
        ["bench", "fly"],
        ["bench", "produce", "-b", ADDR, "-t", "b1", "-n", "abc"],
        ["bench", "produce", "-b", ADDR, "-t", "b1", "-s", "-1"],
        ["bench", "produce", "-b", ADDR, "-n", "10"],
        ["bench", "consume", "-b", ADDR, "-t", "b1", "--jsn"],
    ]
    for args in bad:
        rc, out, err = kc(*args)
        assert rc == 2, (args, rc, out, err)
        assert err.startswith("kc ") and len(err.splitlines()[0]) > 10, (args, err)
    rc, out, err = kc("consume", "-b", ADDR, "-t", "t1", "-f", "%z")
    assert "unknown format field '%z'" in err, err
    rc, out, err = kc("produce", "-b", ADDR, "-t", "t1", "-X", "no.such.prop=1")
    assert "no.such.prop" in err, err
    for cmd in (["produce"], ["consume"], ["bench", "produce"], ["bench", "consume"]):
        rc, out, err = kc(*cmd, "--help")
        assert rc == 0 and out.startswith("usage: kc "), (cmd, rc, out, err)


BENCH_KEYS = ("records", "seconds", "records_per_sec", "mb_per_sec", "p50_ms", "p99_ms",
              "errors", "rss_kb")


def last_json(out):
    obj = json.loads(out.strip().splitlines()[-1])
    for k in BENCH_KEYS:
        assert k in obj, (k, obj)
    return obj


def check_bench():
    rc, out, err = kc("bench", "produce", "-b", ADDR, "-t", "b1", "-p", "0", "-n", "2000",
                      "-s", "100", "--json", "-X", "linger.ms=1")
    assert rc == 0, (rc, out, err)
    r = last_json(out)
    assert r["records"] == 2000 and r["errors"] == 0 and r["test"] == "produce", r
    assert r["p50_ms"] is not None and r["p99_ms"] >= r["p50_ms"] >= 0, r
    assert r["rss_kb"] > 0 and r["error"] is None, r
    assert r["conf"]["linger.ms"] in ("1", "1.0"), r

    rc, out, err = kc("bench", "consume", "-b", ADDR, "-t", "b1", "-n", "2000", "--json", "-q")
    assert rc == 0, (rc, out, err)
    r = last_json(out)
    assert r["records"] == 2000 and r["bytes"] == 200000 and r["test"] == "consume", r
    assert r["p50_ms"] is None and r["p99_ms"] is None, r

    rc, out, err = kc("bench", "consume", "-b", ADDR, "-t", "b1", "-n", "2000", "--json", "-q",
                      "--e2e")
    assert rc == 0, (rc, out, err)
    assert last_json(out)["p50_ms"] is not None

    # More records than the topic holds (the 2000 timed ones and the
    # warm-up record): fails once every partition ended.
    rc, out, err = kc("bench", "consume", "-b", ADDR, "-t", "b1", "-n", "5000", "--json", "-q")
    assert rc == 1, (rc, out, err)
    r = last_json(out)
    assert r["records"] == 2001 and "ended" in r["error"], r


def main():
    global KC, ADDR
    KC, broker_bin = sys.argv[1], sys.argv[2]
    data = tempfile.mkdtemp(prefix="kc-produce-consume-it-")
    broker = subprocess.Popen(
        [broker_bin, "--override", "listeners=PLAINTEXT://127.0.0.1:0",
         "--override", "log.dirs=" + data, "--override", "num.partitions=3"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = broker.stdout.readline()
        assert line.startswith("listening on "), line
        ADDR = line.split()[-1]
        create_topics(ADDR, "t1", "t2", "t3", "t4", "t5", "b1")
        check_usage_errors()
        check_keys_headers_formats()
        check_offsets_and_counts()
        check_all_partitions()
        check_group()
        check_failures()
        check_bench()
    finally:
        broker.terminate()
        broker.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
