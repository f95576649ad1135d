"""`kc consume -g G` and a confluent-kafka (librdkafka) consumer as members of
one consumer group on kc-broker.

The confluent-kafka member joins first and gets all 4 partitions; then `kc
consume -g G` joins, and the group is rebalanced until the confluent member
holds only some of them (so kc holds the rest: both speak the `range`
assignor). Only then does `kc produce` write keyed records with headers.
Between them the two members read every record exactly once, each from its
own partitions, in order per partition, with key and headers. kc is stopped
with SIGTERM (it leaves the group and commits), the confluent member takes
over its partitions and finds nothing more to read (kc's commits hold), and
the group's committed offsets are the partition ends."""
import os
import signal
import subprocess
import time

from kcbroker import check, fail, log, raw_metadata_ok, require_module, run, wait_for
from kcclients import (KC_FORMAT, check_records, kc_binary, kc_produce, make_records,
                       parse_headers)

N = 400
TOPIC = "grp"
GROUP = "g-mixed"
# No null-valued header here: python3-confluent-kafka 2.0.2's
# Message.headers() drops a reference to None for one, and the interpreter
# aborts at exit ("none_dealloc"); the other test_kc_*.py cover null values.
HEADERS = [("src", "kc"), ("empty", ""), ("trace", "t1")]


def parse_kc_lines(text):
    got = []
    for line in text.split("\n")[:-1]:
        f = line.split("\t")
        check(len(f) == 6, "kc consume -g: cannot parse line %r" % line)
        key = None if int(f[2]) < 0 else f[3]
        got.append((int(f[0]), int(f[1]), key, f[4], parse_headers(f[5])))
    return got


def main(ctx):
    ck = require_module("confluent_kafka", "python3-confluent-kafka")
    kc = kc_binary(ctx)
    b = ctx.broker({"num.partitions": "4", "group.initial.rebalance.delay.ms": "0"})
    topics, _ = raw_metadata_ok(b.bootstrap, [TOPIC])  # auto-creates it
    check(topics[TOPIC][0] == 0 and len(topics[TOPIC][1]) == 4, "metadata of %s: %r"
          % (TOPIC, topics[TOPIC]))

    def assigned():
        return sorted(tp.partition for tp in c.assignment())

    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": GROUP,
                     "auto.offset.reset": "earliest", "enable.auto.commit": True,
                     "auto.commit.interval.ms": 200, "heartbeat.interval.ms": 300,
                     "session.timeout.ms": 10000, "partition.assignment.strategy": "range"})
    got_c = []
    kc_proc = None
    kc_out = os.path.join(ctx.scratch, "kc-consume.out")
    kc_err = os.path.join(ctx.scratch, "kc-consume.err")
    try:
        c.subscribe([TOPIC])

        def poll_c():
            m = c.poll(0.1)
            if m is not None:
                if m.error():
                    fail("confluent member: %s" % m.error())
                got_c.append((m.partition(), m.offset(),
                              None if m.key() is None else m.key().decode(), m.value().decode(),
                              [(n, None if v is None else v.decode()) for n, v in (m.headers() or [])]))
            return True

        wait_for(lambda: poll_c() and assigned() == [0, 1, 2, 3], 30,
                 "the confluent member to get all 4 partitions", interval=0)
        with open(kc_out, "wb") as fo, open(kc_err, "wb") as fe:
            kc_proc = subprocess.Popen([kc, "consume", "-b", b.bootstrap, "-t", TOPIC, "-g", GROUP,
                                        "-o", "beginning", "-f", KC_FORMAT,
                                        "-X", "heartbeat.interval.ms=300",
                                        "-X", "session.timeout.ms=10000",
                                        "-X", "partition.assignment.strategy=range"],
                                       stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        mine = wait_for(lambda: poll_c() and 0 < len(assigned()) < 4 and assigned(), 30,
                        "the group to share the partitions with kc", interval=0)
        check(kc_proc.poll() is None, "kc consume -g exited with %s" % kc_proc.returncode)
        kc_parts = sorted(set(range(4)) - set(mine))
        log("confluent member has %r, kc %r" % (mine, kc_parts))

        sent = make_records(TOPIC, N, ctx.rng, lambda i: list(HEADERS))
        kc_produce(kc, b.bootstrap, TOPIC, sent, HEADERS, ["-X", "linger.ms=5"])

        def kc_lines():
            with open(kc_out, "rb") as f:
                return f.read().decode("utf-8", "replace")

        wait_for(lambda: poll_c() and len(got_c) + kc_lines().count("\n") >= N, 30,
                 "both members to read %d records" % N, interval=0)
        for _ in range(5):  # nothing more may come
            poll_c()
        kc_proc.send_signal(signal.SIGTERM)
        rc = kc_proc.wait(30)
        with open(kc_err) as f:
            check(rc == 0, "kc consume -g exited with %d after SIGTERM: %s" % (rc, f.read()[-2000:]))
        got_kc = parse_kc_lines(kc_lines())
        log("kc read %d records, the confluent member %d" % (len(got_kc), len(got_c)))
        check({p for p, *_ in got_kc} <= set(kc_parts),
              "kc read partitions %r, assigned %r" % (sorted({p for p, *_ in got_kc}), kc_parts))
        check({p for p, *_ in got_c} <= set(mine),
              "the confluent member read partitions %r, assigned %r"
              % (sorted({p for p, *_ in got_c}), mine))
        check_records(sent, got_kc + got_c, "kc consume -g + confluent-kafka, group " + GROUP)
        check(got_kc and got_c, "one member read nothing (kc %d, confluent %d)"
              % (len(got_kc), len(got_c)))

        # kc left: the confluent member takes its partitions over at kc's commits.
        n_before = len(got_c)
        wait_for(lambda: poll_c() and assigned() == [0, 1, 2, 3], 30,
                 "the confluent member to get all 4 partitions back", interval=0)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            poll_c()
        check(len(got_c) == n_before, "after kc left, the confluent member read %d records again "
              "(kc's commits were lost?): %r" % (len(got_c) - n_before, got_c[n_before:n_before + 5]))
        ends = {p: 0 for p in range(4)}
        for p, o, *_ in got_kc + got_c:
            ends[p] = max(ends[p], o + 1)
        have = {}

        def committed_ends():
            poll_c()  # serves the auto-commit of what the confluent member stored
            for tp in c.committed([ck.TopicPartition(TOPIC, p) for p in range(4)], timeout=10):
                have[tp.partition] = tp.offset
            return have == ends
        wait_for(committed_ends, 20, "group %s to commit the partition ends %r (committed %r)"
                 % (GROUP, ends, have))
        log("group %s committed the partition ends %r" % (GROUP, ends))
    finally:
        if kc_proc is not None and kc_proc.poll() is None:
            kc_proc.kill()
            kc_proc.wait()
            with open(kc_err) as f:
                err = f.read()
            if err:
                log("kc consume stderr: %s" % err[-2000:])
        c.close()


if __name__ == "__main__":
    run(main)
